"""Settings of the dashboards alone. The warehouse connection is not here: it is ``CLICKHOUSE_URL`` in
``pms.settings``, read by ``warehouse.client.get_client()`` like every other ClickHouse client."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Sign-in goes through the operational API (same users, roles and lock-outs); never the ops DB.
    pms_api_url: str = Field(default="http://127.0.0.1:8000", description="Base URL of the ops API, for sign-in")
    dashboards_api_timeout_seconds: float = 10.0
    # Marts change when dbt builds (hourly to daily), so ten minutes of staleness is the trade for
    # pages that render from memory; saved dashboards use a short TTL and are cleared on every save.
    dashboards_cache_ttl_seconds: int = 600
    dashboards_query_timeout_seconds: int = 30
    # The analyst SQL page: per-query server limits.
    dashboards_sql_max_rows: int = 10_000
    dashboards_sql_max_seconds: int = 20
    # Builder queries group on user-chosen dimensions: cap the rows a chart can receive.
    dashboards_builder_max_rows: int = 5_000


@lru_cache
def get_dashboard_settings() -> DashboardSettings:
    return DashboardSettings()
