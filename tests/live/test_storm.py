"""A reconnect storm against a real `policylab serve` process (SQLite, one worker): hundreds
of event streams opened at the same instant, half on the API and half on the pages, are all
answered, and `/healthz` and a contribution sent at the same moment are answered too.

Before streams opened through their own small read path, 129 simultaneous opens stalled the
whole process until the connection pool's 30 s timeout; health checks hung for a minute.
The deadlines below are generous (a loaded 2-core machine): the assertion is that everything
is answered, not how fast.
"""

import asyncio
import contextlib
import os
import resource
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.live.servers import Server, start_server, stop, wait_healthy

STREAMS = 200
ANSWER_SECONDS = 60.0
PROBE_SECONDS = 15.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`policylab serve` on its own SQLite file, one worker."""
    workdir = tmp_path_factory.mktemp("storm")
    env = {key: value for key, value in os.environ.items() if not key.startswith("POLICYLAB_")}
    env.update(
        POLICYLAB_DATABASE_URL=f"sqlite:///{workdir / 'storm.db'}",
        POLICYLAB_RATE_LIMITS="false",  # the whole room comes from one address
        POLICYLAB_SECRET_KEY="storm-test",
    )
    running = start_server(env, workdir / "server.log")
    try:
        wait_healthy(running)
        yield running
    finally:
        stop(running)


@dataclass
class Stream(asyncio.Protocol):
    """One raw event stream: its status, whether `hello` came, and what followed."""

    request: bytes
    status: int | None = None
    received: bytearray = field(default_factory=bytearray)
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.received += data
        if self.status is None and b"\r\n" in self.received:
            self.status = int(self.received[9:12])
        if self.status != 200 or b"event: hello" in self.received:
            self.answered.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.answered.set()

    def after_hello(self) -> bytes:
        return bytes(self.received[self.received.find(b"event: hello") :])


def raw_get(path: str, host: str, token: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()


async def storm(server: Server) -> None:
    base = server.url
    host = base.removeprefix("http://")
    address, port = host.split(":")
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        created = await client.post(
            "/api/v1/sessions", json={"title": "Storm", "challenges": [{"title": "Skills"}]}
        )
        assert created.status_code == 201, created.text
        code, challenge = created.json()["code"], created.json()["challenges"][0]["id"]
        facilitator = {"Authorization": f"Bearer {created.json()['facilitator_token']}"}
        gate = asyncio.Semaphore(16)

        async def join(i: int) -> str:
            async with gate:
                joined = await client.post(f"/api/v1/sessions/{code}/participants", json={})
                assert joined.status_code == 201, joined.text
                return str(joined.json()["participant_token"])

        tokens = await asyncio.gather(*(join(i) for i in range(STREAMS + 1)))
        phase = await client.post(
            f"/api/v1/sessions/{code}/phase", json={"phase": "brainstorm"}, headers=facilitator
        )
        assert phase.status_code == 200, phase.text

    paths = [
        f"/api/v1/sessions/{code}/events" if i % 2 == 0 else f"/s/{code}/live?view=participant"
        for i in range(STREAMS)
    ]
    streams = [
        Stream(raw_get(path, host, token)) for path, token in zip(paths, tokens[1:], strict=True)
    ]
    loop = asyncio.get_running_loop()

    async def probe(send: "httpx.Request") -> tuple[int, float]:
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=PROBE_SECONDS) as fresh:
            response = await fresh.send(send)
        return response.status_code, time.monotonic() - started

    # Everything at the same instant: the streams, a health check and a contribution.
    health = asyncio.ensure_future(probe(httpx.Request("GET", base + "/healthz")))
    submit = asyncio.ensure_future(
        probe(
            httpx.Request(
                "POST",
                f"{base}/api/v1/sessions/{code}/contributions",
                json={"challenge_id": challenge, "text": "Sent during the storm"},
                headers={"Authorization": f"Bearer {tokens[0]}"},
            )
        )
    )
    try:
        await asyncio.gather(
            *(loop.create_connection(lambda s=s: s, address, int(port)) for s in streams)
        )
        await asyncio.wait(
            [asyncio.ensure_future(s.answered.wait()) for s in streams], timeout=ANSWER_SECONDS
        )
        statuses = [s.status for s in streams]
        helloed = sum(1 for s in streams if b"event: hello" in s.received)
        assert statuses == [200] * STREAMS, {x: statuses.count(x) for x in set(statuses)}
        assert helloed == STREAMS, f"{STREAMS - helloed} streams had no hello"
        # Sent with the storm and answered within PROBE_SECONDS (httpx's timeout), not queued
        # behind it.
        assert (await health)[0] == 200
        assert (await submit)[0] == 201

        # The streams opened in the storm are live: the contribution sent meanwhile (or one
        # sent now) reaches every one of them.
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            after = await client.post(
                f"/api/v1/sessions/{code}/contributions",
                json={"challenge_id": challenge, "text": "After the storm"},
                headers={"Authorization": f"Bearer {tokens[0]}"},
            )
            assert after.status_code == 201, after.text
        deadline = time.monotonic() + ANSWER_SECONDS

        def reached(stream: Stream) -> bool:
            rest = stream.after_hello()
            if b"/events" in stream.request[:80]:
                return rest.count(b"event: contribution_added") >= 1
            return b"event: update" in rest or b"event: ack" in rest

        while time.monotonic() < deadline and not all(reached(s) for s in streams):
            await asyncio.sleep(0.2)
        assert sum(1 for s in streams if not reached(s)) == 0
    finally:
        for stream in streams:
            if stream.transport is not None:
                stream.transport.close()
        for task in (health, submit):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


def test_a_storm_of_streams_is_answered_and_the_service_stays_responsive(
    server: Server,
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * STREAMS:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    asyncio.run(storm(server))


def test_a_server_shutting_down_ends_its_streams_with_renew_at_once(
    tmp_path: Path,
) -> None:
    """A restart must neither wait for the streams' lifetime cap nor bring a room back all at
    once: streams end at once with `renew` (reason `restart`) and a jittered retry."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("POLICYLAB_")}
    env.update(POLICYLAB_DATABASE_URL=f"sqlite:///{tmp_path / 'restart.db'}")
    running = start_server(env, tmp_path / "server.log")
    try:
        wait_healthy(running)
        created = httpx.post(
            running.url + "/api/v1/sessions",
            json={"title": "Restart", "challenges": [{"title": "Skills"}]},
            timeout=30,
        ).json()
        path = f"/api/v1/sessions/{created['code']}/events"
        headers = {"Authorization": f"Bearer {created['facilitator_token']}"}
        lines: list[str] = []
        with httpx.stream("GET", running.url + path, headers=headers, timeout=30) as response:
            for line in response.iter_lines():
                lines.append(line)
                if line.startswith("event: hello"):
                    running.process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal: ended by SIGTERM, promptly.
        running.process.wait(timeout=20)
    finally:
        stop(running)
    renew = lines.index("event: renew")
    assert '"reason":"restart"' in lines[renew + 1]
    assert 1000 <= int(lines[renew + 2].removeprefix("retry: ")) <= 5000
