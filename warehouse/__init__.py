"""Warehouse: the embedded ClickHouse server, the client factory, and outbox replication."""
