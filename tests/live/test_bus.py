"""The event bus: payloads, the in-process bus, and round trips through PostgreSQL
LISTEN/NOTIFY and Redis pub/sub (including a listener that loses its connection)."""

import asyncio
import os
from collections.abc import AsyncIterator, Callable

import psycopg
import pytest

from app.config import Settings
from app.live.bus import (
    MAX_PAYLOAD,
    EventBus,
    InProcessBus,
    PostgresBus,
    RedisBus,
    RemoteBus,
    decode_payload,
    encode_payloads,
    libpq_url,
    make_bus,
)
from tests.conftest import POSTGRES_URL
from tests.live.conftest import REDIS_URL

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_payloads_carry_only_ids_and_stay_under_the_notify_limit() -> None:
    batch = {session_id: session_id * 1000 + 7 for session_id in range(1, 3000)}
    payloads = encode_payloads(batch)
    assert len(payloads) > 1
    assert all(len(p.encode()) <= MAX_PAYLOAD < 8000 for p in payloads)
    decoded = [pair for p in payloads for pair in decode_payload(p)]
    assert dict(decoded) == batch
    assert decode_payload(b"12:5,junk,7:x,3:4") == [(12, 5), (3, 4)]


def test_the_bus_follows_the_settings() -> None:
    sqlite = Settings(database_url="sqlite:///x.db")
    postgres = Settings(database_url="postgresql+psycopg://u:p%40ss@db:5432/lab")
    assert isinstance(make_bus(sqlite), InProcessBus)
    assert isinstance(make_bus(postgres), PostgresBus)
    assert isinstance(make_bus(sqlite.model_copy(update={"redis_url": "redis://r"})), RedisBus)
    assert isinstance(make_bus(postgres.model_copy(update={"event_bus": "memory"})), InProcessBus)
    with pytest.raises(ValueError):
        make_bus(sqlite.model_copy(update={"event_bus": "postgres"}))
    assert libpq_url(postgres.database_url) == "postgresql://u:p%40ss@db:5432/lab"


async def test_a_watch_wakes_only_for_news_it_has_not_seen() -> None:
    bus = InProcessBus()
    await bus.start()
    try:
        with bus.watch(1) as watch, bus.watch(2) as other:
            assert await watch.wait(0.05) is False
            bus.publish(1, 3)
            assert await watch.wait(1) is True
            assert await other.wait(0.05) is False
            watch.seen = 3
            bus.publish(1, 3)  # an echo of what the watcher has already read
            assert await watch.wait(0.05) is False
            await asyncio.to_thread(bus.publish_threadsafe, {1: 4, 2: 1})
            assert await watch.wait(1) is True and await other.wait(1) is True
        assert bus._watches == {}
    finally:
        await bus.stop()
    bus.publish_threadsafe({1: 9})  # a stopped bus ignores late commits


async def test_stopping_ends_the_bus_even_when_a_send_finishes_at_that_moment() -> None:
    """Before Python 3.12, asyncio.wait_for swallows a cancellation that arrives as the send it
    waits for finishes (CPython gh-86296): the sender then waited for news forever, and so did
    the app's shutdown (seen as a test suite that hung in a client's teardown)."""
    sent = asyncio.get_running_loop().create_future()
    sending = asyncio.Event()

    class Bus(RemoteBus):
        name = "test"

        async def _send_payload(self, payload: str) -> None:
            sending.set()
            await sent

        async def _close_sender(self) -> None:
            return None

        async def _listen(self) -> None:
            await asyncio.Event().wait()

    bus = Bus()
    await bus.start()
    bus.publish(1, 1)
    await sending.wait()
    tasks = list(bus._tasks)
    loop = asyncio.get_running_loop()
    started = loop.time()
    # A stop that hangs is released after 5 s by cancelling its tasks once more.
    watchdog = loop.call_later(5, lambda: [task.cancel() for task in tasks])
    sent.set_result(None)  # the send finishes in the same turn of the loop as stop() cancels
    await bus.stop()
    watchdog.cancel()
    assert loop.time() - started < 5, "stop() waited for the sender until the watchdog"
    assert all(task.done() for task in tasks)


@pytest.fixture
async def bus_pair(request: pytest.FixtureRequest) -> AsyncIterator[tuple[RemoteBus, RemoteBus]]:
    """Two buses of one kind, as two worker processes would have them."""
    factory: Callable[[], RemoteBus] = request.param
    buses = [factory(), factory()]
    for bus in buses:
        await bus.start()
    try:
        for bus in buses:
            assert await bus.wait_listening(10), f"{bus.name} bus did not start listening"
        yield buses[0], buses[1]
    finally:
        for bus in buses:
            await bus.stop()


def postgres_bus() -> RemoteBus:
    assert POSTGRES_URL
    return PostgresBus(libpq_url(POSTGRES_URL))


def redis_bus() -> RemoteBus:
    assert REDIS_URL
    return RedisBus(REDIS_URL)


needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="needs POLICYLAB_TEST_DATABASE_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs POLICYLAB_TEST_REDIS_URL")
REMOTE_BUSES = [
    pytest.param(postgres_bus, id="postgres", marks=[pytest.mark.postgres, needs_postgres]),
    pytest.param(redis_bus, id="redis", marks=needs_redis),
]


@pytest.mark.parametrize("bus_pair", REMOTE_BUSES, indirect=True)
async def test_a_publish_in_one_process_wakes_the_watchers_of_another(
    bus_pair: tuple[EventBus, EventBus],
) -> None:
    sender, receiver = bus_pair
    session_id = 900_000 + os.getpid()  # no clash with another test run on the same server
    with receiver.watch(session_id) as watch, sender.watch(session_id) as local:
        heard: list[int | None] = []
        notify = watch.notify

        def hear(seq: int | None) -> None:
            heard.append(seq)
            notify(seq)

        watch.notify = hear  # type: ignore[method-assign]
        sender.publish(session_id, 5)
        assert await local.wait(1) is True  # its own process hears it at once
        assert await watch.wait(5) is True
        watch.seen = 5
        for seq in range(6, 30):
            sender.publish(session_id, seq)
        assert await watch.wait(5) is True
        deadline = asyncio.get_running_loop().time() + 5
        while 29 not in heard:  # coalesced or not, the last seq arrives
            assert asyncio.get_running_loop().time() < deadline, f"heard only {heard}"
            await watch.wait(0.05)
        watch.seen = 29
        await watch.wait(0)  # news that came before it caught up
        assert await watch.wait(0.3) is False


@needs_postgres
@pytest.mark.postgres
async def test_a_dropped_listen_connection_is_reconnected() -> None:
    receiver, sender = postgres_bus(), postgres_bus()
    await receiver.start()
    await sender.start()
    try:
        assert await receiver.wait_listening(10) and await sender.wait_listening(10)
        session_id = 800_000 + os.getpid()
        with receiver.watch(session_id) as watch:
            watch.seen = 10
            # The database drops every bus connection (failover, idle killer, restart …).
            async with await psycopg.AsyncConnection.connect(
                libpq_url(POSTGRES_URL or ""), autocommit=True
            ) as admin:
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'policylab-bus' AND datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
            # After reconnecting the listener wakes everyone: news may have been lost.
            assert await watch.wait(15) is True
            assert await receiver.wait_listening(10)
            sender.publish(session_id, 11)  # the sender reconnects too
            assert await watch.wait(15) is True
    finally:
        await receiver.stop()
        await sender.stop()
