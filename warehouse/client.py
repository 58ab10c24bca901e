"""The one way Python code in this project connects to ClickHouse.

``CLICKHOUSE_URL`` (``settings.clickhouse_url``) names the server: the embedded warehouse by default,
or any ClickHouse (a server, a cluster, ClickHouse Cloud). Everything goes through
clickhouse-connect over HTTP, so code never knows which one it talks to.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from pms.settings import get_settings


def client_kwargs(url: str | None = None) -> dict[str, Any]:
    """clickhouse_connect.get_client keyword arguments for ``url`` (default: settings.clickhouse_url).

    ``http(s)://user:password@host:port/database?setting=value``: query parameters become ClickHouse
    settings, except the client options ``compress``, ``secure``, ``verify`` and ``session_id``. When the URL
    has no user, the embedded warehouse's ``warehouse_user``/``warehouse_password`` are used, so one
    password setting protects both the server and its clients.
    """
    settings = get_settings()
    parts = urlsplit(url or settings.clickhouse_url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"CLICKHOUSE_URL must be an http:// or https:// URL, not {parts.scheme!r}")
    kwargs: dict[str, Any] = {
        "interface": parts.scheme,
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or (8443 if parts.scheme == "https" else 8123),
    }
    if parts.username:
        kwargs["username"] = unquote(parts.username)
        kwargs["password"] = unquote(parts.password or "")
    else:
        kwargs["username"] = settings.warehouse_user
        kwargs["password"] = settings.warehouse_password.get_secret_value()
    database = unquote(parts.path.strip("/"))
    if database:
        kwargs["database"] = database
    ch_settings: dict[str, str] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in ("compress", "secure", "verify", "session_id"):
            kwargs[key] = value
        else:
            ch_settings[key] = value
    if ch_settings:
        kwargs["settings"] = ch_settings
    return kwargs


def get_client(**overrides: Any) -> Client:
    """A clickhouse-connect client for ``settings.clickhouse_url``; ``overrides`` win over the URL.

    Any ``clickhouse_connect.get_client`` argument can be overridden, e.g. ``database="marts"``,
    ``settings={...}``, ``compress=False`` or ``autogenerate_session_id=False``. Clients are cheap but
    not thread-safe for concurrent queries in one session: use one client per thread.
    """
    kwargs = client_kwargs(overrides.pop("url", None))
    kwargs.update(overrides)
    return clickhouse_connect.get_client(**kwargs)
