"""Errors that the command line shows as one line, with exit code 1.

Every error raised for bad data, a bad file or a failed run is an
:class:`ExpansionError`; its message says what is wrong and how to fix it.
"""


class ExpansionError(Exception):
    """Bad input data or a failed run: shown as one line, exit code 1."""


class ConfigError(ExpansionError):
    """A scenario or catalog file is wrong (unknown key, wrong type, bad value)."""


class DataError(ExpansionError):
    """A layer cannot be used (missing, unreadable, no CRS, no overlap ...)."""


class OutputExistsError(ExpansionError):
    """The output folder exists and --overwrite was not given."""
