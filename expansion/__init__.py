"""expansion: plan the growth of secondary cities ("Making Room")."""

__version__ = "0.1.0"
