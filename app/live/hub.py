"""The live machinery of one process: the bus, one feed per watched session, the
after-commit hook that publishes, and the pruning of old events.

A `SessionFeed` is the only reader of the events table for its session in this process: it
waits on the bus (or the safety tick), reads the new rows once in a short read-only database
session, and hands the same `LiveEvent` objects to every subscriber's bounded queue. So a
room of 300 clients costs one query per change, not 300, and no stream holds a database
session while it waits. When the session is deleted (the bus says `GONE`, or a read finds
the row missing), every subscriber is told at once (`Subscription.gone`) and the feed stops.

Database reads go through two small limiters of their own, apart from the requests' thread
pool and connections: `read` (fan-out, page fragments) and `open_read` (authenticating and
starting a stream), so a storm of reconnecting streams queues among itself.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import object_session
from sqlmodel import Session, select
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.config import Settings
from app.db import LIVE_READS, STREAM_OPENS, open_session
from app.live import service
from app.live.bus import GONE, EventBus, RemoteBus, make_bus
from app.live.models import Event
from app.models_base import utcnow
from app.sessions.models import WorkshopSession

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Events a subscriber may have waiting before it counts as too slow and is dropped (its
# client reconnects with Last-Event-ID and replays from the table).
QUEUE_LIMIT = 1000
READ_BATCH = 500
# From this many streams on a session, wait a moment after news before reading, so that
# events arriving together are fanned out together (adds at most that to fan-out latency):
# 0.1 ms per stream, from 30 ms up to 150 ms. Profiled with 1,000 streams and 30 events/s,
# the event loop was saturated by socket writes (one per stream per batch, 30 µs each on the
# loaded machine); three events per write instead of one leave it time for everything else.
COALESCE_FROM = 100
COALESCE_SECONDS = 0.03
COALESCE_PER_STREAM = 0.0001
COALESCE_MAX_SECONDS = 0.15
# Streams woken at a time when a feed fans events out (see SessionFeed._catch_up).
FANOUT_SLICE = 100
# How long a browser waits before reconnecting after a stream ends (milliseconds); streams
# send their own value from `RETRY_JITTER_MS` (see app.live.stream).
RETRY_MS = 2000
PRUNE_EVERY_SECONDS = 600.0


@dataclass(frozen=True, eq=False)
class LiveEvent:
    """One event as streams see it. The objects are shared by every subscriber of a session
    in this process, so a renderer may memoise per (`seq`, variant)."""

    seq: int
    kind: str
    data: dict[str, Any]
    at: datetime

    @classmethod
    def from_row(cls, row: Event) -> "LiveEvent":
        return cls(
            seq=row.seq, kind=row.kind, data=dict(row.data), at=service.as_utc(row.created_at)
        )

    @classmethod
    def control(cls, seq: int, kind: str, **data: Any) -> "LiveEvent":
        """An event made by the stream itself (`hello`, `reset`, `renew`, `session_deleted`),
        at `seq` = where the stream stands."""
        return cls(seq=seq, kind=kind, data=data, at=utcnow())

    def public(self) -> dict[str, Any]:
        """The wire shape `{seq, kind, data, at}`."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "data": self.data,
            "at": self.at.isoformat(timespec="milliseconds"),
        }

    @cached_property
    def json(self) -> str:
        """`public()` as compact JSON, encoded once however many clients receive it."""
        return json.dumps(self.public(), separators=(",", ":"), ensure_ascii=False)

    @cached_property
    def wire(self) -> bytes:
        """The API's SSE message: `id: <seq>`, `event: <kind>`, `data: <json>`."""
        return ServerSentEvent(data=self.json, event=self.kind, id=str(self.seq)).encode()


def coalesce_seconds(streams: int) -> float:
    """How long a feed with this many streams gathers news before reading (see above)."""
    return min(COALESCE_MAX_SECONDS, max(COALESCE_SECONDS, streams * COALESCE_PER_STREAM))


def read_events(db: Session, session_id: int, after_seq: int, limit: int) -> list[LiveEvent]:
    """`service.events_after` as `LiveEvent`s, usable after the database session is closed."""
    return [
        LiveEvent.from_row(row) for row in service.events_after(db, session_id, after_seq, limit)
    ]


