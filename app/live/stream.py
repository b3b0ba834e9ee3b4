"""Event streams for clients: replay by Last-Event-ID, then live events, as SSE.

For pages (htmx SSE extension) and any other consumer in this process::

    from app.live.stream import event_stream, sse_event

    async def render(event: LiveEvent) -> ServerSentEvent | None:
        if event.kind == "contribution_added":
            html = await anyio.to_thread.run_sync(render_card, event.data["contribution_id"])
            return sse_event(event, html)            # id = seq, so reconnects replay
        if event.kind == "reset":
            return sse_event(event, "", name="reload")
        return None                                  # not shown on this page

    @router.get("/s/{code}/stream")
    def page_stream(request: Request, actor: ActorDep) -> EventSourceResponse:
        return event_stream(request, actor.session.id, render=render)

`event_stream` reads Last-Event-ID (header, or `?last_event_id=` on the first connect),
sends keep-alives, caps the stream's lifetime and drops a client that falls too far behind;
the browser reconnects by itself and gets exactly what it missed; the messages of events
that arrive together go out in one write. Lower level,
`session_events(app, session_id, last_seq)` yields the `LiveEvent`s themselves
(`session_event_batches` the same, grouped as they become available):

- first `hello` (seq = where the stream starts; data: phase, last_seq, server_now, timer),
- `reset` when the events after `last_seq` no longer exist (pruned, or an id from another
  database): reload your state; its seq is where the stream continues,
- then every event with seq > the start, in order, each once, until the lifetime cap.

The same `LiveEvent` objects go to every subscriber of a session in a process, so a page
that renders the same fragment for everyone can memoise on (`event.seq`, variant) — a room of
300 should not render one fragment 300 times. Render functions run on the event loop: do
database work and template rendering in a thread.
"""

import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from sqlmodel import Session
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.live import service
from app.live.hub import READ_BATCH, LiveEvent, LiveHub, read_events
from app.live.timer import iso, timer_state
from app.models_base import utcnow
from app.sessions.models import WorkshopSession

# A send that cannot complete in this time means the client is gone or hopelessly slow.
SEND_TIMEOUT_SECONDS = 30.0
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

Renderer = Callable[[LiveEvent], Awaitable[ServerSentEvent | bytes | None]]


@dataclass(frozen=True)
class _Start:
    phase: str
    newest: int
    cursor: int
    timer: dict[str, Any]
    reset_reason: str | None


def _start(db: Session, session_id: int, last_seq: int | None) -> _Start | None:
    session = db.get(WorkshopSession, session_id)
    if session is None:
        return None
    # The session row is read before any event: every seq up to `newest` is committed, so if
    # the next one the client needs is not in the table, it was pruned.
    newest = session.last_event_seq
    reset_reason = None
    cursor = newest if last_seq is None else last_seq
    if last_seq is not None and last_seq > newest:
        reset_reason = "unknown_event_id"
        cursor = newest
    elif last_seq is not None and last_seq < newest:
        following = service.events_after(db, session_id, last_seq, limit=1)
        if not following or following[0].seq != last_seq + 1:
            reset_reason = "events_pruned"
            cursor = newest
    return _Start(
        phase=session.phase,
        newest=newest,
        cursor=cursor,
        timer=timer_state(session).public(),
        reset_reason=reset_reason,
    )


def _missing(db: Session, session_id: int, after: int, before: int) -> list[LiveEvent]:
    return [e for e in read_events(db, session_id, after, before - after - 1) if e.seq < before]


async def session_events(
    app: FastAPI,
    session_id: int,
    last_seq: int | None = None,
    *,
    max_seconds: float | None = None,
) -> AsyncIterator[LiveEvent]:
    """`hello`, maybe `reset`, then the session's events after `last_seq` (None: from now),
    each once and in order, until `max_seconds` (default: about `stream_max_seconds`) or
    until the consumer falls too far behind. Holds no database session while waiting."""
    async for batch in session_event_batches(app, session_id, last_seq, max_seconds=max_seconds):
        for event in batch:
            yield event


