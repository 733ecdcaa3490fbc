"""``python -m governance`` is the ``slate`` command."""

from governance.cli import main

main()
