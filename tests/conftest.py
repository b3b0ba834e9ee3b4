"""Fixtures: an app on a real database — SQLite for every test, and the same tests again on
PostgreSQL when POLICYLAB_TEST_DATABASE_URL is set.

Every test gets a database of its own that holds no rows, already migrated: the schema is
migrated once per run (once per pytest-xdist worker), then an SQLite test gets a copy of the
migrated file and a PostgreSQL test gets the worker's database with every row deleted. Under
pytest-xdist each worker has its own PostgreSQL database (`<name>_gw0`, `<name>_gw1`, …) on
the configured URL's server, made when missing and kept for the next run (see
`postgres_database`).

Which fixture to take:
- `client`: the whole app (lifespan included) on the test's database, through HTTP;
- `db_engine` / `db_session`: the test's migrated database without starting the app (service
  tests): an engine made like the app's, and a writable session on it;
- `engine` / `db`: the app's own engine, and a read-only session for looking at it.
"""

import gc
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, make_url, text
from sqlalchemy.pool import NullPool
from sqlmodel import Session, SQLModel, select

import app.models  # noqa: F401
import app.templating
from app import ratelimit
from app.config import get_settings
from app.db import make_engine, migrate, open_session


def worker_database_url(url: str | None, worker: str | None) -> str | None:
    """The PostgreSQL database of this pytest-xdist worker (`<name>_gw0`, …): workers must
    not empty each other's tables. Outside xdist, the configured database itself."""
    if not url or not worker:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{worker}").render_as_string(hide_password=False)


CONFIGURED_POSTGRES_URL = os.environ.get("POLICYLAB_TEST_DATABASE_URL")
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
# The PostgreSQL database this process tests on (tests that start servers use it too).
POSTGRES_URL = worker_database_url(CONFIGURED_POSTGRES_URL, XDIST_WORKER)
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: one worker more than there are cores. Many tests wait part of the time
    (servers starting, the PDF helper process, streams that must stay quiet for a moment);
    the extra worker keeps the cores busy meanwhile (measured on 2 cores: 105–130 s with 3
    workers against 150–200 s with 2, same load). PYTEST_XDIST_AUTO_NUM_WORKERS still
    decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + 1


# --- the browser tests on a machine without Chromium -----------------------------------------

BROWSER_SKIPPED = "browser tests skipped"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say clearly, at the end, that the browser tests did not run and why."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if BROWSER_SKIPPED in str(getattr(report, "longrepr", ""))
    ]
    if skipped:
        longrepr = skipped[0].longrepr
        reason = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr)
        reason = reason.removeprefix("Skipped: ").removeprefix(f"{BROWSER_SKIPPED}: ")
        terminalreporter.write_sep("=", "browser tests NOT run", yellow=True, bold=True)
        terminalreporter.write_line(f"{len(skipped)} browser tests were skipped: {reason}")


# --- templates: compiled once per run --------------------------------------------------------


class _MemoryBytecodeCache(jinja2.BytecodeCache):
    """Jinja's compiled templates kept for the whole run: every test starts a new app, and
    each app's template environment would otherwise parse and compile every template again
    (~0.1 s per app for the macros alone). Keyed by template name and source checksum, so an
    edited template is compiled again."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


@pytest.fixture(scope="session", autouse=True)
def _templates_compiled_once() -> Iterator[None]:
    cache = _MemoryBytecodeCache()
    original = app.templating.Jinja2Blocks

    class CachedTemplates(original):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.env.bytecode_cache = cache

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app.templating, "Jinja2Blocks", CachedTemplates)
        yield


@pytest.fixture(scope="session", autouse=True)
def _freeze_count_remembered() -> Iterator[None]:
    """The app's start-up freezes what is alive once per process (`gc.freeze()`, when
    `gc.get_freeze_count()` is 0). Counting walks every frozen object: ~20 ms for the
    ~200,000 frozen by the first app, paid again by every test's app start. A count that is
    not 0 stays so (nothing unfreezes), so it is remembered: the same branch is taken."""
    real_count = gc.get_freeze_count
    known = 0

    def freeze_count() -> int:
        nonlocal known
        if not known:
            known = real_count()
        return known

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gc, "get_freeze_count", freeze_count)
        yield


# --- databases: migrated once, emptied per test ----------------------------------------------

_empty_engines: dict[str, Engine] = {}


def empty_postgres(url: str) -> None:
    """Delete every row of every table (the schema stays) and restart the id sequences: a
    database as a fresh migration leaves it. DELETE, not TRUNCATE: TRUNCATE replaces each
    table's files and took ~0.3 s for our seven small tables, DELETE a few milliseconds."""
    engine = _empty_engines.get(url)
    if engine is None:
        engine = _empty_engines[url] = create_engine(url, poolclass=NullPool)
    with engine.begin() as connection:
        present = {
            row[0]
            for row in connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
        }
        present.discard("alembic_version")
        # Children before parents; tables a migration added outside the models come first.
        known = [t.name for t in reversed(SQLModel.metadata.sorted_tables) if t.name in present]
        ordered = sorted(present - set(known)) + known
        for table in ordered:
            connection.execute(text(f'DELETE FROM "{table}"'))
        connection.execute(
            text(
                "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false) "
                "FROM pg_sequences WHERE schemaname = current_schema()"
            )
        )


