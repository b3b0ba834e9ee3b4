"""Simultaneous requests on PostgreSQL, where writes really run in parallel (several turns of
the write queue, several connections): what one person sends at once ends as if sent one
after the other. SQLite serialises every write, so these need PostgreSQL."""

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app import ratelimit
from app.config import get_settings
from app.db import open_session
from app.main import create_app
from app.matrix.models import Rating
from app.sessions.models import Contribution
from tests.conftest import POSTGRES_URL, _truncate_postgres, create_workshop

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    if not POSTGRES_URL:
        pytest.skip("needs POLICYLAB_TEST_DATABASE_URL (PostgreSQL)")
    _truncate_postgres(POSTGRES_URL)
    monkeypatch.setenv("POLICYLAB_DATABASE_URL", POSTGRES_URL)
    monkeypatch.setenv("POLICYLAB_CONTRIBUTIONS_PER_CHALLENGE", "5")
    get_settings.cache_clear()
    ratelimit.reset()
    app = create_app()
    with TestClient(
        app, headers={"Origin": "http://testserver"}, raise_server_exceptions=False
    ) as client:
        yield client
    get_settings.cache_clear()
    _truncate_postgres(POSTGRES_URL)


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def rows(client: TestClient, statement: Any) -> int:
    with open_session(client.app.state.engine, read_only=True) as db:  # type: ignore[attr-defined]
        return int(Session.exec(db, statement).one())


def test_simultaneous_first_ratings_end_as_one(pg_client: TestClient) -> None:
    w = create_workshop(pg_client, participants=1)
    w.phase("brainstorm")
    note = w.contribute(0, 0, "A gap")
    w.phase("clustering")
    cluster = w.cluster(0, "A solution", w.categories[0], [note["id"]])
    w.phase("scoring")
    url = w.url(f"/clusters/{cluster['id']}/rating")
    for _ in range(5):  # each round a fresh first rating, sent 12 times at once
        with open_session(pg_client.app.state.engine) as db:  # type: ignore[attr-defined]
            db.exec(Rating.__table__.delete())  # type: ignore[attr-defined,call-overload]
            db.commit()
        answers = all_at_once(
            [
                lambda r=relevance: pg_client.put(
                    url, json={"relevance": r % 5 + 1, "policy_level": "eu"}, headers=w.p(0)
                )
                for relevance in range(12)
            ]
        )
        assert [a.status_code for a in answers] == [200] * 12, [a.text for a in answers]
        assert rows(pg_client, select(func.count()).select_from(Rating)) == 1
        stored = pg_client.get(w.url("/ratings/mine"), headers=w.p(0)).json()
        assert stored[0]["relevance"] in {a.json()["relevance"] for a in answers}


def test_the_contribution_cap_holds_under_simultaneous_posts(pg_client: TestClient) -> None:
    w = create_workshop(pg_client, participants=2)
    w.phase("brainstorm")
    challenge = w.challenges[0]["id"]
    answers = all_at_once(
        [
            lambda i=i: pg_client.post(
                w.url("/contributions"),
                json={"challenge_id": challenge, "text": f"Gap {i}"},
                headers=w.p(0),
            )
            for i in range(20)
        ]
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 5 + [413] * 15, [a.text for a in answers if a.status_code >= 500]
    mine = (
        select(func.count()).select_from(Contribution).where(Contribution.challenge_id == challenge)
    )
    assert rows(pg_client, mine) == 5
    # The lock is per person: someone else still posts while the first is at the cap.
    assert w.contribute(1, 0, "Another person's gap")["id"]
