"""Writers consume the op stream: `service` through ops_api.services, `bulk` set-wise. Both give the
same rows, ids, timestamps and outbox events (tests/simulator/test_paths.py proves it)."""
