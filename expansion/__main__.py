"""``python -m expansion``: the same as the ``expansion`` command."""

from .cli import main

main()
