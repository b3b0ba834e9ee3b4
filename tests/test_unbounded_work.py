"""No request makes the server do work that grows faster than its size: 20,000 category
names (189 kB) used to hold the process's one write turn for 23 s, and every contribution in
every other session waited. Now the list is counted first and refused at once, and another
session's submissions go through meanwhile. A real server process, real concurrency; the
timing checks are relative to the same requests measured without the hostile ones."""

import statistics
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.server import ServerProcess

NAMES = [f"Category {i}" for i in range(20_000)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("unbounded")
    running = ServerProcess(tmp, {"POLICYLAB_DATABASE_URL": f"sqlite:///{tmp / 'lab.db'}"})
    yield running.start()
    running.stop()


def hostile_requests(base: str) -> list[tuple[str, dict[str, Any]]]:
    """The same 20,000 names through each entry point that takes categories."""
    archive = {
        "schema_version": 1,
        "session": {"title": "Imported", "categories": NAMES},
        "challenges": [{"id": 1, "title": "A"}],
    }
    return [
        (
            "api",
            {
                "url": f"{base}/api/v1/sessions",
                "json": {"title": "Lab", "challenges": [{"title": "A"}], "categories": NAMES},
            },
        ),
        ("import", {"url": f"{base}/api/v1/sessions/import", "json": archive}),
        (
            "form",
            {
                "url": f"{base}/new",
                "data": {
                    "title": "Lab",
                    "challenges-0-title": "A",
                    "categories": "\n".join(NAMES),
                },
                "headers": {"Origin": base},
            },
        ),
    ]


def test_a_20000_item_request_is_refused_at_once_while_others_write(
    server: ServerProcess,
) -> None:
    base = server.url
    with httpx.Client(base_url=base, timeout=60) as api:
        created = api.post(
            "/api/v1/sessions", json={"title": "Busy lab", "challenges": [{"title": "A"}]}
        ).json()
        code, challenge = created["code"], created["challenges"][0]["id"]
        facilitator = {"Authorization": f"Bearer {created['facilitator_token']}"}
        api.post(
            f"/api/v1/sessions/{code}/phase", json={"phase": "brainstorm"}, headers=facilitator
        )
        url = f"/api/v1/sessions/{code}/contributions"

        def submit(text: str) -> tuple[float, httpx.Response]:
            start = time.perf_counter()
            answer = api.post(
                url, json={"challenge_id": challenge, "text": text}, headers=facilitator
            )
            return time.perf_counter() - start, answer

        # Baselines, measured now on this machine: a submission, and a small valid create.
        alone = [submit(f"Alone {i}")[0] for i in range(20)]
        small = []
        for _ in range(5):
            start = time.perf_counter()
            assert (
                api.post(
                    "/api/v1/sessions", json={"title": "Small", "challenges": [{"title": "A"}]}
                ).status_code
                == 201
            )
            small.append(time.perf_counter() - start)

        # The hostile requests, each sent while another client keeps submitting.
        hostile: list[tuple[str, float, httpx.Response]] = []
        during: list[tuple[float, httpx.Response]] = []
        done = threading.Event()

        def keep_submitting() -> None:
            while not done.is_set():
                during.append(submit(f"During {len(during)}"))

        submitter = threading.Thread(target=keep_submitting)
        submitter.start()
        try:
            with httpx.Client(timeout=120) as attacker:
                for name, request in hostile_requests(base) * 2:
                    start = time.perf_counter()
                    answer = attacker.post(**request)
                    hostile.append((name, time.perf_counter() - start, answer))
        finally:
            done.set()
            submitter.join(timeout=60)

    for name, _, answer in hostile:
        assert answer.status_code == 422, (name, answer.text[:200])
        assert "At most 12 categories" in answer.text or "at most 12 are allowed" in answer.text
    assert during and all(a.status_code == 201 for _, a in during)
    texts = [a.json()["text"] for _, a in during]
    assert texts == [f"During {i}" for i in range(len(during))]  # each stored, in order

    # Refused at about the cost of a small request (they used to take 23 s each) …
    slowest_hostile = max(seconds for _, seconds, _ in hostile)
    assert slowest_hostile < max(20 * statistics.median(small), 1.0), hostile
    # … and the other session's submissions never waited for them.
    assert max(seconds for seconds, _ in during) < max(20 * statistics.median(alone), 1.0)


def test_categories_are_counted_before_any_name_is_looked_at() -> None:
    """The rule itself, where the quadratic scan was: an over-long list costs nothing, and
    duplicates are still found (casefolded, after trimming)."""
    from app.errors import InvalidInput
    from app.sessions.service import MAX_CATEGORIES, clean_categories

    def cost(n: int) -> float:
        names = [f"Category {i}" for i in range(n)]
        start = time.perf_counter()
        for _ in range(5):
            with pytest.raises(InvalidInput):
                clean_categories(names)
        return time.perf_counter() - start

    assert cost(20_000) < 0.05  # refused before looking at a single name
    names = [f"Category {i}" for i in range(MAX_CATEGORIES)]
    assert clean_categories(names) == names
    with pytest.raises(InvalidInput, match="listed twice"):
        clean_categories(["Players", "players "])
