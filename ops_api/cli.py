"""`pms db ...`, `pms users ...`, `pms audit ...`, `pms keys ...`, `pms api`."""

import uuid
from typing import Annotated

import typer
from rich.console import Console

from pms.enums import Role

console = Console()
db_app = typer.Typer(help="The operational database", no_args_is_help=True)
users_app = typer.Typer(help="Staff accounts", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail of patient data access", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys for PHI at rest", no_args_is_help=True)


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


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[str | None, typer.Option(help="SEQ:HASH of a head printed earlier and kept elsewhere")] = None,
) -> None:
    """Walk the hash chain; exit 1 at the first edited, deleted or inserted event."""
    from ops_api.audit import verify
    from ops_api.db import get_engine, session_factory

    kept = None
    if anchor:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise typer.BadParameter("expected SEQ:HASH", param_hint="--anchor")
        kept = (int(seq), digest)
    with console.status("verifying the audit chain"), session_factory(get_engine())() as session:
        result = verify(session, anchor=kept)
    if not result.ok:
        console.print(f"[red]audit chain broken at seq {result.broken_seq}: {result.problem}[/red] "
                      f"({result.events} events verified before it)", soft_wrap=True)
        raise typer.Exit(code=1)
    console.print(f"[green]audit chain intact:[/green] {result.events} events; "
                  f"head {result.head_seq}:{result.head_hash}", soft_wrap=True)


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key, to prepend to PMS_ENCRYPTION_KEYS."""
    from cryptography.fernet import Fernet

    print(Fernet.generate_key().decode())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every encrypted value with the first key of PMS_ENCRYPTION_KEYS (one transaction)."""
    from rich.progress import Progress

    from ops_api.crypto import DecryptionError, encrypted_row_count, rotate
    from ops_api.db import get_engine

    try:
        with get_engine().begin() as conn, Progress(console=console) as progress:
            task = progress.add_task("re-encrypting", total=encrypted_row_count(conn))
            done = rotate(conn, progress=lambda: progress.advance(task))
    except DecryptionError as exc:
        console.print(f"[red]{exc}; nothing was changed[/red]")
        raise typer.Exit(code=1) from None
    console.print(f"[green]{done} rows now encrypted with the current key[/green]")


def api_command(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    reload: Annotated[bool, typer.Option()] = False,
) -> None:
    """Serve the operational API (OpenAPI docs at /docs)."""
    import uvicorn

    from pms.logging import configure_logging

    configure_logging()  # before uvicorn's start-up lines, which go to the root logger
    # The app writes its own access line (route template, no query string); uvicorn's has the raw URL.
    uvicorn.run("ops_api.main:app", host=host, port=port, reload=reload, access_log=False, log_config=None)