# The old name, for tests that empty the database themselves.
_truncate_postgres = empty_postgres


def _create_worker_database(url: str) -> None:
    """(Re)create a worker's database on the configured database's server."""
    assert CONFIGURED_POSTGRES_URL
    name = make_url(url).database or ""
    quoted = '"' + name.replace('"', '""') + '"'
    admin = create_engine(CONFIGURED_POSTGRES_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        connection.exec_driver_sql(f"CREATE DATABASE {quoted}")
        # A test database needs no durability: commits stop waiting for the disk.
        connection.exec_driver_sql(f"ALTER DATABASE {quoted} SET synchronous_commit = off")
    admin.dispose()


def _worker_database_exists(url: str) -> bool:
    assert CONFIGURED_POSTGRES_URL
    admin = create_engine(CONFIGURED_POSTGRES_URL, poolclass=NullPool)
    with admin.connect() as connection:
        found = connection.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"),
            {"name": make_url(url).database},
        ).first()
    admin.dispose()
    return found is not None


@pytest.fixture(scope="session", autouse=bool(POSTGRES_URL))
def postgres_database() -> Iterator[str | None]:
    """This process's PostgreSQL database, migrated, before the first test (tests that start
    servers on it need it too).

    Under pytest-xdist a worker's database is created on first use and then kept for the next
    run: dropping a database forces a checkpoint of the whole server, which took 10–20 s on
    the shared machine at the end of every run. A kept database that does not migrate (made
    by a branch with other migrations) is made again. `.ci/run` drops them after its run."""
    if not POSTGRES_URL:
        yield None
        return
    own = POSTGRES_URL != CONFIGURED_POSTGRES_URL
    if own and not _worker_database_exists(POSTGRES_URL):
        _create_worker_database(POSTGRES_URL)
    engine = make_engine(POSTGRES_URL)
    try:
        migrate(engine)
    except Exception:
        if not own:
            raise
        engine.dispose()
        _create_worker_database(POSTGRES_URL)
        migrate(engine)
    finally:
        engine.dispose()
    yield POSTGRES_URL
    empty_postgres(POSTGRES_URL)
    for cached in _empty_engines.values():
        cached.dispose()
    _empty_engines.clear()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once per run; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "policylab.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()  # the last connection checkpoints the WAL into the file
    leftovers = [p.name for p in path.parent.iterdir() if p != path]
    assert not leftovers, f"the template is not one file: {leftovers}"
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A real database for one test: migrated, and holding no rows of any other test."""
    if request.param == "sqlite":
        path = tmp_path / "policylab-test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_database")
    empty_postgres(url)
    return str(url)


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    """An engine on this test's migrated database, made as the app makes its own, without
    starting the app: for tests of services."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(db_engine: Engine) -> Iterator[Session]:
    """A writable session on this test's database (its rows are this test's alone). What the
    test leaves uncommitted is rolled back at the end. On SQLite a write transaction holds
    the database's one write lock: commit or roll back before the app has to write."""
    with open_session(db_engine) as session:
        yield session
        session.rollback()


