"""`pms seed`: write a simulated practice (or keep one going live through the API)."""

import time
from datetime import date
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console()


class ScaleName(StrEnum):
    tiny = "tiny"
    demo = "demo"
    small = "small"
    large = "large"


class WritePath(StrEnum):
    auto = "auto"
    service = "service"
    bulk = "bulk"


def seed_command(
    scale: Annotated[ScaleName, typer.Option(help="tiny (tests), demo, small or large")] = ScaleName.demo,
    seed: Annotated[int, typer.Option(help="the same seed gives the same data, id for id")] = 42,
    anchor: Annotated[str | None, typer.Option(help="history ends at the start of this day (YYYY-MM-DD); "
                                                    "default today")] = None,
    path: Annotated[WritePath, typer.Option(help="service: through ops_api.services (every rule applies); "
                                                 "bulk: set-based, same rows; auto: service for tiny, "
                                                 "bulk otherwise")] = WritePath.auto,
    database_url: Annotated[str | None, typer.Option(help="default: DATABASE_URL / the SQLite file")] = None,
    reset: Annotated[bool, typer.Option(help="delete every simulated row first")] = False,
    live: Annotated[bool, typer.Option(help="keep a practice going through the HTTP API instead")] = False,
    rate: Annotated[float, typer.Option(help="live: requests per second")] = 20.0,
    api_url: Annotated[str, typer.Option(help="live: the API's base URL")] = "http://127.0.0.1:8000",
    username: Annotated[str, typer.Option(help="live: an admin account")] = "admin",
    password: Annotated[str | None, typer.Option(help="live: its password (default: the demo admin's)")] = None,
    duration: Annotated[float | None, typer.Option(help="live: stop after this many seconds")] = None,
) -> None:
    """Seed the operational store with a realistic practice (docs/simulator.md), or run it live."""
    if live:
        _live(api_url, username, password, rate, duration, seed)
        return
    from ops_api.db import get_engine
    from simulator.run import NotEmpty
    from simulator.run import seed as run_seed
    from simulator.scales import SCALES

    day = date.fromisoformat(anchor) if anchor else date.today()
    url = database_url or get_engine().url.render_as_string(hide_password=False)
    chosen = ("service" if scale == ScaleName.tiny else "bulk") if path == WritePath.auto else path.value
    started = time.monotonic()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[day]}"),
                  TextColumn("{task.fields[ops]:,} ops"), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task(f"seeding {scale.value} ({chosen})", total=1.0, day="", ops=0)
        state = {"n": 0, "t0": None, "span": 1.0}

        def on_practice(practice) -> None:
            state["t0"] = practice.setup_at.timestamp()
            state["span"] = practice.end_at.timestamp() - state["t0"]

        def progress(op) -> None:
            state["n"] += 1
            if state["n"] % 2000 == 0:
                bar.update(task, completed=(op.at.timestamp() - state["t0"]) / state["span"],
                           day=op.at.date().isoformat(), ops=state["n"])

        try:
            result = run_seed(url, scale.value, seed, day, chosen, progress, fresh=reset, on_practice=on_practice)
        except NotEmpty as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(code=1) from None
        bar.update(task, completed=1.0, day=day.isoformat(), ops=state["n"])
    _summary(result, SCALES[scale.value], seed, day, chosen, time.monotonic() - started)


def _summary(result, scale, seed: int, anchor: date, path: str, seconds: float) -> None:
    table = Table(title=f"{scale.name} practice, seed {seed}, history to {anchor} ({path} path, {seconds:,.0f} s)")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in result.counts.items():
        table.add_row(name, f"{count:,}")
    console.print(table)


def _live(api_url: str, username: str, password: str | None, rate: float, duration: float | None, seed: int) -> None:
    from pms.demo import DEMO_ADMIN
    from simulator.live import LiveSimulator

    sim = LiveSimulator(api_url, username, password or DEMO_ADMIN[1], rate=rate, seed=seed)
    console.print(f"live practice on {api_url} at {rate:g} requests/s; Ctrl-C stops")
    try:
        sim.run(duration)
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
    stats = Table(title=f"live: {sim.requests:,} requests in {sim.elapsed:,.0f} s")
    stats.add_column("created")
    stats.add_column("count", justify="right")
    for name, count in sorted(sim.created.items()):
        stats.add_row(name, f"{count:,}")
    console.print(stats)
