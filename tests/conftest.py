"""Fixtures: an app on a real database — a fresh SQLite file per test, and the same tests
again on PostgreSQL when POLICYLAB_TEST_DATABASE_URL is set."""

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, func, text
from sqlmodel import Session, SQLModel, select

import app.models  # noqa: F401
from app import ratelimit
from app.config import get_settings
from app.db import make_engine, migrate, open_session
from app.main import create_app

POSTGRES_URL = os.environ.get("POLICYLAB_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = [t.name for t in SQLModel.metadata.sorted_tables]
        present = {
            row[0]
            for row in connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
        }
        existing = [t for t in tables if t in present]
        if existing:
            connection.execute(text(f"TRUNCATE {', '.join(existing)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A real, empty database for one test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'policylab-test.db'}"
        return
    assert POSTGRES_URL
    _truncate_postgres(POSTGRES_URL)
    yield POSTGRES_URL
    _truncate_postgres(POSTGRES_URL)


@pytest.fixture
def settings_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the settings at the test database (and undo it afterwards)."""
    monkeypatch.setenv("POLICYLAB_DATABASE_URL", database_url)
    monkeypatch.delenv("POLICYLAB_ORGANISER_KEY", raising=False)
    monkeypatch.delenv("POLICYLAB_REDIS_URL", raising=False)
    get_settings.cache_clear()
    ratelimit.reset()
    yield
    get_settings.cache_clear()
    ratelimit.reset()


@pytest.fixture
def client(settings_env: None) -> Iterator[TestClient]:
    """A test client for a freshly migrated app. Like every browser, it names the page's
    origin on its requests (the app refuses cookie or page writes that do not)."""
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
def service_db(settings_env: None, database_url: str) -> Iterator[Session]:
    """A writable database session on a migrated database, without the app: for testing
    the services' rules directly. Nothing is committed (rolled back at the end)."""
    engine = make_engine(database_url)
    migrate(engine)
    with open_session(engine) as db:
        yield db
        db.rollback()
    engine.dispose()
