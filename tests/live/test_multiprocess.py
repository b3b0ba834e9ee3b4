"""Two real server processes on one PostgreSQL database: an event committed through one
reaches a stream held by the other, and Last-Event-ID replay works across them.

The safety tick is set to a minute, so only the bus (LISTEN/NOTIFY, or Redis when available)
can deliver within the deadlines below.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import POSTGRES_URL, _truncate_postgres, bearer
from tests.live.conftest import REDIS_URL, SSEReader
from tests.live.servers import Server, start_server, stop, wait_healthy

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs POLICYLAB_TEST_DATABASE_URL"),
    # Under pytest-xdist: one worker starts the two servers once, not each worker its own.
    pytest.mark.xdist_group("two_servers"),
]

DELIVERY_SECONDS = 5.0


@pytest.fixture(
    scope="module",
    params=[
        "postgres",
        pytest.param(
            "redis",
            marks=pytest.mark.skipif(not REDIS_URL, reason="needs POLICYLAB_TEST_REDIS_URL"),
        ),
    ],
)
def two_servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    """Two `policylab serve` processes sharing the test PostgreSQL database."""
    assert POSTGRES_URL
    _truncate_postgres(POSTGRES_URL)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("POLICYLAB_") or key.startswith("POLICYLAB_TEST_")
    }
    env.update(
        POLICYLAB_DATABASE_URL=POSTGRES_URL,
        POLICYLAB_EVENT_BUS=request.param,
        POLICYLAB_EVENT_POLL_SECONDS="60",
        POLICYLAB_KEEPALIVE_SECONDS="1",
        POLICYLAB_RATE_LIMITS="false",
        POLICYLAB_SECRET_KEY="shared-by-both-test-servers",
    )
    if request.param == "redis":
        env["POLICYLAB_REDIS_URL"] = REDIS_URL or ""
    logs = tmp_path_factory.mktemp(f"servers-{request.param}")
    servers = [start_server(env, logs / f"server-{i}.log") for i in (1, 2)]
    try:
        for server in servers:
            wait_healthy(server)
        yield servers[0], servers[1]
    finally:
        for server in servers:
            stop(server)
        _truncate_postgres(POSTGRES_URL)


@dataclass
class Lab:
    code: str
    facilitator: dict[str, str]
    participant: dict[str, str]
    challenge_id: int

    def contribute(self, server: Server, text: str, who: str = "participant") -> dict[str, Any]:
        headers = self.participant if who == "participant" else self.facilitator
        response = httpx.post(
            f"{server.url}/api/v1/sessions/{self.code}/contributions",
            json={"challenge_id": self.challenge_id, "text": text},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def events_url(self, server: Server) -> str:
        return f"{server.url}/api/v1/sessions/{self.code}/events"


def new_lab(server: Server) -> Lab:
    """A session in the brainstorm phase with one participant, made through the API."""
    created = httpx.post(
        f"{server.url}/api/v1/sessions",
        json={"title": "Two servers", "challenges": [{"title": "Skills for AI"}]},
        timeout=10,
    ).json()
    code, facilitator = created["code"], bearer(created["facilitator_token"])
    joined = httpx.post(
        f"{server.url}/api/v1/sessions/{code}/participants", json={"name": "Ana"}, timeout=10
    ).json()
    phase = httpx.post(
        f"{server.url}/api/v1/sessions/{code}/phase",
        json={"phase": "brainstorm"},
        headers=facilitator,
        timeout=10,
    )
    assert phase.status_code == 200, phase.text
    return Lab(
        code, facilitator, bearer(joined["participant_token"]), created["challenges"][0]["id"]
    )


def test_an_event_submitted_to_one_server_reaches_a_stream_on_the_other(
    two_servers: tuple[Server, Server],
) -> None:
    first, second = two_servers
    lab = new_lab(second)
    on_first = SSEReader(lab.events_url(first), lab.facilitator)
    on_second = SSEReader(lab.events_url(second), lab.participant)
    try:
        start = on_first.next().seq
        assert on_second.next().seq == start

        created = lab.contribute(second, "Regional AI skills vouchers")
        message = on_first.next(timeout=DELIVERY_SECONDS)
        assert message.event == "contribution_added" and message.seq == start + 1
        assert message.json["data"]["contribution_id"] == created["id"]

        lab.contribute(first, "A public compute pool for cultural institutions", who="f")
        assert [m.seq for m in on_second.take(2, timeout=DELIVERY_SECONDS)] == [
            start + 1,
            start + 2,
        ]
        assert on_first.next(timeout=DELIVERY_SECONDS).seq == start + 2
    finally:
        on_first.close()
        on_second.close()


def test_last_event_id_replay_works_across_servers(two_servers: tuple[Server, Server]) -> None:
    first, second = two_servers
    lab = new_lab(first)
    reader = SSEReader(lab.events_url(first), lab.participant)
    try:
        start = reader.next().seq
        lab.contribute(second, "Seen live 1")
        lab.contribute(second, "Seen live 2")
        seen = reader.take(2, timeout=DELIVERY_SECONDS)
    finally:
        reader.close()
    assert [m.seq for m in seen] == [start + 1, start + 2]

    missed = [lab.contribute(server, f"Missed {i}") for i, server in enumerate([first, second] * 2)]

    again = SSEReader(
        lab.events_url(second), {**lab.participant, "Last-Event-ID": str(seen[-1].seq)}
    )
    try:
        assert again.next().event == "hello"
        replayed = again.take(4, timeout=DELIVERY_SECONDS)
        assert [m.seq for m in replayed] == [start + 3 + i for i in range(4)]
        assert [m.json["data"]["contribution_id"] for m in replayed] == [c["id"] for c in missed]
        lab.contribute(first, "After the reconnect")
        assert again.next(timeout=DELIVERY_SECONDS).seq == start + 7
        assert again.quiet_for(1.5) == []  # none twice
    finally:
        again.close()
