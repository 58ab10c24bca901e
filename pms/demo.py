"""`pms demo`: bring the platform up on this machine with a ready-to-use practice.

Steps are idempotent, so a second run reuses the data of the first.
"""

from rich.console import Console
from sqlalchemy import select

from pms.settings import get_settings

console = Console()
DEMO_ADMIN = ("admin", "spark-den-demo-1")


def ensure_admin() -> None:
    from ops_api.db import get_engine, session_factory
    from ops_api.models import User
    from ops_api.schemas.users import UserCreate
    from ops_api.services.users import create_user

    with session_factory(get_engine())() as session:
        if session.scalar(select(User.id).where(User.username == DEMO_ADMIN[0])) is None:
            create_user(session, UserCreate(username=DEMO_ADMIN[0], password=DEMO_ADMIN[1], role="admin"))
            session.commit()


def run_demo(host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    from ops_api import migrations
    from ops_api.db import get_engine

    settings = get_settings()
    get_engine()
    migrations.upgrade()
    ensure_admin()
    console.rule("Spark Den PMS demo")
    console.print(f"API        http://{host}:{port}/docs")
    console.print(f"login      {DEMO_ADMIN[0]} / {DEMO_ADMIN[1]}")
    console.print(f"data       {settings.pms_data_dir.resolve()}")
    console.print("Ctrl-C stops everything.")
    uvicorn.run("ops_api.main:app", host=host, port=port, log_level="warning")
