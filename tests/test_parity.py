"""One rule, one place: the same rule reached through the API and through the pages gives
the same result, and a limit counts the same across worker processes."""

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import ratelimit
from app.clustering.models import Cluster
from app.config import get_settings
from app.sessions.models import Contribution, WorkshopSession
from tests.clustering.test_pages import HX, as_facilitator, brainstormed, page, preview_form
from tests.conftest import Workshop, bearer, count, fresh
from tests.live.conftest import REDIS_URL
from tests.live.servers import Server, start_server, stop, wait_healthy
from tests.sessions.test_pages import PAGE, create_form


def _members(db: Session, cluster_id: int) -> set[int]:
    return {
        c.id  # type: ignore[misc]
        for c in fresh(db).exec(select(Contribution).where(Contribution.cluster_id == cluster_id))
    }


def _with_duplicate_and_clustered_note(w: Workshop, ids: list[int]) -> None:
    """ids[1] marked a duplicate of ids[0]; ids[2] already in a hand-made cluster."""
    marked = w.client.post(
        w.url(f"/contributions/{ids[1]}/duplicate"), json={"original_id": ids[0]}, headers=w.f
    )
    assert marked.status_code == 200, marked.text
    w.cluster(0, "Hand-made", "Ecosystem structure", [ids[2]])


@pytest.mark.parametrize("through", ["api", "page"])
def test_accepting_a_suggestion_applies_the_same_rules_through_api_and_page(
    client: TestClient, db: Session, through: str
) -> None:
    w, ids = brainstormed(client)
    _with_duplicate_and_clustered_note(w, ids)
    # The assistant proposed the original and the clustered note (not the duplicate).
    proposed = [ids[0], ids[2]]
    if through == "api":
        response = client.post(
            w.url("/clusters/accept"),
            json={
                "challenge_id": w.challenges[0]["id"],
                "suggestions": [{"title": "Compute", "contribution_ids": proposed}],
            },
            headers=w.f,
        )
        assert response.status_code == 201, response.text
    else:
        as_facilitator(w)
        form = preview_form(w, [{"title": "Compute", "ids": proposed}], accept="0")
        response = client.post(page(w, "/clustering/suggestions/accept"), data=form, headers=HX)
        assert response.status_code == 200, response.text
    cluster = fresh(db).exec(select(Cluster).where(Cluster.origin == "suggested")).one()
    # The duplicate follows its original; the note already in a cluster stays there.
    assert _members(db, cluster.id) == {ids[0], ids[1]}  # type: ignore[arg-type]
    hand_made = fresh(db).exec(select(Cluster).where(Cluster.title == "Hand-made")).one()
    assert _members(db, hand_made.id) == {ids[2]}  # type: ignore[arg-type]


@pytest.mark.parametrize("through", ["api", "page"])
def test_a_suggestion_already_clustered_is_refused_the_same_way(
    client: TestClient, db: Session, through: str
) -> None:
    w, ids = brainstormed(client)
    w.cluster(0, "Hand-made", "Ecosystem structure", [ids[0], ids[1]])
    if through == "api":
        response = client.post(
            w.url("/clusters/accept"),
            json={
                "challenge_id": w.challenges[0]["id"],
                "suggestions": [{"title": "Again", "contribution_ids": [ids[0], ids[1]]}],
            },
            headers=w.f,
        )
        message = response.json()["detail"]
    else:
        as_facilitator(w)
        form = preview_form(w, [{"title": "Again", "ids": [ids[0], ids[1]]}], accept="0")
        response = client.post(page(w, "/clustering/suggestions/accept"), data=form, headers=HX)
        message = response.text
    assert response.status_code == 422
    assert "already in a cluster" in message
    assert count(db, Cluster) == 1


def test_wrong_organiser_keys_count_together_through_api_and_page(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYLAB_ORGANISER_KEY", "open-sesame")
    get_settings.cache_clear()
    monkeypatch.setitem(ratelimit.LIMITS, "organiser_key", 2)
    body = {"title": "Lab", "challenges": [{"title": "A"}]}
    api = client.post("/api/v1/sessions", json=body, headers=bearer("guess-1"))
    assert api.status_code == 401
    form = client.post("/new", data=create_form(organiser_key="guess-2"), headers=PAGE)
    assert form.status_code == 401 and 'id="field-organiser_key-error"' in form.text
    # The third guess is one too many, whichever way it comes.
    for third in (
        client.post("/api/v1/sessions", json=body, headers=bearer("guess-3")),
        client.post("/new", data=create_form(organiser_key="guess-3"), headers=PAGE),
    ):
        assert third.status_code == 429 and third.headers["retry-after"]
    # Past the limit the right key waits too, or guessing would go on at full speed.
    right = client.post("/new", data=create_form(organiser_key="open-sesame"), headers=PAGE)
    assert right.status_code == 429
    ratelimit.reset()  # the minute has passed
    right = client.post(
        "/new", data=create_form(organiser_key="open-sesame"), headers=PAGE, follow_redirects=False
    )
    assert right.status_code == 303
    assert count(db, WorkshopSession) == 1


# --- limits shared by worker processes -------------------------------------------------------


@pytest.fixture
def two_servers_sharing_redis(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    """Two `policylab serve` processes on one SQLite file, counting limits in Redis."""
    assert REDIS_URL
    import redis

    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter(f"{ratelimit.KEY_PREFIX}*"):
        store.delete(key)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("POLICYLAB_") or key.startswith("POLICYLAB_TEST_")
    }
    env.update(
        POLICYLAB_DATABASE_URL=f"sqlite:///{tmp_path / 'shared.db'}",
        POLICYLAB_REDIS_URL=REDIS_URL,
        POLICYLAB_ORGANISER_KEY="open-sesame",
        POLICYLAB_RATE_LIMITS_PER_MINUTE='{"organiser_key": 3}',
    )
    servers = [start_server(env, tmp_path / f"server-{i}.log") for i in range(2)]
    try:
        for server in servers:
            wait_healthy(server)
        yield servers[0], servers[1]
    finally:
        for server in servers:
            stop(server)


@pytest.mark.skipif(not REDIS_URL, reason="needs POLICYLAB_TEST_REDIS_URL")
def test_a_limit_counts_across_worker_processes(
    two_servers_sharing_redis: tuple[Server, Server],
) -> None:
    first, second = two_servers_sharing_redis
    body = {"title": "Lab", "challenges": [{"title": "A"}]}

    def guess(server: Server, key: str) -> int:
        response = httpx.post(
            server.url + "/api/v1/sessions", json=body, headers=bearer(key), timeout=10
        )
        return response.status_code

    assert [guess(first, "a"), guess(first, "b"), guess(second, "c")] == [401, 401, 401]
    # Three wrong guesses in the minute, two of them at the other process: refused here too.
    assert guess(second, "d") == 429
    assert guess(first, "e") == 429
