"""`python -m warehouse.replication [--follow] [--status] ...`: `pms replicate` without the rest of the CLI."""

import typer

from warehouse.cli import replicate_command

if __name__ == "__main__":
    typer.run(replicate_command)
