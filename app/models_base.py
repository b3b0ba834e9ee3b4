"""Column helpers shared by every table."""

from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlmodel import Field


def utcnow() -> datetime:
    """Timezone-aware now, in UTC."""
    return datetime.now(UTC)


def created_at_field() -> datetime:
    """A `created_at`/`updated_at` column: timezone-aware UTC timestamp."""
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False)