async def session_event_batches(
    app: FastAPI,
    session_id: int,
    last_seq: int | None = None,
    *,
    max_seconds: float | None = None,
) -> AsyncIterator[list[LiveEvent]]:
    """`session_events` in the batches they become available in (one write per batch)."""
    hub: LiveHub = app.state.live
    if max_seconds is None:
        # Spread out: a room that connected together should not reconnect together.
        max_seconds = hub.settings.stream_max_seconds * random.uniform(0.8, 1.0)
    deadline = time.monotonic() + max_seconds
    async with hub.subscribe(session_id) as subscription:
        # Subscribed first, read second: whatever commits in between is in the table read
        # below or in the queue (or both — duplicates are skipped by seq).
        start = await hub.read(_start, session_id, last_seq)
        if start is None:
            return
        now = utcnow()
        hello = {
            "phase": start.phase,
            "last_seq": start.newest,
            "server_now": iso(now),
            "timer": start.timer,
        }
        first = [LiveEvent(seq=start.cursor, kind="hello", data=hello, at=now)]
        cursor = start.cursor
        if start.reset_reason:
            first.append(
                LiveEvent(seq=cursor, kind="reset", data={"reason": start.reset_reason}, at=now)
            )
        yield first
        while True:
            backlog = await hub.read(read_events, session_id, cursor, READ_BATCH)
            if backlog:
                yield backlog
                cursor = backlog[-1].seq
            if len(backlog) < READ_BATCH:
                break

        subscription.expire_after(max(0.0, deadline - time.monotonic()))
        while not subscription.closed:
            queued = await subscription.get()
            if subscription.dropped:
                return
            batch: list[LiveEvent] = []
            for event in queued:
                if event.seq <= cursor:
                    continue
                if event.seq > cursor + 1:
                    # Not expected (the feed reads in order), but cheap to heal from the table.
                    for missed in await hub.read(_missing, session_id, cursor, event.seq):
                        if missed.seq > cursor:
                            batch.append(missed)
                            cursor = missed.seq
                    if cursor != event.seq - 1:
                        batch.append(
                            LiveEvent(
                                seq=event.seq - 1,
                                kind="reset",
                                data={"reason": "events_pruned"},
                                at=utcnow(),
                            )
                        )
                batch.append(event)
                cursor = event.seq
            if batch:
                yield batch


class LiveEventSourceResponse(EventSourceResponse):
    """sse-starlette's response, with a cheaper send for event messages.

    sse-starlette arms a timer (an anyio cancel scope, ~11 µs) around every message: a third
    of a message's CPU when one event fans out to hundreds of streams on the event loop. Only
    keep-alive pings keep it here: a client that stops reading blocks the pings too, so it is
    still dropped within keep-alive + send timeout (and its bounded queue is released as
    soon as it overflows).
    """

    async def _send_with_timeout(self, send: Any, message: Any) -> None:
        if message.get("body", b"")[:1] == b":":  # a keep-alive comment
            await super()._send_with_timeout(send, message)
        else:
            await send(message)


def sse_event(event: LiveEvent, data: str, *, name: str | None = None) -> ServerSentEvent:
    """An SSE message for `event` carrying `data` (e.g. an HTML fragment); its id is the
    event's seq, so a reconnecting browser resumes after it."""
    return ServerSentEvent(data=data, event=name or event.kind, id=str(event.seq))


def last_event_id(request: Request) -> int | None:
    """The client's Last-Event-ID header, else `?last_event_id=`; None when absent or bad."""
    raw = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if value >= 0 else None


def event_stream(
    request: Request,
    session_id: int,
    *,
    render: Renderer | None = None,
    last_seq: int | None = None,
) -> LiveEventSourceResponse:
    """An SSE response of the session's events for this request (see the module docstring);
    `render` turns each event into a message, or None to skip it (default: JSON)."""
    app: FastAPI = request.app
    start = last_event_id(request) if last_seq is None else last_seq

    async def messages() -> AsyncIterator[bytes]:
        # One write per batch: with hundreds of streams, every send costs loop time.
        async for batch in session_event_batches(app, session_id, start):
            if render is None:
                yield b"".join(event.wire for event in batch)
                continue
            chunks = []
            for event in batch:
                message = await render(event)
                if message is not None:
                    chunks.append(message if isinstance(message, bytes) else message.encode())
            if chunks:
                yield b"".join(chunks)

    return LiveEventSourceResponse(
        messages(),
        headers=STREAM_HEADERS,
        ping=app.state.live.settings.keepalive_seconds,
        send_timeout=SEND_TIMEOUT_SECONDS,
    )
