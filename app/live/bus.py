"""The event bus: tells every worker process "session X has something new (up to seq N)".

Events themselves live in the `events` table and are replayed from it by seq, so a bus only
has to wake the right readers, and a lost message heals itself: readers also re-read the
table on a periodic safety tick, and after a bus reconnects it wakes every reader.

Interface (`EventBus`):

- `publish(session_id, seq)` on the event loop, or `publish_threadsafe({session_id: seq})`
  from any thread (the after-commit hook runs in the request's worker thread); `seq` is
  `GONE` when the session was deleted;
- `with bus.watch(session_id) as watch: await watch.wait(timeout)` → True when something new
  was announced since the watcher last caught up (`watch.seen = seq` after reading).

Implementations, chosen by `make_bus` from the settings: `InProcessBus` (one process, SQLite),
`PostgresBus` (LISTEN/NOTIFY) and `RedisBus` (pub/sub). Remote buses deliver to their own
process at once and send a small "session:seq" payload to the others.
"""

import asyncio
import contextlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from app.config import Settings

logger = logging.getLogger(__name__)

CHANNEL = "policylab_events"
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more; stay well below.
MAX_PAYLOAD = 7000
HEALTH_CHECK_SECONDS = 10.0
HEALTH_CHECK_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5
# The seq announced for a deleted session: readers look and find it gone.
GONE = -1


class Watch:
    """A waiter for news about one session; `seen` is the seq its owner has caught up to."""

    def __init__(self, session_id: int) -> None:
        self.session_id = session_id
        self.seen = 0
        self._news = asyncio.Event()

    def notify(self, seq: int | None) -> None:
        """Something up to `seq` exists (None: maybe something, look anyway; `GONE`: the
        session was deleted)."""
        if seq is None or seq == GONE or seq > self.seen:
            self._news.set()

    async def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds; True if news arrived (and consume it)."""
        if not self._news.is_set():
            try:
                await asyncio.wait_for(self._news.wait(), timeout)
            except TimeoutError:
                return False
        self._news.clear()
        return True


class EventBus(ABC):
    """Says "something new in session X" to every process; see the module docstring."""

    name = "bus"

    def __init__(self) -> None:
        self._watches: dict[int, set[Watch]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Bind to the running event loop and connect."""
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        """Disconnect; publishing afterwards does nothing."""
        self._loop = None

    def publish(self, session_id: int, seq: int) -> None:
        """Announce `seq` of `session_id` to this process and the others (event loop only)."""
        self._deliver(session_id, seq)
        self._send(session_id, seq)

    def publish_threadsafe(self, pending: dict[int, int]) -> None:
        """`publish` each session id → seq, from any thread (never blocks the caller)."""
        loop = self._loop
        if loop is None or not pending:
            return
        # RuntimeError: the loop closed while we were committing, so nobody here listens.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._publish_many, dict(pending))

    def _publish_many(self, pending: dict[int, int]) -> None:
        for session_id, seq in pending.items():
            self.publish(session_id, seq)

    @contextlib.contextmanager
    def watch(self, session_id: int) -> Iterator[Watch]:
        """Register a `Watch` on a session for the duration of the block."""
        watch = Watch(session_id)
        self._watches.setdefault(session_id, set()).add(watch)
        try:
            yield watch
        finally:
            watches = self._watches.get(session_id)
            if watches is not None:
                watches.discard(watch)
                if not watches:
                    del self._watches[session_id]

    def _deliver(self, session_id: int, seq: int | None) -> None:
        for watch in self._watches.get(session_id, ()):
            watch.notify(seq)

    def _wake_all(self) -> None:
        """Messages may have been lost (a reconnect): make every watcher look again."""
        for watches in self._watches.values():
            for watch in watches:
                watch.notify(None)

    @abstractmethod
    def _send(self, session_id: int, seq: int) -> None:
        """Tell the other processes (nothing to do for a single process)."""


class InProcessBus(EventBus):
    """One process only (SQLite with one worker, tests)."""

    name = "memory"

    def _send(self, session_id: int, seq: int) -> None:
        return None


