"""Database plumbing: engine, one unit of work per request, migrations."""

import asyncio
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
from alembic import command
from alembic.config import Config
from fastapi import Depends, Request
from sqlalchemy import Engine, event
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
READ_ONLY = "policylab_read_only"


# Database sessions a process may have open at once, and who takes them: requests
# (`REQUEST_SESSIONS`, see DbDep), the live hub's reads (`LIVE_READS`: fan-out and page
# fragments), stream opens (`STREAM_OPENS`), and a few for background work (pruning,
# purging). The pool holds more than their sum, so nobody admitted waits for a connection.
LIVE_READS = 8
STREAM_OPENS = 4
POOL_CONNECTIONS = 40


def make_engine(url: str) -> Engine:
    """An engine tuned for the backend: WAL + BEGIN IMMEDIATE on SQLite, a pool on PostgreSQL."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=20,
            max_overflow=POOL_CONNECTIONS - 20,
        )
        _configure_sqlite(engine)
        return engine
    # Connections beyond pool_size are closed when returned: PostgreSQL's connection limit is
    # shared by every worker process.
    return create_engine(url, pool_size=10, max_overflow=POOL_CONNECTIONS - 10, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling issues a deferred BEGIN, which makes a
    # read-then-write transaction fail at once with "database is locked" when another
    # writer is active; SQLAlchemy's documented recipe takes over BEGIN ourselves.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


_read_only_binds: "weakref.WeakKeyDictionary[Engine, Engine]" = weakref.WeakKeyDictionary()


def open_session(engine: Engine, *, read_only: bool = False) -> Session:
    """A database session; read-only ones take no write lock on SQLite."""
    bind = engine
    if read_only:
        # One execution-options copy per engine: making one per session costs more than the
        # session itself.
        bind = _read_only_binds.get(engine)  # type: ignore[assignment]
        if bind is None:
            bind = _read_only_binds[engine] = engine.execution_options(**{READ_ONLY: True})
    return Session(bind, expire_on_commit=False)


def _finish(db: Session, commit: bool) -> None:
    try:
        if commit:
            db.commit()
        else:
            db.rollback()
    finally:
        db.close()


def _abort(db: Session) -> None:
    try:
        db.rollback()
    finally:
        db.close()


async def get_db(request: Request) -> AsyncIterator[Session]:
    """The request's unit of work: commit once at the end, or roll everything back.

    Async, because opening a session does no I/O: the request saves a trip through the
    thread pool. The commit or rollback runs in a thread of its own (like FastAPI's own
    teardown of sync dependencies), so it never waits for a busy pool.
    """
    read_only = request.method in ("GET", "HEAD")
    db = open_session(request.app.state.engine, read_only=read_only)
    try:
        yield db
    except BaseException:
        await anyio.to_thread.run_sync(_abort, db, limiter=anyio.CapacityLimiter(1))
        raise
    await anyio.to_thread.run_sync(_finish, db, not read_only, limiter=anyio.CapacityLimiter(1))


# scope="function" makes the commit happen before the response is sent, so a client is
# never told "saved" for a transaction that then failed to commit.
#
# max_concurrency: a request's unit of work holds its pooled connection from its first query
# to its teardown, across several hops through the thread pool (dependencies, route, exit)
# and without a thread in between. Unbounded, a burst of requests deadlocks: measured, 300
# event streams opened at once left all 40 threads waiting in `get_actor` for a connection
# while the 50 connections were held by requests waiting for a thread to run their route, so
# the process answered nothing until the pool's 30 s timeout failed requests with 500. The
# same happens to any burst of ordinary requests (a room reloading its pages after a phase
# change). FastAPI queues requests beyond the limit on the event loop, without a thread, and a
# request admitted here always finds a connection: the pools are sized above the sum of these
# limits (`POOL_CONNECTIONS`).
REQUEST_SESSIONS = 24
DbDep = Annotated[Session, Depends(get_db, scope="function", max_concurrency=REQUEST_SESSIONS)]


class WriteQueue:
    """Pure-ASGI middleware: this process's write requests take turns, in order, before they
    take a worker thread.

    A write request holds a lock from the middle of its unit of work to its commit: SQLite's
    one write lock from its first query (BEGIN IMMEDIATE), PostgreSQL's row lock on the
    session from `record_event`. Committing needs one more hop through the thread pool (the
    `DbDep` teardown). When more requests wait on that lock than the pool has threads, the
    holder never gets a thread to commit, and the process stalls: measured, 200 contributions
    sent at once to one session left 162 unanswered after 60 s on PostgreSQL; 300 open event
    streams and 30 submissions/s on SQLite stalled for busy_timeout (30 s) and answered 500.
    Taking turns first costs little (the writes to a session are serial anyway, and each
    worker process has its own queue) and SQLite's busy handler, which polls with sleeps of
    up to 100 ms, no longer decides the order. `concurrency` requests hold a turn at once
    (keep it well below the thread pool's 40). A turn ends when the response starts: the
    unit of work has committed by then (see `DbDep`). The request body is read before the
    turn is taken, so a slow upload (a phone on bad Wi-Fi, or someone trickling bytes on
    purpose) does not hold up everybody's writes; bodies are capped by SecurityMiddleware.
    """

    def __init__(self, app: Any, *, concurrency: int = 1) -> None:
        self.app = app
        self._turn = asyncio.Semaphore(concurrency)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)

        async def replay() -> Any:
            return body.pop(0) if body else await receive()

        await self._turn.acquire()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._turn.release()

        async def send_releasing(message: Any) -> None:
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            await self.app(scope, replay, send_releasing)
        finally:
            release()


async def _read_body(receive: Any) -> list[Any]:
    """Every message of the request body (up to a disconnect), to replay to the app."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            return messages


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at our migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(engine: Engine) -> None:
    """Bring the database schema up to the newest migration."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Several workers or servers may start at once: one migrates, the others wait.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(472001)")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
