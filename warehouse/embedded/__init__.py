"""The embedded warehouse: chDB behind ClickHouse's HTTP interface, one process per data directory.

``pms warehouse serve`` runs it; ``start_server`` starts it as a subprocess (tests, ``make demo``).
Clients never import this package: they connect over HTTP through ``warehouse.client.get_client``.
"""

from warehouse.embedded.process import ServerHandle, ServerInfo, start_server, status, stop

__all__ = ["ServerHandle", "ServerInfo", "start_server", "status", "stop"]
