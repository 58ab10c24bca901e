"""One settings object for every package, read from the environment (and `.env`)."""

import base64
import hashlib
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    pms_data_dir: Path = Field(default=Path("./var"), description="SQLite file, embedded warehouse data, model artifacts")
    database_url: str | None = Field(default=None, description="Operational DB; default SQLite in PMS_DATA_DIR")
    clickhouse_url: str = "http://127.0.0.1:8123/default"
    pms_secret_key: SecretStr = SecretStr("dev-insecure-change-me-0123456789abcdef")
    redis_url: str | None = None
    # Fernet keys for PHI encrypted at rest (coverage member id, group number), comma-separated,
    # newest first; older keys stay to decrypt until `pms keys rotate` has run. Production must set
    # it: the fallback derives one key from PMS_SECRET_KEY so development needs no extra step.
    pms_encryption_keys: SecretStr | None = None
    cors_origins: str = Field(default="", description="Comma-separated browser origins allowed to call the API")
    login_max_failures: int = 5  # per username within the window, then 429 until the window ends
    login_max_failures_per_ip: int = 20
    login_window_seconds: int = 900
    max_request_bytes: int = 1_048_576

    # The embedded warehouse (`pms warehouse serve`); ignored when CLICKHOUSE_URL names another server.
    warehouse_host: str = "127.0.0.1"
    warehouse_port: int = 8123
    warehouse_user: str = "default"
    warehouse_password: SecretStr = SecretStr("")

    access_token_minutes: int = 60
    adjustment_approval_limit: Decimal = Decimal("500.00")
    org_name: str = "Spark Den Practice"

    @property
    def warehouse_data_dir(self) -> Path:
        return self.pms_data_dir / "warehouse"

    @property
    def encryption_keys(self) -> list[str]:
        if self.pms_encryption_keys is not None:
            keys = [k.strip() for k in self.pms_encryption_keys.get_secret_value().split(",") if k.strip()]
            if keys:
                return keys
        digest = hashlib.sha256(b"pms-encryption-key:" + self.pms_secret_key.get_secret_value().encode()).digest()
        return [base64.urlsafe_b64encode(digest).decode()]

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.pms_data_dir / 'ops.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
