"""The id range every CLI argument accepts: ``db.types.MAX_ID``, written out so that ``--help``
does not import the database stack (tests/test_cli_startup.py). An id past it is refused by
typer with exit code 2, like any bad argument, instead of reaching a query."""

MAX_ID = 2**31 - 1
