"""The addresses people are given: the join link, and the facilitator's secret link."""

from fastapi import Request

from app.config import get_settings


def public_base_url(request: Request) -> str:
    """The address participants reach this server at."""
    return (get_settings().base_url or str(request.base_url)).rstrip("/")


def join_url(request: Request, code: str) -> str:
    """The link participants open to join."""
    return f"{public_base_url(request)}/join/{code}"


def facilitator_url(request: Request, code: str, token: str) -> str:
    """The secret link that signs the facilitator in (exchanged for a cookie on first use)."""
    return f"{public_base_url(request)}/f/{code}?key={token}"