def encode_payloads(batch: dict[int, int]) -> list[str]:
    """ "session:seq" pairs joined by commas, split so that no payload exceeds MAX_PAYLOAD."""
    payloads: list[str] = []
    current: list[str] = []
    size = 0
    for session_id, seq in batch.items():
        item = f"{session_id}:{seq}"
        if current and size + len(item) + 1 > MAX_PAYLOAD:
            payloads.append(",".join(current))
            current, size = [], 0
        current.append(item)
        size += len(item) + 1
    if current:
        payloads.append(",".join(current))
    return payloads


def decode_payload(payload: str | bytes) -> list[tuple[int, int]]:
    """The (session id, seq) pairs of a payload; malformed items are skipped."""
    text = payload.decode() if isinstance(payload, bytes) else payload
    pairs = []
    for item in text.split(","):
        session_id, _, seq = item.partition(":")
        with contextlib.suppress(ValueError):
            pairs.append((int(session_id), int(seq)))
    return pairs


class _Backoff:
    """Reconnect delays: 0.2 s doubling up to 10 s, back to the start after a success."""

    def __init__(self) -> None:
        self.delay = 0.2

    def reset(self) -> None:
        self.delay = 0.2

    async def sleep(self) -> None:
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, 10.0)


class RemoteBus(EventBus):
    """Shared machinery of the cross-process buses: a coalescing sender and a receiver that
    reconnects, health-checks its connection and wakes every watcher after a reconnect."""

    def __init__(self) -> None:
        super().__init__()
        self._outbox: dict[int, int] = {}
        self._outbox_ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = asyncio.Event()

    async def start(self) -> None:
        await super().start()
        self._tasks = [
            asyncio.create_task(self._sender_loop(), name=f"{self.name}-bus-sender"),
            asyncio.create_task(self._receiver_loop(), name=f"{self.name}-bus-receiver"),
        ]

    async def stop(self) -> None:
        await super().stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            # Cancel again until it ends: before Python 3.12, asyncio.wait_for swallows a
            # cancellation that arrives as what it waits for finishes (CPython gh-86296), and
            # the sender would then wait for news forever, and the app's shutdown with it.
            for _ in range(100):
                await asyncio.wait([task], timeout=0.05)
                if task.done():
                    break
                task.cancel()
            else:
                logger.warning("%s bus: a task did not stop", self.name)
                continue
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self._close_sender()

    async def wait_listening(self, timeout: float) -> bool:
        """True once the receiver is subscribed (startup, tests)."""
        try:
            await asyncio.wait_for(self.listening.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def _send(self, session_id: int, seq: int) -> None:
        self._merge(session_id, seq)
        self._outbox_ready.set()

    def _merge(self, session_id: int, seq: int) -> None:
        # Coalesced: a burst of events in one session becomes one message with the last seq;
        # once a session is gone, it stays gone.
        queued = self._outbox.get(session_id, 0)
        self._outbox[session_id] = GONE if GONE in (seq, queued) else max(seq, queued)

    def _receive(self, payload: str | bytes) -> None:
        for session_id, seq in decode_payload(payload):
            self._deliver(session_id, seq)

    async def _sender_loop(self) -> None:
        backoff = _Backoff()
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            batch, self._outbox = self._outbox, {}
            try:
                for payload in encode_payloads(batch):
                    await asyncio.wait_for(self._send_payload(payload), HEALTH_CHECK_TIMEOUT)
                backoff.reset()
            except Exception as exc:  # the connection is gone: keep the news, reconnect
                logger.warning("%s bus: publishing failed (%s); retrying", self.name, exc)
                for session_id, seq in batch.items():
                    self._merge(session_id, seq)
                await self._close_sender()
                await backoff.sleep()
                self._outbox_ready.set()

    async def _receiver_loop(self) -> None:
        backoff = _Backoff()
        while True:
            started = time.monotonic()
            try:
                await self._listen()
            except Exception as exc:
                logger.warning("%s bus: listener lost (%s); reconnecting", self.name, exc)
            finally:
                self.listening.clear()
            if time.monotonic() - started > 60:
                backoff.reset()
            await backoff.sleep()

    def _on_listening(self) -> None:
        self.listening.set()
        # Whatever was sent while we were not subscribed is in the table: look again.
        self._wake_all()

    @abstractmethod
    async def _send_payload(self, payload: str) -> None:
        """Send one payload to every process, (re)connecting as needed."""

    @abstractmethod
    async def _close_sender(self) -> None:
        """Drop the sending connection (it is reopened on the next send)."""

    @abstractmethod
    async def _listen(self) -> None:
        """Subscribe and deliver until the connection fails its health check (raise)."""


class PostgresBus(RemoteBus):
    """LISTEN/NOTIFY on a dedicated connection per direction; payloads carry only ids."""

    name = "postgres"

    def __init__(self, conninfo: str) -> None:
        super().__init__()
        self._conninfo = conninfo
        self._sender: Any = None

    async def _connect(self) -> Any:
        import psycopg

        # Keepalives make the kernel notice a peer that vanished without a FIN (asyncpg #519
        # describes the failure mode); the SELECT 1 health check covers the rest.
        return await psycopg.AsyncConnection.connect(
            self._conninfo,
            autocommit=True,
            prepare_threshold=None,
            connect_timeout=CONNECT_TIMEOUT,
            keepalives=1,
            keepalives_idle=30,
            keepalives_interval=10,
            keepalives_count=3,
            application_name="policylab-bus",
        )

    async def _send_payload(self, payload: str) -> None:
        if self._sender is None or self._sender.closed:
            self._sender = await self._connect()
        await self._sender.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload))

    async def _close_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sender.close(), HEALTH_CHECK_TIMEOUT)

    async def _listen(self) -> None:
        connection = await self._connect()
        try:
            await connection.execute(f"LISTEN {CHANNEL}")
            self._on_listening()
            while True:
                async for notify in connection.notifies(timeout=HEALTH_CHECK_SECONDS):
                    self._receive(notify.payload)
                await asyncio.wait_for(connection.execute("SELECT 1"), HEALTH_CHECK_TIMEOUT)
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), HEALTH_CHECK_TIMEOUT)


