"""`pms warehouse ...` and `pms replicate` (filled in by the warehouse work)."""

import typer

warehouse_app = typer.Typer(help="The embedded ClickHouse warehouse", no_args_is_help=True)


def replicate_command() -> None:
    """Replicate the operational outbox into ClickHouse raw.* tables."""
    raise typer.Exit(code=1)
