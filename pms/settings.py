"""One settings object for every package, read from the environment (and `.env`)."""

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
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.pms_data_dir / 'ops.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
