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
    async def page_stream(code: str, request: Request) -> EventSourceResponse:
        opened = await open_stream(request, code)      # 401/403/404 as usual
        return event_stream(request, opened, render=render)

A stream route is `async` and holds nothing while it waits: `open_stream` authenticates the
request and reads where its stream starts in ONE short read-only database session, taken
through the hub's own small limiter for stream opens (`LiveHub.open_read`), so a room
reconnecting at once queues among itself and never takes the threads and connections the
rest of the service needs; an `authorize(db, actor)` callback adds a route's own checks to
that same read. Then no database session and no thread is held until something happens.

`event_stream` reads Last-Event-ID (header, or `?last_event_id=` on the first connect),
sends keep-alives, caps the stream's lifetime and drops a client that falls too far behind;
the browser reconnects by itself and gets exactly what it missed; the messages of events
that arrive together go out in one write. Lower level,
`session_events(app, session_id, last_seq)` yields the `LiveEvent`s themselves
(`session_event_batches` the same, grouped as they become available):

- first `hello` (seq = where the stream starts; data: phase, last_seq, server_now, timer),
- `reset` when the events after `last_seq` no longer exist (pruned, or an id from another
  database): reload your state; its seq is where the stream continues,
- then every event with seq > the start, in order, each once, until
- `renew` (data: reason `lifetime`, `retry_ms`) at the lifetime cap: the stream ends as
  planned and the client should reconnect at once, quietly, with Last-Event-ID (reason
  `restart` when the server shuts down: reconnect after `retry_ms`, 1-5 s at random); or
- `session_deleted` when the session is deleted (or purged): the stream ends, and opening
  it again answers 404, so the client should show that and stop reconnecting.

On the wire (`event_stream`) `renew` and `session_deleted` carry a `retry:` (a short one,
jittered, for a renewal; a long one for a deleted session, so a client that ignores the
event does not hammer the server), never an id on the pages' streams (their ids may stay
behind a coalesced burst). Every stream also sends its own `retry:` after its `hello`,
drawn from `RETRY_JITTER_MS`, so that browsers reconnecting after a server restart arrive
spread out rather than all at once.

