"""Settings, read once from the environment (prefix ``POLICYLAB_``)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me"


class Settings(BaseSettings):
    """Everything an operator can configure; defaults suit one laptop."""

    model_config = SettingsConfigDict(env_prefix="POLICYLAB_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///policylab.db"
    redis_url: str | None = None
    base_url: str | None = Field(
        default=None, description="Public address used in join links, e.g. https://lab.example.eu"
    )
    production: bool = False
    secret_key: str = DEFAULT_SECRET
    organiser_key: str | None = Field(
        default=None, description="When set, creating or importing sessions needs this key"
    )
    https: bool = False
    privacy_contact: str | None = Field(
        default=None,
        description="Who participants contact about their data (shown on /privacy), "
        "e.g. an e-mail address",
    )
    forwarded_allow_ips: str | None = Field(
        default=None,
        description="Addresses of the reverse proxies whose X-Forwarded-* headers are trusted "
        "(comma-separated, or *); none by default",
    )
    http_header_timeout_seconds: int = Field(
        default=10, ge=1, description="A request's headers must arrive within this time"
    )
    http_keep_alive_seconds: int = Field(
        default=5, ge=1, description="An idle keep-alive connection is closed after this time"
    )
    max_connections: int = Field(
        default=2000,
        ge=10,
        description="Per worker: connections (event streams included) beyond it are answered 503",
    )

    contribution_max_chars: int = 500
    contributions_per_challenge: int = 30
    title_max_chars: int = 200
    name_max_chars: int = 60
    max_challenges: int = 6
    max_request_bytes: int = 5_000_000

    clustering_engine: str = "default"
    event_retention_hours: int = 48
    event_keep_last: int = Field(
        default=1000, description="Events of a session never pruned, however old (the last N)"
    )
    event_bus: Literal["auto", "memory", "postgres", "redis"] = Field(
        default="auto",
        description="How workers tell each other about new events; auto: redis when "
        "redis_url is set, else postgres on PostgreSQL, else in-process",
    )
    event_poll_seconds: float = Field(
        default=3.0, description="Safety re-read of the events table when the bus is quiet"
    )
    session_retention_days: int | None = None
    stream_max_seconds: int = 300
    keepalive_seconds: int = 15
    rate_limits: bool = True
    rate_limits_per_minute: dict[str, int] = Field(
        default_factory=dict,
        description='Other per-minute limits than the defaults, as JSON: {"join": 6000}',
    )

    templates_dir: Path = Path(__file__).resolve().parent.parent / "templates"
    static_dir: Path = Path(__file__).resolve().parent.parent / "static"

    @model_validator(mode="after")
    def _refuse_default_secret_in_production(self) -> "Settings":
        if self.production and self.secret_key == DEFAULT_SECRET:
            raise ValueError("POLICYLAB_SECRET_KEY must be set to a random value in production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings."""
    return Settings()
