"""Suite-wide set-up: an isolated PMS_DATA_DIR so no test touches a developer's ./var."""

import os
import tempfile

_DATA_DIR = tempfile.mkdtemp(prefix="pms-test-")
os.environ.setdefault("PMS_DATA_DIR", _DATA_DIR)
os.environ.setdefault("PMS_SECRET_KEY", "test-secret-key-0123456789abcdef0123456789")
