"""python -m portside: the same as the portside command."""

from portside.cli.main import run

run()
