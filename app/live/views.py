"""What the live screens show of the phase timer: the countdown every page renders
(`timer_view`, a Jinja global) and the dashboard's timer card (`#timer-card`)."""

import math
from typing import Any

from app.live.timer import timer_state
from app.sessions.models import WorkshopSession


def clock_text(seconds: float) -> str:
    """Seconds left as the countdown shows them: m:ss, or h:mm:ss from an hour on."""
    total = max(0, math.ceil(seconds - 1e-9))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def timer_view(session: WorkshopSession) -> dict[str, Any]:
    """The timer as the page renders it (Jinja global `timer_view`): the API shape plus
    the countdown text at render time."""
    data = timer_state(session).public()
    data["text"] = clock_text(data["remaining"])
    return data


def timer_card_context(
    session: WorkshopSession,
    *,
    error: str | None = None,
    error_field: str | None = None,
    minutes: str | None = None,
) -> dict[str, Any]:
    """The dashboard's timer card (#timer-card): the controls and what was typed."""
    if minutes is None:
        duration = session.timer_duration
        minutes = f"{duration / 60:g}" if duration else "10"
    return {
        "session": session,
        "timer_error": error,
        "timer_error_field": error_field,
        "timer_minutes": minutes,
    }
