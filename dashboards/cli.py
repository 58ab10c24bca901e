"""`pms dashboards`: serve the Streamlit app (the lead mounts ``dashboards_command`` on the pms app)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

APP = Path(__file__).resolve().parent / "app.py"


def streamlit_command_line(port: int, host: str) -> list[str]:
    """``streamlit run dashboards/app.py`` headless, with this interpreter (the project's Streamlit)."""
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.headless", "true", "--server.port", str(port), "--server.address", host,
            "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
            "--client.toolbarMode", "minimal"]


def dashboards_command(
    port: Annotated[int, typer.Option(help="port to serve on")] = 8501,
    host: Annotated[str, typer.Option(help="address to bind; 0.0.0.0 to serve the network")] = "127.0.0.1",
) -> None:
    """Serve the analytics dashboards (Streamlit) on http://HOST:PORT. Sign-in goes through the API (PMS_API_URL)."""
    typer.echo(f"Spark Den dashboards on http://{host}:{port} (Ctrl-C stops)")
    try:
        code = subprocess.call(streamlit_command_line(port, host))
    except KeyboardInterrupt:
        code = 0
    raise typer.Exit(code)