@pytest.fixture
def settings_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the settings at the test database (and undo it afterwards). The database is
    migrated already: an app started on it skips its start-up migration (Alembic would load
    its scripts again only to find the schema at head, ~10 ms per app)."""
    monkeypatch.setenv("POLICYLAB_DATABASE_URL", database_url)
    monkeypatch.delenv("POLICYLAB_ORGANISER_KEY", raising=False)
    monkeypatch.delenv("POLICYLAB_REDIS_URL", raising=False)
    from app import main  # see `client`

    if hasattr(main, "migrate"):
        migrated = make_url(database_url)
        real_migrate = main.migrate

        def migrate_unless_done(engine: Engine) -> None:
            if engine.url != migrated:
                real_migrate(engine)

        monkeypatch.setattr(main, "migrate", migrate_unless_done)
    get_settings.cache_clear()
    ratelimit.reset()
    yield
    get_settings.cache_clear()
    ratelimit.reset()


@pytest.fixture
def client(settings_env: None) -> Iterator[TestClient]:
    """A test client for a freshly started app on the test's database. Like every browser,
    it names the page's origin on its requests (the app refuses cookie or page writes that
    do not)."""
    # Imported here, not at the top: the pytest-xdist controller loads this file too and
    # needs no app (importing it costs ~1.3 s before the workers start).
    from app.main import create_app

    with TestClient(create_app(), headers={"Origin": "http://testserver"}) as test_client:
        yield test_client


@pytest.fixture
def engine(client: TestClient) -> Engine:
    """The app's engine, for looking at the database directly."""
    return client.app.state.engine  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A read-only database session on the app's database, for looking, not changing.

    Call `fresh(db)` before each look: it ends the previous snapshot.
    """
    with open_session(engine, read_only=True) as session:
        yield session


def fresh(db: Session) -> Session:
    """End the current read snapshot so the next query sees the latest commits."""
    db.rollback()
    db.expire_all()
    return db


def count(db: Session, model: type) -> int:
    """Rows of `model` in the database now."""
    fresh(db)
    return int(db.exec(select(func.count()).select_from(model)).one())


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Workshop:
    """A session created through the API, with helpers to act as its people."""

    client: TestClient
    code: str
    facilitator_token: str
    challenges: list[dict[str, Any]]
    categories: list[str]
    participants: list[dict[str, Any]] = field(default_factory=list)

    @property
    def f(self) -> dict[str, str]:
        return bearer(self.facilitator_token)

    def p(self, index: int) -> dict[str, str]:
        return bearer(self.participants[index]["participant_token"])

    def url(self, path: str = "") -> str:
        return f"/api/v1/sessions/{self.code}{path}"

    def join(self, name: str | None = None) -> dict[str, Any]:
        response = self.client.post(self.url("/participants"), json={"name": name})
        assert response.status_code == 201, response.text
        self.participants.append(response.json())
        return response.json()

    def phase(self, phase: str) -> None:
        response = self.client.post(self.url("/phase"), json={"phase": phase}, headers=self.f)
        assert response.status_code == 200, response.text

    def contribute(self, who: int | None, challenge: int, text: str) -> dict[str, Any]:
        headers = self.f if who is None else self.p(who)
        response = self.client.post(
            self.url("/contributions"),
            json={"challenge_id": self.challenges[challenge]["id"], "text": text},
            headers=headers,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def cluster(self, challenge: int, title: str, category: str, ids: list[int]) -> dict[str, Any]:
        response = self.client.post(
            self.url("/clusters"),
            json={
                "challenge_id": self.challenges[challenge]["id"],
                "title": title,
                "category": category,
                "contribution_ids": ids,
            },
            headers=self.f,
        )
        assert response.status_code == 201, response.text
        return response.json()

    def rate(self, who: int, cluster_id: int, relevance: int, level: str) -> None:
        response = self.client.put(
            self.url(f"/clusters/{cluster_id}/rating"),
            json={"relevance": relevance, "policy_level": level},
            headers=self.p(who),
        )
        assert response.status_code == 200, response.text


def create_workshop(
    client: TestClient, *, participants: int = 0, challenges: int = 2, **extra: Any
) -> Workshop:
    """Create a session through the API and join `participants` people."""
    body = {
        "title": "AI in the cultural and creative industries",
        "challenges": [
            {"title": f"Challenge {i + 1}", "description": f"Brief {i + 1}"}
            for i in range(challenges)
        ],
        **extra,
    }
    response = client.post("/api/v1/sessions", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    workshop = Workshop(
        client=client,
        code=data["code"],
        facilitator_token=data["facilitator_token"],
        challenges=data["challenges"],
        categories=data["categories"],
    )
    for i in range(participants):
        workshop.join(f"Person {i + 1}")
    return workshop


@pytest.fixture
def workshop(client: TestClient) -> Workshop:
    """A session with two challenges and three participants, in the setup phase."""
    return create_workshop(client, participants=3)


@pytest.fixture
def service_db(settings_env: None, db_session: Session) -> Session:
    """`db_session` with the settings of a test (limits forgotten, this database): for the
    services' own tests."""
    return db_session
