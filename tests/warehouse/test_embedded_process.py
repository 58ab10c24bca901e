"""The server process: start/status/stop, clean shutdown that keeps the data, refusing unsafe binds."""

from __future__ import annotations

import clickhouse_connect
import pytest
from typer.testing import CliRunner

from warehouse.cli import warehouse_app
from warehouse.embedded import process
from warehouse.embedded.server import BindRefused, check_bind_allowed

pytestmark = pytest.mark.warehouse


def test_lifecycle_status_restart_keeps_data(tmp_path):
    data_dir = tmp_path / "wh"
    runner = CliRunner()
    with process.start_server(data_dir, user="u", password="p") as server:
        ch = clickhouse_connect.get_client(host=server.host, port=server.port, username="u", password="p")
        ch.command("CREATE TABLE kept (a UInt64) ENGINE = MergeTree ORDER BY a")
        ch.insert("kept", [[i] for i in range(1000)], column_names=["a"])

        info = process.read(data_dir)
        assert (info.pid, info.port) == (server.process.pid, server.port)
        shown = runner.invoke(warehouse_app, ["status", "--data-dir", str(data_dir)])
        assert shown.exit_code == 0, shown.output
        assert "running" in shown.output and str(server.port) in shown.output and server.version in shown.output

        with pytest.raises(process.AlreadyRunning):
            process.start_server(data_dir)

        stopped = runner.invoke(warehouse_app, ["stop", "--data-dir", str(data_dir)])
        assert stopped.exit_code == 0 and f"stopped pid {server.process.pid}" in stopped.output
    assert process.read(data_dir) is None  # removed by the server's own clean-up, not by a kill
    assert "warehouse stopped" in server.log_path.read_text()
    assert runner.invoke(warehouse_app, ["status", "--data-dir", str(data_dir)]).exit_code == 1

    with process.start_server(data_dir, user="u", password="p") as again:
        ch = clickhouse_connect.get_client(host=again.host, port=again.port, username="u", password="p")
        assert ch.command("SELECT count(), sum(a) FROM kept") == ["1000", str(sum(range(1000)))]


def test_refuses_non_loopback_without_password(tmp_path):
    with pytest.raises(process.StartFailed, match="refusing to serve the warehouse on 0.0.0.0 without a password"):
        process.start_server(tmp_path / "wh", host="0.0.0.0", password="")
    with pytest.raises(BindRefused):
        check_bind_allowed("192.168.1.10", "")
    for loopback in ("127.0.0.1", "::1", "localhost"):
        check_bind_allowed(loopback, "")
    check_bind_allowed("0.0.0.0", "secret")
