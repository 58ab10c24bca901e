"""`pms seed` as the lead mounts it: progress, a summary table, and a refusal to seed twice."""

import typer
from typer.testing import CliRunner

from simulator.cli import seed_command

app = typer.Typer()
app.command()(seed_command)


def test_seed_writes_a_practice_then_refuses_a_second_one(tmp_path, low_limit):
    url = f"sqlite:///{tmp_path}/ops.db"
    args = ["--scale", "tiny", "--seed", "3", "--anchor", "2025-06-02", "--path", "bulk", "--database-url", url]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "tiny practice, seed 3" in first.output and "appointments" in first.output
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1 and "already holds a practice" in again.output
    reset = CliRunner().invoke(app, [*args, "--reset"])
    assert reset.exit_code == 0, reset.output
