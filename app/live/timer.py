"""The phase timer every screen counts down together.

The server's clock is the reference. A running timer is stored as its end time
(`timer_ends_at`), a paused one as the seconds it had left (`timer_remaining`), so nothing
needs to tick on the server. Clients receive `ends_at` together with `server_now` and compute
their own clock offset once (`offset = server_now − local_now` on receipt), then show
`ends_at − (local_now + offset)`: a laptop whose clock is minutes off still shows the same
countdown as the projector.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field
from sqlmodel import Session, SQLModel

from app.errors import Conflict, InvalidInput
from app.i18n import N_, _
from app.live.service import as_utc, record_event
from app.models_base import utcnow
from app.sessions.models import WorkshopSession

MAX_SECONDS = 24 * 3600


class TimerAction(StrEnum):
    start = "start"
    pause = "pause"
    resume = "resume"
    extend = "extend"
    reset = "reset"


class TimerControl(SQLModel):
    """`start` needs `seconds` (or reuses the last duration); `extend` needs `seconds`."""

    action: TimerAction
    seconds: int | None = Field(default=None, ge=1, le=MAX_SECONDS)


class TimerPublic(SQLModel):
    """The timer as the API answers it; times are UTC ISO 8601 with milliseconds."""

    running: bool
    remaining: float = Field(description="Seconds left.")
    ends_at: str | None = Field(description="When a running timer ends; null otherwise.")
    server_now: str
    duration: int = Field(description="Seconds the timer was set to (with extensions).")
    state: Literal["idle", "running", "paused", "expired"]


@dataclass(frozen=True)
class TimerState:
    """The timer as seen at `server_now`. `state` is idle, running, paused or expired."""

    state: str
    remaining: float
    ends_at: datetime | None
    duration: int
    server_now: datetime

    @property
    def running(self) -> bool:
        return self.state == "running"

    def public(self) -> dict[str, Any]:
        """The API shape: `{running, remaining, ends_at, server_now, duration, state}`."""
        return {
            "running": self.running,
            "remaining": self.remaining,
            "ends_at": iso(self.ends_at) if self.ends_at else None,
            "server_now": iso(self.server_now),
            "duration": self.duration,
            "state": self.state,
        }


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds, the one timestamp format of the live API."""
    return as_utc(moment).isoformat(timespec="milliseconds")


def timer_state(session: WorkshopSession, now: datetime | None = None) -> TimerState:
    """Where the session's timer stands at `now` (default: the server's now)."""
    now = now or utcnow()
    if session.timer_ends_at is not None:
        ends_at = as_utc(session.timer_ends_at)
        remaining = max(0.0, (ends_at - now).total_seconds())
        state = "running" if remaining > 0 else "expired"
        return TimerState(state, round(remaining, 3), ends_at, session.timer_duration, now)
    if session.timer_remaining is not None:
        return TimerState(
            "paused", float(session.timer_remaining), None, session.timer_duration, now
        )
    return TimerState("idle", 0.0, None, session.timer_duration, now)


# Refusals naming the timer's state: one sentence per state.
NOT_RUNNING = {
    "idle": N_("The timer is not running (it is idle)."),
    "paused": N_("The timer is not running (it is paused)."),
    "expired": N_("The timer is not running (its time is up)."),
}
NOT_PAUSED = {
    "idle": N_("Only a paused timer can be resumed (it is idle)."),
    "running": N_("Only a paused timer can be resumed (it is running)."),
    "expired": N_("Only a paused timer can be resumed (its time is up)."),
}


def control_timer(
    db: Session,
    session: WorkshopSession,
    action: str,
    seconds: int | None = None,
    now: datetime | None = None,
) -> TimerState:
    """Start, pause, resume, extend or reset the timer; records `timer_changed`.

    Refusals (422 bad input, 409 not possible in the timer's state) change nothing.
    """
    try:
        verb = TimerAction(action)
    except ValueError:
        names = ", ".join(TimerAction)
        raise InvalidInput(
            _(
                "Unknown timer action “%(action)s”. Use one of: %(names)s.",
                action=action,
                names=names,
            )
        ) from None
    if seconds is not None and not 1 <= seconds <= MAX_SECONDS:
        raise InvalidInput(
            _("seconds must be between 1 and %(max)s.", max=MAX_SECONDS), field="seconds"
        )
    # Two facilitator screens may press at once: work from the row as locked now, not from
    # what this request read earlier (FOR UPDATE is a no-op on SQLite, whose write
    # transactions are serialised already).
    db.refresh(session, with_for_update=True)
    now = now or utcnow()
    before = timer_state(session, now)

    if verb is TimerAction.start:
        length = seconds or session.timer_duration
        if not length:
            raise InvalidInput(_("Say how many seconds the timer should run."), field="seconds")
        session.timer_duration = length
        session.timer_ends_at = now + timedelta(seconds=length)
        session.timer_remaining = None
    elif verb is TimerAction.pause:
        if before.state != "running":
            raise Conflict(_(NOT_RUNNING[before.state]))
        # Rounded up: pausing never takes time away from the room.
        session.timer_remaining = max(1, math.ceil(before.remaining))
        session.timer_ends_at = None
    elif verb is TimerAction.resume:
        if before.state != "paused":
            raise Conflict(_(NOT_PAUSED[before.state]))
        session.timer_ends_at = now + timedelta(seconds=session.timer_remaining or 0)
        session.timer_remaining = None
    elif verb is TimerAction.extend:
        if seconds is None:
            raise InvalidInput(_("Say by how many seconds to extend the timer."), field="seconds")
        if before.state == "idle":
            raise Conflict(_("There is no timer to extend; start one first."))
        session.timer_duration += seconds
        if before.state == "paused":
            session.timer_remaining = (session.timer_remaining or 0) + seconds
        elif before.state == "running":
            session.timer_ends_at = as_utc(session.timer_ends_at) + timedelta(seconds=seconds)  # type: ignore[arg-type]
        else:  # expired: time is added from now
            session.timer_ends_at = now + timedelta(seconds=seconds)
    else:  # reset
        if before.state == "idle" and session.timer_duration == 0:
            return before
        session.timer_duration = 0
        session.timer_ends_at = None
        session.timer_remaining = None

    session.updated_at = now
    db.add(session)
    after = timer_state(session, now)
    data = after.public()
    del data["server_now"]  # stale on replay; the stream's hello carries the server's clock
    record_event(db, session, "timer_changed", action=verb.value, **data)
    db.flush()
    return after
