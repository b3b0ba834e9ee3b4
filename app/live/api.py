"""JSON API of the live workshop: the event stream and the phase timer (`/api/v1`)."""

from typing import Annotated, Any

from fastapi import APIRouter, Request, Security
from fastapi.security import HTTPAuthorizationCredentials
from sse_starlette import EventSourceResponse

from app.db import DbDep
from app.errors import API_ERRORS
from app.live.stream import event_stream, open_stream
from app.live.timer import TimerControl, TimerPublic, control_timer, timer_state
from app.sessions.auth import ActorDep, FacilitatorDep, bearer

router = APIRouter(prefix="/api/v1", tags=["live"], responses=API_ERRORS)

EVENTS_DOC = """Server-sent events of the session, for participants and the facilitator.

Each message: `id: <seq>`, `event: <kind>`, `data: {"seq", "kind", "data", "at"}`. The first
is `hello` (data: `phase`, `last_seq`, `server_now`, `timer`). Reconnect with the
`Last-Event-ID` header (or `?last_event_id=` on a first connect) to receive exactly the
events missed, in order. A `reset` event means those events are gone (pruned): reload the
state. Streams end after a few minutes with a `renew` event (data: `reason` `lifetime`, or
`restart` when the server shuts down, and `retry_ms`); reconnect with Last-Event-ID (browsers
do this by themselves). A `session_deleted` event means the session was deleted: the stream
ends, and reconnecting answers 404."""


@router.get(
    "/sessions/{code}/events",
    description=EVENTS_DOC,
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Event stream"}},
)
async def stream_events(
    code: str,
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> EventSourceResponse:
    """Live events of the session (server-sent events, honours Last-Event-ID)."""
    # async, no DbDep: authenticating and the start are one short read (see open_stream).
    return event_stream(request, await open_stream(request, code))


@router.get("/sessions/{code}/timer", response_model=TimerPublic)
def get_timer(actor: ActorDep) -> dict[str, Any]:
    """The phase timer: `{running, remaining, ends_at, server_now, duration, state}`."""
    return timer_state(actor.session).public()


@router.post("/sessions/{code}/timer", response_model=TimerPublic)
def change_timer(data: TimerControl, actor: FacilitatorDep, db: DbDep) -> dict[str, Any]:
    """Start (`seconds`), pause, resume, extend (`seconds`) or reset the phase timer."""
    return control_timer(db, actor.session, data.action, data.seconds).public()
