"""Column helpers shared by every table, and the constrained types of request schemas."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Form, Path, Query
from pydantic import Field as PydanticField
from sqlalchemy import DateTime
from sqlmodel import Field


def utcnow() -> datetime:
    """Timezone-aware now, in UTC."""
    return datetime.now(UTC)


def created_at_field() -> datetime:
    """A `created_at`/`updated_at` column: timezone-aware UTC timestamp."""
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False)


# The largest value an INTEGER column holds on every backend we run on (PostgreSQL's
# `integer` is 32-bit; SQLite's is 64-bit): a request naming a bigger id or position is
# refused by validation (422) before it reaches the database.
DB_INT_MAX = 2**31 - 1

DbId = Annotated[int, PydanticField(ge=1, le=DB_INT_MAX)]
"""A row id in a request body: 1 to 2^31 − 1."""

DbInt = Annotated[int, PydanticField(ge=-DB_INT_MAX - 1, le=DB_INT_MAX)]
"""Any other stored integer (a position): within PostgreSQL's 32-bit `integer`."""

PathId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]
"""A row id in a URL path: 1 to 2^31 − 1 (else 422, before any database work)."""

QueryId = Annotated[int | None, Query(ge=1, le=DB_INT_MAX)]
"""An optional row id in a query string."""

RequiredQueryId = Annotated[int, Query(ge=1, le=DB_INT_MAX)]
"""A row id a query string must carry."""

FormId = Annotated[int, Form(ge=1, le=DB_INT_MAX)]
"""A row id in a submitted form."""
