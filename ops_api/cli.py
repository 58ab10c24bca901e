"""`pms db ...`, `pms users ...`, `pms api`."""

import uuid
from typing import Annotated

import typer
from rich.console import Console

from pms.enums import Role

console = Console()
db_app = typer.Typer(help="The operational database", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply Alembic migrations (creates the SQLite file when missing)."""
    from ops_api import migrations
    from ops_api.db import get_engine

    get_engine()  # creates PMS_DATA_DIR for the default SQLite file
    migrations.upgrade(revision=revision)
    console.print(f"[green]database at {revision}[/green]")


@db_app.command("downgrade")
def db_downgrade(revision: str = "base") -> None:
    """Revert migrations (default: everything)."""
    from ops_api import migrations

    migrations.downgrade(revision=revision)
    console.print(f"[yellow]database at {revision}[/yellow]")


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Option()],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    role: Annotated[Role, typer.Option()],
    facility_id: Annotated[list[uuid.UUID] | None, typer.Option(help="repeat; none = all facilities")] = None,
    provider_id: Annotated[uuid.UUID | None, typer.Option(help="for physicians: their provider record")] = None,
) -> None:
    """Create a staff user (the first admin, typically)."""
    from pydantic import ValidationError

    from ops_api.db import get_engine, session_factory
    from ops_api.errors import DomainError
    from ops_api.schemas.users import UserCreate
    from ops_api.services.users import create_user

    try:
        data = UserCreate(username=username, password=password, role=role, facility_ids=facility_id or [],
                          provider_id=provider_id)
        with session_factory(get_engine())() as session:
            user = create_user(session, data)
            session.commit()
    except ValidationError as exc:
        for err in exc.errors():
            console.print(f"[red]{'.'.join(map(str, err['loc']))}: {err['msg']}[/red]")
        raise typer.Exit(code=2) from None
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(code=1) from None
    console.print(f"created {user.role.value} [bold]{user.username}[/bold] ({user.id})")


def api_command(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    reload: Annotated[bool, typer.Option()] = False,
) -> None:
    """Serve the operational API (OpenAPI docs at /docs)."""
    import uvicorn

    uvicorn.run("ops_api.main:app", host=host, port=port, reload=reload)