class RedisBus(RemoteBus):
    """Redis pub/sub (at-most-once, which is all a wake-up needs)."""

    name = "redis"

    def __init__(self, url: str) -> None:
        super().__init__()
        self._url = url
        self._sender: Any = None

    def _client(self, **options: Any) -> Any:
        import redis.asyncio

        return redis.asyncio.Redis.from_url(
            self._url, socket_connect_timeout=CONNECT_TIMEOUT, socket_keepalive=True, **options
        )

    async def _send_payload(self, payload: str) -> None:
        if self._sender is None:
            self._sender = self._client(socket_timeout=HEALTH_CHECK_TIMEOUT)
        await self._sender.publish(CHANNEL, payload)

    async def _close_sender(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sender.aclose(), HEALTH_CHECK_TIMEOUT)

    async def _listen(self) -> None:
        client = self._client()
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(CHANNEL)
            last_heard = time.monotonic()
            while True:
                message = await pubsub.get_message(timeout=HEALTH_CHECK_SECONDS)
                if message is None:
                    # A silent peer is not detected by TCP for minutes: ping, and give up on
                    # the connection when pongs stop coming back.
                    if time.monotonic() - last_heard > HEALTH_CHECK_SECONDS * 2.5:
                        raise ConnectionError("redis stopped answering pings")
                    await asyncio.wait_for(pubsub.ping(), HEALTH_CHECK_TIMEOUT)
                    continue
                last_heard = time.monotonic()
                if message["type"] == "subscribe":
                    self._on_listening()
                elif message["type"] == "message":
                    self._receive(message["data"])
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pubsub.aclose(), HEALTH_CHECK_TIMEOUT)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.aclose(), HEALTH_CHECK_TIMEOUT)


def make_bus(settings: Settings) -> EventBus:
    """The bus the settings ask for (`event_bus`, default auto: Redis when `redis_url` is
    set, LISTEN/NOTIFY on PostgreSQL, else in-process)."""
    choice = settings.event_bus
    if choice == "auto":
        if settings.redis_url:
            choice = "redis"
        elif not settings.is_sqlite:
            choice = "postgres"
        else:
            choice = "memory"
    if choice == "redis":
        if not settings.redis_url:
            raise ValueError("POLICYLAB_EVENT_BUS=redis needs POLICYLAB_REDIS_URL")
        return RedisBus(settings.redis_url)
    if choice == "postgres":
        if settings.is_sqlite:
            raise ValueError("POLICYLAB_EVENT_BUS=postgres needs a PostgreSQL database_url")
        return PostgresBus(libpq_url(settings.database_url))
    return InProcessBus()


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL without its `+driver` part, as libpq wants it."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)
