"""The privacy notice participants can open from the join page (`/privacy`)."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.config import get_settings
from app.web import render

router = APIRouter(include_in_schema=False)


@router.get("/privacy")
def privacy_notice(request: Request) -> Response:
    """What this server stores about participants, for how long, and who sees names."""
    settings = get_settings()
    return render(
        request,
        "privacy.html",
        {
            "retention_days": settings.session_retention_days,
            "contact": settings.privacy_contact,
            "name_max": settings.name_max_chars,
            "contribution_max": settings.contribution_max_chars,
        },
    )
