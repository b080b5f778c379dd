"""``python -m expansion.cli``: the same as the ``expansion`` command."""

from .app import main

main()
