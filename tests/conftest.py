"""Suite-wide set-up: an isolated PMS_DATA_DIR so no test touches a developer's ./var."""

import os
import tempfile

_DATA_DIR = tempfile.mkdtemp(prefix="pms-test-")
os.environ.setdefault("PMS_DATA_DIR", _DATA_DIR)
os.environ.setdefault("PMS_SECRET_KEY", "test-secret-key-0123456789abcdef0123456789")


def _cheap_password_hashing() -> None:
    """Real argon2 at minimal cost: production cost (~0.3 s a user) would dominate the suite.
    Verification reads the parameters from each hash, so signing in still works."""
    from argon2 import PasswordHasher

    import ops_api.services.users

    ops_api.services.users.hash_password = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash


_cheap_password_hashing()