def newest_seq(db: Session, session_id: int) -> int | None:
    """The session's newest event seq, or None when the session no longer exists."""
    value = db.exec(
        select(WorkshopSession.last_event_seq).where(WorkshopSession.id == session_id)
    ).first()
    return None if value is None else int(value)


def read_news(
    db: Session, session_id: int, after_seq: int, limit: int
) -> tuple[int | None, list[LiveEvent]]:
    """(newest seq or None when the session is gone, up to `limit` events after `after_seq`);
    a primary-key lookup only, when nothing is new."""
    newest = newest_seq(db, session_id)
    if newest is None or newest <= after_seq:
        return newest, []
    return newest, read_events(db, session_id, after_seq, limit)


class Subscription:
    """One client's bounded queue of events from a feed; closed once the client is too far
    behind (`dropped`), its stream has lived long enough (`expired`) or the session was
    deleted (`gone`). `joined_at`: the feed's cursor when it joined; every later event is
    pushed to it, earlier ones are in the table."""

    def __init__(self, limit: int = QUEUE_LIMIT) -> None:
        self.limit = limit
        self.dropped = False
        self.expired = False
        self.gone = False
        self.joined_at = 0
        self.expired_because = "lifetime"
        self._items: list[LiveEvent] = []
        # A bare future per wait and one timer per stream: this runs once per client per event,
        # so it avoids wait_for (a task and a timeout per call).
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def closed(self) -> bool:
        return self.dropped or self.expired or self.gone

    def push(self, events: list[LiveEvent]) -> bool:
        """Queue events; False (and `dropped`) when the client is too far behind."""
        if self.dropped:
            return False
        if len(self._items) + len(events) > self.limit:
            self.dropped = True
            self._items.clear()
        else:
            self._items.extend(events)
        self._wake()
        return not self.dropped

    def expire_after(self, seconds: float) -> None:
        """Close the subscription `seconds` from now (the stream's lifetime cap)."""
        self._timer = asyncio.get_running_loop().call_later(seconds, self._expire)

    async def get(self, timeout: float | None = None) -> list[LiveEvent]:
        """Everything queued, waiting until there is something or the subscription closes
        (or `timeout` seconds have passed: then maybe nothing)."""
        if not self._items and not self.closed:
            loop = asyncio.get_running_loop()
            self._waiter = loop.create_future()
            wake = None if timeout is None else loop.call_later(timeout, self._wake)
            try:
                await self._waiter
            finally:
                self._waiter = None
                if wake is not None:
                    wake.cancel()
        items, self._items = self._items, []
        return items

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def mark_gone(self) -> None:
        """The session was deleted: wake the stream so it can say so and end."""
        self.gone = True
        self._wake()

    def _expire(self, reason: str = "lifetime") -> None:
        self.expired = True
        self.expired_because = reason
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class SessionFeed:
    """Reads one session's new events (on bus news or the safety tick) and fans them out."""

    def __init__(self, hub: "LiveHub", session_id: int) -> None:
        self.hub = hub
        self.session_id = session_id
        self.cursor = 0
        self.gone = False
        self.subscribers: set[Subscription] = set()
        self._ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(self._run(), name=f"live-feed-{session_id}")

    async def ready(self) -> None:
        """Wait until the feed knows where the session's events stand."""
        await asyncio.shield(self._ready)

    async def _run(self) -> None:
        # The watch is registered before the first read, so nothing published in between is
        # missed; subscribers register only after that read, so they miss nothing either.
        with self.hub.bus.watch(self.session_id) as watch:
            try:
                newest = await self.hub.read(newest_seq, self.session_id)
            except Exception as exc:
                self._ready.set_exception(exc)
                raise
            if newest is None:
                self.gone = True
                self._ready.set_result(None)
                return
            self.cursor = watch.seen = newest
            self._ready.set_result(None)
            poll = self.hub.settings.event_poll_seconds
            while not self.gone:
                streams = len(self.subscribers)
                if await watch.wait(poll) and streams >= COALESCE_FROM:
                    # Every event costs loop time per stream; in a big room, wait a moment
                    # so that a burst goes out as one write per stream instead of several.
                    await asyncio.sleep(coalesce_seconds(streams))
                try:
                    await self._catch_up()
                except Exception:
                    logger.exception("live feed %s: reading events failed", self.session_id)
                    await asyncio.sleep(min(poll, 1.0))
                watch.seen = self.cursor

    async def _catch_up(self) -> None:
        while True:
            newest, events = await self.hub.read(
                read_news, self.session_id, self.cursor, READ_BATCH
            )
            # A newest seq below what was already read: the row is another session's that
            # took over a deleted one's id (SQLite reuses the highest id).
            if newest is None or newest < self.cursor:
                self._session_gone()
                return
            if not events:
                return
            self.cursor = events[-1].seq
            subscribers = list(self.subscribers)
            for start in range(0, len(subscribers), FANOUT_SLICE):
                if start:
                    # Let the streams woken so far write, and other requests take their
                    # turn, before waking the next slice: a room of 1,000 must not hold up
                    # a contribution being submitted for the whole fan-out.
                    await asyncio.sleep(0)
                for subscriber in subscribers[start : start + FANOUT_SLICE]:
                    if not subscriber.push(events):
                        self.subscribers.discard(subscriber)
            if len(events) < READ_BATCH:
                return

    def _session_gone(self) -> None:
        self.gone = True
        for subscriber in self.subscribers:
            subscriber.mark_gone()

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task


