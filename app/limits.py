"""Validation of free text against the configured limits, shared by every entry point."""

from app.config import get_settings
from app.errors import InvalidInput


def clean_text(
    value: str | None, *, field: str, label: str, max_chars: int, required: bool = True
) -> str:
    """Trim `value` and check its length; the message names the field and the limit."""
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput(f"{label} cannot be empty.", field=field)
    if len(text) > max_chars:
        raise InvalidInput(
            f"{label} is too long: {len(text)} characters, at most {max_chars} allowed.",
            field=field,
        )
    return text


def clean_title(value: str | None, *, field: str = "title", label: str = "The title") -> str:
    """A title: 1 to `title_max_chars` characters after trimming."""
    return clean_text(value, field=field, label=label, max_chars=get_settings().title_max_chars)


def clean_description(value: str | None, *, field: str = "description") -> str:
    """An optional description of at most 2,000 characters."""
    return clean_text(value, field=field, label="The description", max_chars=2000, required=False)
