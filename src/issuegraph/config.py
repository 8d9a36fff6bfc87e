"""Typed settings, read from the environment with the ISSUEGRAPH_ prefix."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ISSUEGRAPH_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./issuegraph.db",
        description="SQLAlchemy URL. sqlite:///path (default) or postgresql://user@host/db",
    )
    admin_token: str | None = Field(
        default=None,
        description="When set, start-up ensures an admin `root` whose personal access token is this value",
    )
    admin_password: str | None = Field(
        default=None,
        description="Password of `root` when the first start creates it; a random one is written to "
        "./initial_root_password otherwise",
    )
    external_url: str | None = Field(
        default=None, description="Base of every web_url; default http://HOST:PORT"
    )
    host: str = "127.0.0.1"
    port: int = 8080
    max_links_per_issue: int = 100
    max_depth: int = Field(default=8, ge=1, description="Maximum levels of a parent/sub-issue hierarchy")
    max_children: int = Field(default=100, ge=1, description="Maximum sub-issues of one parent")
    db_pool_size: int = 10
    max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="Largest request body accepted (413 above it)"
    )
    auth_failure_limit: int = Field(
        default=30, ge=1, description="Failed authentications per client address before it is refused (429)"
    )
    auth_ban_seconds: int = Field(
        default=60, ge=1, description="Window counting failures, and how long an address is then refused"
    )
    db_connect_timeout: int = Field(
        default=5, ge=1, description="Seconds to wait for a new database connection before answering 503"
    )
    retry_after: int = Field(
        default=2, ge=1, description="Retry-After seconds of a 503 while the database is unreachable"
    )
    log_level: str = "info"
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto", description="auto: JSON lines unless stdout is a terminal"
    )
    shutdown_timeout: int = Field(
        default=30, ge=1, description="Seconds in-flight requests get to finish after SIGTERM"
    )
    # Webhooks (see docs/webhooks.md).
    webhooks_allow_local: bool = Field(
        default=False, description="Allow hooks to loopback, private and link-local addresses"
    )
    webhooks_connect_timeout: float = Field(default=5.0, gt=0, description="Seconds to connect")
    webhooks_timeout: float = Field(default=10.0, gt=0, description="Seconds for a whole delivery")
    webhooks_retry_base_seconds: float = Field(default=10.0, ge=0, description="First retry delay")
    webhooks_retry_max_seconds: float = Field(default=3600.0, ge=0, description="Longest retry delay")
    webhooks_pause_base_seconds: float = Field(
        default=60.0, ge=0, description="Auto-disable pause at the 4th failure (doubles to 24 h)"
    )
    webhooks_log_retention_days: float = Field(default=7.0, gt=0, description="Delivery logs kept")
    webhooks_poll_seconds: float = Field(default=1.0, gt=0, description="Delivery polling interval")
    webhooks_gather_seconds: float = Field(
        default=0.05,
        ge=0,
        description="After a wake-up, wait this long so that a burst of commits is dispatched in one round",
    )
    webhooks_max_per_scope: int = Field(default=100, ge=1, description="Hooks per project or group")
    # GitLab's webhook rate limits, per user and project (or group) a minute; 0 disables one.
    webhooks_test_limit: int = Field(
        default=5, ge=0, description="Hook tests a minute per user and project or group"
    )
    webhooks_resend_limit: int = Field(
        default=5, ge=0, description="Hook event resends a minute per user and project or group"
    )
    webhooks_create_limit: int = Field(
        default=5, ge=0, description="Hooks created a minute per user and project or group"
    )
    smtp_url: str | None = Field(
        default=None,
        description="smtp://[user:password@]host[:port] (smtps:// for TLS); mail is off when unset",
    )
    smtp_from: str = Field(default="issuegraph <issuegraph@localhost>", description="From: of notifications")

    @field_validator("database_url")
    @classmethod
    def _normalise_postgres_driver(cls, value: str) -> str:
        # psycopg 3 is the driver we ship; accept the plain scheme users write.
        if value.startswith("postgres://"):
            value = "postgresql://" + value[len("postgres://") :]
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def base_url(self) -> str:
        if self.external_url:
            return self.external_url.rstrip("/")
        return f"http://{self.host}:{self.port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