class LiveHub:
    """Per-process owner of the bus and the feeds; `app.state.live`."""

    def __init__(self, engine: Engine, settings: Settings, bus: EventBus | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.bus = bus or make_bus(settings)
        self.feeds: dict[int, SessionFeed] = {}
        self.queue_limit = QUEUE_LIMIT
        self._limiter: anyio.CapacityLimiter | None = None
        self._open_limiter: anyio.CapacityLimiter | None = None
        self._prune_task: asyncio.Task[None] | None = None
        self._exit_task: asyncio.Task[None] | None = None
        self.started = False

    async def start(self) -> None:
        """Connect the bus, start pruning, and receive this engine's commits."""
        # Stream reads get their own small share of threads, so a burst of requests filling
        # the route thread pool does not delay fan-out (and vice versa).
        self._limiter = anyio.CapacityLimiter(LIVE_READS)
        self._open_limiter = anyio.CapacityLimiter(STREAM_OPENS)
        await self.bus.start()
        if isinstance(self.bus, RemoteBus) and not await self.bus.wait_listening(5.0):
            logger.warning(
                "%s bus is not listening yet; streams fall back to polling", self.bus.name
            )
        self._prune_task = asyncio.create_task(self._prune_loop(), name="live-prune")
        self._exit_task = asyncio.create_task(self._end_streams_on_exit(), name="live-exit")
        _hubs.append(self)
        self.started = True

    async def stop(self) -> None:
        """Stop feeds, pruning and the bus."""
        self.started = False
        with contextlib.suppress(ValueError):
            _hubs.remove(self)
        for task in (self._prune_task, self._exit_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for feed in list(self.feeds.values()):
            await feed.stop()
        self.feeds.clear()
        await self.bus.stop()

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(db, *args)` in a short read-only database session, off the event loop."""

        def work() -> T:
            with open_session(self.engine, read_only=True) as db:
                return fn(db, *args)

        return await anyio.to_thread.run_sync(work, limiter=self._limiter)

    async def open_read(self, fn: Callable[..., T], *args: Any) -> T:
        """`read` for opening streams: `STREAM_OPENS` at a time, so that a room reconnecting
        at once (a server restart, the venue's Wi-Fi back) queues here, without a thread or
        a connection, instead of taking those the rest of the service needs."""

        def work() -> T:
            with open_session(self.engine, read_only=True) as db:
                return fn(db, *args)

        return await anyio.to_thread.run_sync(work, limiter=self._open_limiter)

    @contextlib.asynccontextmanager
    async def subscribe(self, session_id: int) -> AsyncIterator[Subscription]:
        """A queue receiving every event of the session after `joined_at` (the feed's cursor
        when it joined); `gone` at once if the session no longer exists."""
        feed = self.feeds.get(session_id)
        if feed is None or (feed.gone and not feed.subscribers):
            feed = self.feeds[session_id] = SessionFeed(self, session_id)
        subscription = Subscription(limit=self.queue_limit)
        try:
            await feed.ready()
            subscription.joined_at = feed.cursor
            feed.subscribers.add(subscription)
            if feed.gone:
                subscription.mark_gone()
            yield subscription
        finally:
            subscription.close()
            feed.subscribers.discard(subscription)
            if not feed.subscribers and self.feeds.get(session_id) is feed:
                del self.feeds[session_id]
                await feed.stop()

    def published(self, pending: dict[int, int]) -> None:
        """Hand committed session ids → seqs (`GONE`: deleted) to the bus (from any thread)."""
        self.bus.publish_threadsafe(pending)

    async def prune(self) -> int:
        """Delete old events by the documented rule (see `service.prune_events`)."""

        def work() -> int:
            with open_session(self.engine) as db:
                deleted = service.prune_events(
                    db,
                    retention_hours=self.settings.event_retention_hours,
                    keep_last=self.settings.event_keep_last,
                )
                db.commit()
                return deleted

        return await anyio.to_thread.run_sync(work, limiter=self._limiter)

    def end_streams(self, reason: str) -> None:
        """End every stream of this process as planned (`renew` with `reason`)."""
        for feed in self.feeds.values():
            for subscriber in feed.subscribers:
                subscriber._expire(reason)

    async def _end_streams_on_exit(self) -> None:
        # The server is shutting down (SIGTERM, a restart): streams would keep it waiting for
        # their lifetime cap. They end now with `renew`, whose jittered retry spreads the
        # room's reconnects. sse-starlette's watcher of uvicorn's exit flag tells us when.
        await EventSourceResponse._listen_for_exit_signal()
        self.end_streams("restart")

    async def _prune_loop(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY_SECONDS)
            try:
                deleted = await self.prune()
                if deleted:
                    logger.info("pruned %d old events", deleted)
            except Exception:
                logger.exception("pruning events failed")


# --- publishing after commit ---------------------------------------------------------------

_hubs: list[LiveHub] = []


def _hubs_for(db: Session) -> list[LiveHub]:
    try:
        bind = db.get_bind()
    except Exception:
        return []
    # Read-only sessions are bound to an execution-options copy of the engine, which shares
    # its URL; several apps on one database in one process (tests) all want to know.
    url = bind.engine.url if isinstance(bind, Connection) else bind.url
    return [hub for hub in _hubs if hub.engine.url == url]


# db.info key: ids of the sessions deleted in the open transaction (announced as `GONE`).
DELETED_KEY = "policylab_deleted_sessions"


def _session_deleted(_mapper: Any, _connection: Any, target: WorkshopSession) -> None:
    db = object_session(target)
    if db is not None and target.id is not None:
        db.info.setdefault(DELETED_KEY, set()).add(target.id)


def _take_pending(db: Session) -> dict[int, int]:
    pending = service.take_pending(db)
    for session_id in db.info.pop(DELETED_KEY, ()):
        pending[session_id] = GONE
    return pending


def _after_commit(db: Session) -> None:
    if db.in_nested_transaction():  # a SAVEPOINT released: the real commit is still to come
        return
    pending = _take_pending(db)
    if pending:
        for hub in _hubs_for(db):
            hub.published(pending)


def _after_rollback(db: Session) -> None:
    if db.in_nested_transaction():  # a SAVEPOINT rolled back: the outer changes still count
        return
    _take_pending(db)


def _after_transaction_end(db: Session, transaction: Any) -> None:
    # A session closed without commit or rollback must not publish on its next commit.
    if transaction.parent is None:
        _take_pending(db)


def install_commit_hook() -> None:
    """Publish recorded events after (and only after) their transaction commits."""
    for name, listener in (
        ("after_commit", _after_commit),
        ("after_rollback", _after_rollback),
        ("after_transaction_end", _after_transaction_end),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
    # Deleting a session (the facilitator, or the retention purge) tells its open streams.
    if not event.contains(WorkshopSession, "after_delete", _session_deleted):
        event.listen(WorkshopSession, "after_delete", _session_deleted)