The same `LiveEvent` objects go to every subscriber of a session in a process, so a page
that renders the same fragment for everyone can memoise on (`event.seq`, variant) — a room of
300 should not render one fragment 300 times. Render functions run on the event loop: do
database work and template rendering in a thread.
"""

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi import FastAPI, Request
from sqlmodel import Session
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.live.hub import READ_BATCH, LiveEvent, LiveHub, read_events
from app.live.timer import iso, timer_state
from app.models_base import utcnow
from app.sessions.auth import Actor, authenticate, request_token
from app.sessions.models import WorkshopSession

# A send that cannot complete in this time means the client is gone or hopelessly slow.
SEND_TIMEOUT_SECONDS = 30.0
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# The reconnection delay each stream gives its browser (ms), drawn at random per stream: after
# a server restart, a room's browsers come back spread over these seconds.
RETRY_JITTER_MS = (1000, 5000)
# At the lifetime cap: reconnect soon (a client that handles `renew` reconnects at once).
RENEW_RETRY_MS = (250, 1000)
# After `session_deleted`: a client that ignores it comes back only much later (to a 404).
DELETED_RETRY_MS = 3_600_000
CONTROL_KINDS = frozenset({"renew", "session_deleted"})
KEEPALIVE = b": keep-alive\r\n\r\n"

Renderer = Callable[[LiveEvent], Awaitable[ServerSentEvent | bytes | None]]
T = TypeVar("T")


@dataclass(frozen=True)
class StreamStart:
    """Where a stream starts, read in one go: the session's state, the cursor, a reset
    reason, and the first events the client missed (all of them when `complete`)."""

    session_id: int
    phase: str
    newest: int
    cursor: int
    timer: dict[str, Any]
    reset_reason: str | None = None
    backlog: list[LiveEvent] = field(default_factory=list)
    complete: bool = True


def read_start(db: Session, session: WorkshopSession, last_seq: int | None) -> StreamStart:
    """The start of a stream for a client that has seen up to `last_seq` (None: new)."""
    # The session row is read before any event: every seq up to `newest` is committed, so if
    # the next one the client needs is not in the table, it was pruned.
    newest = session.last_event_seq
    reset_reason = None
    cursor = newest if last_seq is None else last_seq
    backlog: list[LiveEvent] = []
    if last_seq is not None and last_seq > newest:
        reset_reason = "unknown_event_id"
        cursor = newest
    elif last_seq is not None and last_seq < newest:
        backlog = read_events(db, session.id, last_seq, READ_BATCH)  # type: ignore[arg-type]
        if not backlog or backlog[0].seq != last_seq + 1:
            reset_reason = "events_pruned"
            cursor = newest
            backlog = []
    return StreamStart(
        session_id=session.id,  # type: ignore[arg-type]
        phase=session.phase,
        newest=newest,
        cursor=cursor,
        timer=timer_state(session).public(),
        reset_reason=reset_reason,
        backlog=backlog,
        complete=len(backlog) < READ_BATCH,
    )


def _read_start_by_id(db: Session, session_id: int, last_seq: int | None) -> StreamStart | None:
    session = db.get(WorkshopSession, session_id)
    return None if session is None else read_start(db, session, last_seq)


@dataclass(frozen=True)
class OpenedStream(Generic[T]):
    """An authenticated stream's start; `value` is what the route's `authorize` returned."""

    start: StreamStart
    role: str
    participant_id: int | None
    value: T


async def open_stream(
    request: Request,
    code: str,
    authorize: Callable[[Session, Actor], T] | None = None,
) -> OpenedStream[T | None]:
    """Authenticate the request for session `code` and read where its stream starts, in one
    short read through the hub's stream-open limiter; `authorize(db, actor)` runs in the same
    read (raise an AppError to refuse). Refusals are the usual 401/403/404."""
    hub: LiveHub = request.app.state.live
    token = request_token(request, code)
    last_seq = last_event_id(request)

    def work(db: Session) -> OpenedStream[T | None]:
        actor = authenticate(db, code, token)
        session = actor.session
        value = authorize(db, actor) if authorize is not None else None
        return OpenedStream(
            start=read_start(db, session, last_seq),
            role=actor.role,
            participant_id=actor.participant_id,
            value=value,
        )

    return await hub.open_read(work)


async def session_events(
    app: FastAPI,
    session_id: int,
    last_seq: int | None = None,
    *,
    max_seconds: float | None = None,
    start: StreamStart | None = None,
) -> AsyncIterator[LiveEvent]:
    """`hello`, maybe `reset`, then the session's events after `last_seq` (None: from now),
    each once and in order, until `renew` at `max_seconds` (default: about
    `stream_max_seconds`) or `session_deleted`, or until the consumer falls too far behind.
    Holds no database session while waiting."""
    async for batch in session_event_batches(
        app, session_id, last_seq, max_seconds=max_seconds, start=start
    ):
        for event in batch:
            yield event


async def session_event_batches(
    app: FastAPI,
    session_id: int,
    last_seq: int | None = None,
    *,
    max_seconds: float | None = None,
    start: StreamStart | None = None,
    idle_seconds: float | None = None,
) -> AsyncIterator[list[LiveEvent]]:
    """`session_events` in the batches they become available in (one write per batch).
    `start`: already read by `open_stream` (else read here); `idle_seconds`: yield an empty
    batch after this long without events (time for a keep-alive)."""
    hub: LiveHub = app.state.live
    if max_seconds is None:
        # Spread out: a room that connected together should not reconnect together.
        max_seconds = hub.settings.stream_max_seconds * random.uniform(0.8, 1.0)
    deadline = time.monotonic() + max_seconds
    if start is None:
        start = await hub.open_read(_read_start_by_id, session_id, last_seq)
        if start is None:
            return
    async with hub.subscribe(session_id) as subscription:
        # Read first, subscribed second: events the feed had already fanned out when this
        # stream joined (up to `joined_at`) and that the start did not read are read below;
        # everything after comes through the queue (duplicates are skipped by seq).
        hello = {
            "phase": start.phase,
            "last_seq": start.newest,
            "server_now": iso(utcnow()),
            "timer": start.timer,
        }
        cursor = start.cursor
        first = [LiveEvent.control(cursor, "hello", **hello)]
        if start.reset_reason:
            first.append(LiveEvent.control(cursor, "reset", reason=start.reset_reason))
        first += start.backlog
        if start.backlog:
            cursor = start.backlog[-1].seq
        yield first
        complete = start.complete
        while not complete or subscription.joined_at > cursor:
            backlog = await hub.read(read_events, session_id, cursor, READ_BATCH)
            if backlog:
                yield backlog
                cursor = backlog[-1].seq
            complete = len(backlog) < READ_BATCH
            if complete:
                break

        subscription.expire_after(max(0.0, deadline - time.monotonic()))
        while True:
            queued = await subscription.get(idle_seconds)
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
                            LiveEvent.control(event.seq - 1, "reset", reason="events_pruned")
                        )
                batch.append(event)
                cursor = event.seq
            if subscription.gone:
                yield [*batch, LiveEvent.control(cursor, "session_deleted")]
                return
            if subscription.expired:
                reason = subscription.expired_because
                yield [*batch, LiveEvent.control(cursor, "renew", reason=reason)]
                return
            if batch or not queued:
                yield batch


def _missing(db: Session, session_id: int, after: int, before: int) -> list[LiveEvent]:
    return [e for e in read_events(db, session_id, after, before - after - 1) if e.seq < before]


class LiveEventSourceResponse(EventSourceResponse):
    """sse-starlette's response (headers, HEAD), streamed by a leaner `__call__`.

    sse-starlette runs every stream as an anyio task group of four tasks (the messages,
    pings, the server's exit signal, the client's disconnect): measured with tracemalloc,
    16 KB of a stream's ~54 KB, and a timer (~11 µs) around every message sent. Here the
    messages are sent by the request's own task, keep-alives come from the message iterator
    (`KEEPALIVE` chunks, each sent with a timeout: a client that stops reading is dropped),
    one bare asyncio task waits for the client to leave, and the hub ends every stream
    when the server shuts down (`LiveHub._end_streams_on_exit`).
    """

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["method"] == "HEAD":
            await super().__call__(scope, receive, send)
            return
        task = asyncio.current_task()
        assert task is not None
        state = {"done": False, "left": False}

        async def client_left() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            if not state["done"]:
                state["left"] = True
                task.cancel()

        watcher = asyncio.ensure_future(client_left())
        iterator = self.body_iterator
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            async for chunk in iterator:  # type: ignore[union-attr]
                if chunk is KEEPALIVE:
                    try:
                        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
                            await send(
                                {"type": "http.response.body", "body": chunk, "more_body": True}
                            )
                    except TimeoutError:
                        return  # the client stopped reading: it reconnects when it can
                else:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            state["done"] = True
            watcher.cancel()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not state["left"]:
                raise
            task.uncancel()  # the client left: nothing more to do
        finally:
            state["done"] = True
            watcher.cancel()
            with contextlib.suppress(Exception):
                await iterator.aclose()  # type: ignore[attr-defined]


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
    stream: "int | OpenedStream[Any]",
    *,
    render: Renderer | None = None,
    last_seq: int | None = None,
) -> LiveEventSourceResponse:
    """An SSE response of the session's events for this request (see the module docstring):
    `stream` is what `open_stream` returned (or a session id, whose start is then read when
    the stream begins); `render` turns each event into a message, or None to skip it
    (default: the API's JSON)."""
    app: FastAPI = request.app
    if isinstance(stream, OpenedStream):
        session_id, start = stream.start.session_id, stream.start
    else:
        session_id, start = stream, None
    after = last_event_id(request) if last_seq is None else last_seq
    retry = retry_message(random.randint(*RETRY_JITTER_MS))

    keepalive = app.state.live.settings.keepalive_seconds

    async def messages() -> AsyncIterator[bytes]:
        first = True
        # One write per batch: with hundreds of streams, every send costs loop time.
        async for batch in session_event_batches(
            app, session_id, after, start=start, idle_seconds=keepalive
        ):
            if not batch:
                yield KEEPALIVE
                continue
            chunks = []
            for event in batch:
                if event.kind in CONTROL_KINDS:
                    chunks.append(control_message(event, with_id=render is None))
                elif render is None:
                    chunks.append(event.wire)
                else:
                    message = await render(event)
                    if message is not None:
                        chunks.append(message if isinstance(message, bytes) else message.encode())
            if first:  # after the hello, so that it is the value the browser keeps
                chunks.append(retry)
                first = False
            if chunks:
                yield b"".join(chunks)

    return LiveEventSourceResponse(messages(), headers=STREAM_HEADERS)


def retry_message(milliseconds: int) -> bytes:
    """A message that only sets the browser's reconnection delay."""
    return f"retry: {milliseconds}\r\n\r\n".encode()


def control_message(event: LiveEvent, *, with_id: bool) -> bytes:
    """`renew` / `session_deleted` on the wire, with their `retry:` (see the module
    docstring), also in the data as `retry_ms` (scripts cannot read an EventSource's retry);
    the API's streams give them their id like every message, pages' do not."""
    if event.kind == "session_deleted":
        retry = DELETED_RETRY_MS
    elif event.data.get("reason") == "restart":
        retry = random.randint(*RETRY_JITTER_MS)
    else:
        retry = random.randint(*RENEW_RETRY_MS)
    public = event.public()
    public["data"] = {**event.data, "retry_ms": retry}
    data = json.dumps(public, separators=(",", ":"))
    return ServerSentEvent(
        data=data, event=event.kind, id=str(event.seq) if with_id else None, retry=retry
    ).encode()
