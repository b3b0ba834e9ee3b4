"""A server process killed with SIGKILL while clients submit: after a restart, every
submission it acknowledged (201) is there exactly once, and the ones cut off can be sent
again with the same client_id without being stored twice. SQLite always; PostgreSQL (two
worker processes) when POLICYLAB_TEST_DATABASE_URL is set."""

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import POSTGRES_URL, _truncate_postgres
from tests.server import ServerProcess

CLIENTS = 4


def backends() -> list[Any]:
    found: list[Any] = ["sqlite"]
    found.append(
        pytest.param(
            "postgresql",
            marks=pytest.mark.skipif(not POSTGRES_URL, reason="needs POLICYLAB_TEST_DATABASE_URL"),
        )
    )
    return found


@pytest.mark.parametrize("backend", backends())
def test_every_acknowledged_submission_survives_a_kill(tmp_path: Path, backend: str) -> None:
    if backend == "postgresql":
        assert POSTGRES_URL
        _truncate_postgres(POSTGRES_URL)
        env, workers = {"POLICYLAB_DATABASE_URL": POSTGRES_URL}, 2
    else:
        env, workers = {"POLICYLAB_DATABASE_URL": f"sqlite:///{tmp_path / 'crash.db'}"}, 1
    server = ServerProcess(tmp_path, env).start(workers=workers)
    try:
        with httpx.Client(base_url=server.url, timeout=10) as api:
            created = api.post(
                "/api/v1/sessions", json={"title": "Crash lab", "challenges": [{"title": "A"}]}
            ).json()
            code, challenge = created["code"], created["challenges"][0]["id"]
            facilitator = {"Authorization": f"Bearer {created['facilitator_token']}"}
            url = f"/api/v1/sessions/{code}"
            people = [
                api.post(f"{url}/participants", json={"name": f"P{i}"}).json()["participant_token"]
                for i in range(CLIENTS)
            ]
            api.post(f"{url}/phase", json={"phase": "brainstorm"}, headers=facilitator)

        acknowledged: dict[str, str] = {}  # client_id → text, answered 201
        cut_off: dict[str, tuple[str, str]] = {}  # client_id → (token, text), no answer
        lock = threading.Lock()

        def submit(person: int) -> None:
            token = people[person]
            with httpx.Client(base_url=server.url, timeout=10) as client:
                for n in range(10_000):
                    client_id, note = f"c{person}-{n}", f"Note {n} from person {person}"
                    try:
                        answer = client.post(
                            f"{url}/contributions",
                            json={"challenge_id": challenge, "text": note, "client_id": client_id},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                    except httpx.HTTPError:
                        with lock:
                            cut_off[client_id] = (token, note)
                        return
                    if answer.status_code == 413:  # this person's per-challenge cap
                        return
                    assert answer.status_code == 201, answer.text
                    with lock:
                        acknowledged[client_id] = note

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill()  # mid-stream: requests are in flight
        for thread in threads:
            thread.join(timeout=30)
        assert len(acknowledged) >= 40

        restarted = ServerProcess(tmp_path, env).start(workers=workers)
        try:
            with httpx.Client(base_url=restarted.url, timeout=10) as api:
                stored = api.get(f"{url}/contributions", headers=facilitator).json()
                texts = [c["text"] for c in stored]
                for note in acknowledged.values():
                    assert texts.count(note) == 1, note
                assert len(texts) == len(set(texts))  # nothing stored twice
                # What was cut off is sent again with its client_id: stored once, whether or
                # not the killed server had committed it.
                for client_id, (token, note) in cut_off.items():
                    retry = api.post(
                        f"{url}/contributions",
                        json={"challenge_id": challenge, "text": note, "client_id": client_id},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    assert retry.status_code in (201, 413), retry.text
                after = [
                    c["text"] for c in api.get(f"{url}/contributions", headers=facilitator).json()
                ]
                assert len(after) == len(set(after))
                assert set(texts) <= set(after)
        finally:
            restarted.stop()
    finally:
        server.stop()
        if backend == "postgresql" and POSTGRES_URL:
            _truncate_postgres(POSTGRES_URL)
