"""The `expansion` command line: ``app`` holds the group and the error handling; one module per command."""

from .app import cli, main

__all__ = ["cli", "main"]
