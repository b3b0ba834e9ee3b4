"""Benchmark of the live workshop: a room of N participants, each holding an SSE stream,
while contributions (brainstorm) and then ratings (scoring) arrive at a steady rate.

    uv run python bench/live.py --participants 1000 --rate 30 --seconds 20
    uv run python bench/live.py --participants 2000 --workers 2 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/live_bench

The server runs as a separate process (`policylab serve`, access log off, rate limits off
because the whole room shares one address), so its CPU time and memory are its own. The
client is one asyncio process: streams are raw sockets with a tiny chunked/SSE parser, so a
thousand of them cost little client CPU.

Reported:
- the storm (`--storm api,page`, the default): all N streams opened at the same instant, as
  when a server restarts or the venue's Wi-Fi comes back, once on the API's route and once on
  the pages' route: how many were answered (status and `hello`) and when the last one was,
  and meanwhile the slowest `/healthz` and contribution submit (each sent every 0.1 / 0.25 s
  on a fresh connection);
- submit latency p50/p99 (request sent → response received; open-loop arrivals, so a slow
  server is not hidden by waiting clients);
- fan-out latency p50/p99 per event: from the event's `at` (taken by the server in the
  committing transaction, same host clock) until the LAST of the N streams received it;
- events lost (a stream missing any seq between its start and the end) and duplicates;
- server RSS (all its processes) and CPU seconds while the room ran;
- submit throughput (closed loop, C concurrent clients, no streams open), ours against a
  bare endpoint doing the same insert with no auth, checks or events — in the same run.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
LEVELS = ("local_regional", "national", "eu")
TICKS = os.sysconf("SC_CLK_TCK")


# --- server processes ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (uvicorn workers are children of the supervisor)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def rss_bytes(root: int) -> int:
    total = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def cpu_seconds(root: int) -> float:
    total = 0
    for pid in process_tree(root):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / TICKS


@dataclass
class Server:
    url: str
    port: int
    process: "subprocess.Popen[bytes]"

    @classmethod
    def start(cls, command: list[str], env: dict[str, str], log: Path) -> "Server":
        port = free_port()
        with log.open("ab") as out:  # a file, not a pipe: a full pipe would stall the server
            process = subprocess.Popen(
                [*command, "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out
            )
        server = cls(f"http://127.0.0.1:{port}", port, process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"server exited, see {log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(server.url + "/healthz", timeout=1).status_code == 200:
                    return server
            time.sleep(0.2)
        server.stop()
        raise SystemExit("server did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def server_env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYLAB_")}
    env.update(
        POLICYLAB_DATABASE_URL=database_url,
        POLICYLAB_RATE_LIMITS="false",
        POLICYLAB_SECRET_KEY="bench-secret",
    )
    return env


# --- the room's streams --------------------------------------------------------------------


@dataclass
class EventStats:
    at: float
    received: int = 0
    last_received: float = 0.0


@dataclass
class Room:
    """What every stream saw."""

    events: dict[int, EventStats] = field(default_factory=dict)
    streams: list["StreamClient"] = field(default_factory=list)
    reconnects: int = 0
    resets: int = 0

    def received(self, seq: int, message: bytes, now: float) -> None:
        stats = self.events.get(seq)
        if stats is None:
            start = message.index(b'"at":"') + 6
            at = datetime.fromisoformat(message[start : message.index(b'"', start)].decode())
            stats = self.events[seq] = EventStats(at=at.timestamp())
        stats.received += 1
        stats.last_received = now


class StreamClient(asyncio.Protocol):
    """One participant's SSE stream over a raw socket: chunked decoding + `id:` parsing."""

    def __init__(self, room: Room, path: str, host: str, token: str) -> None:
        self.room, self.path, self.host, self.token = room, path, host, token
        self.first: int | None = None
        self.last: int | None = None
        self.duplicates = 0
        self.gaps = 0
        self.hello: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reset_buffers()

    def _reset_buffers(self) -> None:
        self._buffer = bytearray()
        self._headers_done = False
        self._need: int | None = None
        self._sse = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        last = f"Last-Event-ID: {self.last}\r\n" if self.last is not None else ""
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n{last}\r\n"
        )
        transport.write(request.encode())  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if not self._headers_done:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(bytes(buffer[:200]).decode(errors="replace"))
            del buffer[: end + 4]
            self._headers_done = True
        while True:
            if self._need is None:
                line_end = buffer.find(b"\r\n")
                if line_end < 0:
                    return
                self._need = int(buffer[:line_end], 16) + 2
                del buffer[: line_end + 2]
            if len(buffer) < self._need:
                return
            self._sse += buffer[: self._need - 2]
            del buffer[: self._need]
            self._need = None
            self._messages()

    def _messages(self) -> None:
        now = time.time()
        while (end := self._sse.find(b"\r\n\r\n")) >= 0:
            message = bytes(self._sse[:end])
            del self._sse[: end + 4]
            if not message.startswith(b"id: "):
                continue  # a keep-alive comment
            line_end = message.index(b"\r\n")
            seq = int(message[4:line_end])
            kind = message[line_end + 9 : message.index(b"\r\n", line_end + 2)]
            if kind == b"hello":
                if self.first is None:
                    self.first = seq
                self.last = seq
                if not self.hello.done():
                    self.hello.set_result(seq)
                continue
            if kind == b"reset":
                self.room.resets += 1
                self.last = seq
                continue
            assert self.last is not None
            if seq <= self.last:
                self.duplicates += 1
                continue
            self.gaps += seq - self.last - 1
            self.last = seq
            self.room.received(seq, message, now)

    async def run(self, host: str, port: int, stop: asyncio.Event) -> None:
        """Hold the stream open, reconnecting with Last-Event-ID like a browser would."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            self.closed = loop.create_future()
            self._reset_buffers()
            try:
                transport, _ = await loop.create_connection(lambda: self, host, port)
            except OSError:
                await asyncio.sleep(0.5)
                continue
            stopping: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
            closed: asyncio.Future[Any] = self.closed
            await asyncio.wait([closed, stopping], return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            transport.close()
            if not stop.is_set():
                self.room.reconnects += 1


async def open_room(
    room: Room, base: str, code: str, tokens: list[str], stop: asyncio.Event
) -> list[asyncio.Task[None]]:
    """Connect one stream per token (in waves, as a room arrives) and wait for every hello."""
    host, port = base.removeprefix("http://").split(":")
    path = f"/api/v1/sessions/{code}/events"
    tasks = []
    for start in range(0, len(tokens), 50):
        wave = [StreamClient(room, path, f"{host}:{port}", t) for t in tokens[start : start + 50]]
        room.streams.extend(wave)
        tasks += [asyncio.create_task(s.run(host, int(port), stop)) for s in wave]
        await asyncio.wait_for(asyncio.gather(*(s.hello for s in wave)), 60)
    return tasks


# --- the reconnect storm -------------------------------------------------------------------


class StormClient(asyncio.Protocol):
    """One stream opened in a storm: records when its status line and `hello` arrived."""

    def __init__(self, path: str, host: str, token: str, started: float) -> None:
        self.path, self.host, self.token, self.started = path, host, token, started
        self.status: int | None = None
        self.answered: float | None = None
        self.transport: asyncio.Transport | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n\r\n"
        )
        transport.write(request.encode())  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        self._buffer += data
        if self.status is None and b"\r\n" in self._buffer:
            self.status = int(self._buffer[9:12])
            if self.status != 200:
                self._finish()
                return
        if b"event: hello" in self._buffer:
            self._finish()

    def _finish(self) -> None:
        self.answered = time.perf_counter() - self.started
        self._buffer.clear()
        if not self.done.done():
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def probe(
    url: str, stop: asyncio.Event, send: Callable[[httpx.AsyncClient], Awaitable[Any]], every: float
) -> list[float]:
    """Latencies of `send` repeated every `every` seconds until `stop` (a fresh connection
    each time, like a new visitor; failures count as the time until they failed)."""
    latencies: list[float] = []
    while not stop.is_set():
        started = time.perf_counter()
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            with contextlib.suppress(httpx.HTTPError):
                response = await send(client)
                if response.status_code >= 400:
                    latencies.append(float("inf"))
                    continue
            latencies.append(time.perf_counter() - started)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
    return latencies


async def storm(
    url: str,
    code: str,
    tokens: list[str],
    submit_token: str,
    challenge: int,
    route: str,
    deadline: float = 120.0,
) -> dict[str, Any]:
    """Open one stream per token at the same instant; time until each is answered (status
    and `hello`), while `/healthz` and a contribution submit are probed."""
    host_port = url.removeprefix("http://")
    host, port = host_port.split(":")
    loop = asyncio.get_running_loop()
    paths = {
        "api": f"/api/v1/sessions/{code}/events",
        "page": f"/s/{code}/live?view=participant",
    }
    stop = asyncio.Event()
    health = asyncio.create_task(probe(url, stop, lambda c: c.get("/healthz"), 0.1))
    n = 0

    async def submit(client: httpx.AsyncClient) -> httpx.Response:
        nonlocal n
        n += 1
        return await client.post(
            f"/api/v1/sessions/{code}/contributions",
            json={"challenge_id": challenge, "text": f"During the storm {n}"},
            headers={"Authorization": f"Bearer {submit_token}"},
        )

    submits = asyncio.create_task(probe(url, stop, submit, 0.25))
    await asyncio.sleep(0.3)  # the probes' first answers: an idle server
    started = time.perf_counter()
    clients = []
    for i, token in enumerate(tokens):
        kind = route if route != "both" else ("api", "page")[i % 2]
        clients.append(StormClient(paths[kind], host_port, token, started))

    async def connect(client: StormClient) -> None:
        with contextlib.suppress(OSError):
            await loop.create_connection(lambda: client, host, int(port))

    await asyncio.gather(*(connect(c) for c in clients))
    await asyncio.wait([c.done for c in clients], timeout=deadline)
    all_answered = time.perf_counter() - started
    await asyncio.sleep(0.5)  # and a moment of the open streams' steady state
    stop.set()
    health_latencies, submit_latencies = await health, await submits
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    answered = [c.answered for c in clients if c.answered is not None and c.status == 200]
    statuses: dict[str, int] = {}
    for c in clients:
        key = str(c.status) if c.answered is not None else "unanswered"
        statuses[key] = statuses.get(key, 0) + 1
    return {
        "storm_streams": len(clients),
        "storm_route": route,
        "storm_answered": len(answered),
        "storm_statuses": statuses,
        "storm_all_answered_s": round(all_answered, 2) if len(answered) == len(clients) else None,
        "storm_p50_s": round(percentile(answered, 50), 2),
        "storm_p99_s": round(percentile(answered, 99), 2),
        "storm_max_s": round(max(answered, default=float("nan")), 2),
        "storm_healthz_max_s": round(max(health_latencies, default=float("nan")), 2),
        "storm_healthz_count": len(health_latencies),
        "storm_submit_max_s": round(max(submit_latencies, default=float("nan")), 2),
        "storm_submit_count": len(submit_latencies),
        "load_average": round(os.getloadavg()[0], 2),
    }


# --- load ------------------------------------------------------------------------------------


@dataclass
class Latencies:
    values: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)

    async def time(self, request: Awaitable[httpx.Response], ok: int) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response = await request
        except httpx.HTTPError:
            self.errors[0] = self.errors.get(0, 0) + 1
            return None
        self.values.append(time.perf_counter() - started)
        if response.status_code != ok:
            self.errors[response.status_code] = self.errors.get(response.status_code, 0) + 1
        return response


async def open_loop(rate: float, seconds: float, send: Callable[[int], Awaitable[Any]]) -> None:
    """Start `send(i)` at a steady `rate` for `seconds`, not waiting for earlier ones."""
    tasks: set[asyncio.Future[Any]] = set()
    start = time.perf_counter()
    i = 0
    while i / rate < seconds:
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        task: asyncio.Future[Any] = asyncio.ensure_future(send(i))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        i += 1
    if tasks:
        await asyncio.wait(tasks, timeout=60)


async def closed_loop(
    concurrency: int, seconds: float, send: Callable[[int], Awaitable[bool]]
) -> float:
    """Requests per second completed by `concurrency` clients sending back to back."""
    done = 0
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            if await send(next(counter)):
                done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def create_session(
    client: httpx.AsyncClient, participants: int, title: str
) -> tuple[str, dict[str, str], list[str], list[int]]:
    created = (
        await client.post(
            "/api/v1/sessions",
            json={"title": title, "challenges": [{"title": "Skills"}, {"title": "Ecosystems"}]},
        )
    ).json()
    code = created["code"]
    facilitator = {"Authorization": f"Bearer {created['facilitator_token']}"}
    gate = asyncio.Semaphore(32)

    async def join(i: int) -> str:
        async with gate:
            response = await client.post(
                f"/api/v1/sessions/{code}/participants", json={"name": f"P{i}"}
            )
            return str(response.json()["participant_token"])

    tokens = list(await asyncio.gather(*(join(i) for i in range(participants))))
    await client.post(
        f"/api/v1/sessions/{code}/phase", json={"phase": "brainstorm"}, headers=facilitator
    )
    return code, facilitator, tokens, [c["id"] for c in created["challenges"]]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- the bare baseline -----------------------------------------------------------------------


def baseline_app() -> Any:
    """A minimal FastAPI app doing the same insert as a contribution, and nothing else."""
    sys.path.insert(0, str(ROOT))
    from fastapi import FastAPI
    from pydantic import BaseModel

    from app.config import get_settings
    from app.db import make_engine, migrate, open_session
    from app.sessions.models import Challenge, Contribution, WorkshopSession

    engine = make_engine(get_settings().database_url)
    migrate(engine)
    with open_session(engine) as db:
        session = WorkshopSession(code=f"B{os.getpid()}", title="bare", facilitator_token_hash="-")
        db.add(session)
        db.flush()
        challenge = Challenge(session_id=session.id, title="bare")  # type: ignore[arg-type]
        db.add(challenge)
        db.commit()
        ids = (session.id, challenge.id)

    class Body(BaseModel):
        text: str

    app = FastAPI()

    @app.post("/insert", status_code=201)
    def insert(body: Body) -> dict[str, int | None]:
        with open_session(engine) as db:
            row = Contribution(session_id=ids[0], challenge_id=ids[1], text=body.text)  # type: ignore[arg-type]
            db.add(row)
            db.commit()
            return {"id": row.id}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve_baseline(port: int, workers: int) -> None:
    import uvicorn

    uvicorn.run(
        "live:baseline_app",
        factory=True,
        app_dir=str(Path(__file__).resolve().parent),
        port=port,
        workers=workers,
        log_level="warning",
    )


# --- the run -----------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="policylab-bench-"))
    database_url = args.database_url or f"sqlite:///{workdir}/bench.db"
    env = server_env(database_url)
    serve = [sys.executable, "-m", "app.cli", "serve", "--log-level", "warning"]
    server = Server.start([*serve, "--workers", str(args.workers)], env, workdir / "server.log")
    print(f"server log: {workdir / 'server.log'}", file=sys.stderr)
    result: dict[str, Any] = {
        "participants": args.participants,
        "rate": args.rate,
        "seconds": args.seconds,
        "workers": args.workers,
        "database": "postgresql" if database_url.startswith("postgresql") else "sqlite",
        # Other work on the machine skews every figure: say how busy it was.
        "load_average_before": round(os.getloadavg()[0], 2),
    }
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=limits) as client:
            code, facilitator, tokens, challenges = await create_session(
                client, args.participants + 1, "Bench room"
            )
            storm_token, tokens = tokens[0], tokens[1:]
            rss_idle = rss_bytes(server.process.pid)
            for route in args.storm_routes:
                # The whole room reconnecting at once (a restart, the Wi-Fi back), before the
                # room settles: every stream opened at the same instant.
                figures = await storm(server.url, code, tokens, storm_token, challenges[0], route)
                result[f"storm_{route}"] = figures
                await asyncio.sleep(2)  # the storm's streams are gone, their feed too
            room, stop = Room(), asyncio.Event()
            connect_started = time.perf_counter()
            stream_tasks = await open_room(room, server.url, code, tokens, stop)
            result["connect_seconds"] = round(time.perf_counter() - connect_started, 2)
            rss_peak = rss_bytes(server.process.pid)
            cpu_before = cpu_seconds(server.process.pid)
            client_cpu_before = time.process_time()
            submits = {"contribution": Latencies(), "rating": Latencies()}
            contribution_ids: dict[int, list[int]] = {c: [] for c in challenges}

            async def contribute(i: int) -> None:
                participant = random.randrange(len(tokens))
                challenge = challenges[i % len(challenges)]
                response = await submits["contribution"].time(
                    client.post(
                        f"/api/v1/sessions/{code}/contributions",
                        json={
                            "challenge_id": challenge,
                            "text": f"Idea {i}: fund regional AI skills hubs for creatives",
                        },
                        headers={"Authorization": f"Bearer {tokens[participant]}"},
                    ),
                    201,
                )
                if response is not None and response.status_code == 201:
                    contribution_ids[challenge].append(response.json()["id"])

            async def sample_rss() -> None:
                nonlocal rss_peak
                while not stop.is_set():
                    rss_peak = max(rss_peak, rss_bytes(server.process.pid))
                    await asyncio.sleep(0.5)

            sampler = asyncio.create_task(sample_rss())
            room_started = time.perf_counter()
            half = args.seconds / 2
            await open_loop(args.rate, half, contribute)

            # Between the halves the facilitator clusters and opens scoring, as in a lab.
            clusters = []
            for n, challenge in enumerate(challenges):
                members = contribution_ids[challenge]
                for k in range(5):
                    response = await client.post(
                        f"/api/v1/sessions/{code}/clusters",
                        json={
                            "challenge_id": challenge,
                            "title": f"Solution {n + 1}.{k + 1}",
                            "contribution_ids": members[k::5],
                        },
                        headers=facilitator,
                    )
                    if response.status_code != 201:
                        raise SystemExit(f"creating a cluster failed: {response.text}")
                    clusters.append(response.json()["id"])
            await client.post(
                f"/api/v1/sessions/{code}/phase", json={"phase": "scoring"}, headers=facilitator
            )

            async def rate(i: int) -> None:
                participant = random.randrange(len(tokens))
                await submits["rating"].time(
                    client.put(
                        f"/api/v1/sessions/{code}/clusters/{random.choice(clusters)}/rating",
                        json={
                            "relevance": random.randint(1, 5),
                            "policy_level": random.choice(LEVELS),
                        },
                        headers={"Authorization": f"Bearer {tokens[participant]}"},
                    ),
                    200,
                )

            await open_loop(args.rate, half, rate)
            room_seconds = time.perf_counter() - room_started

            # Drain: every stream should reach the newest event.
            probe = Room()
            host_port = server.url.removeprefix("http://")
            final_probe = StreamClient(
                probe, f"/api/v1/sessions/{code}/events", host_port, tokens[0]
            )
            loop = asyncio.get_running_loop()
            host, port = host_port.split(":")
            transport, _ = await loop.create_connection(lambda: final_probe, host, int(port))
            final = await asyncio.wait_for(final_probe.hello, 10)
            transport.close()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and any(s.last != final for s in room.streams):
                await asyncio.sleep(0.1)
            cpu_used = cpu_seconds(server.process.pid) - cpu_before
            client_cpu = time.process_time() - client_cpu_before
            stop.set()
            await sampler
            await asyncio.wait(stream_tasks, timeout=10)

            fanout = [
                s.last_received - s.at
                for seq, s in room.events.items()
                if s.received == len(room.streams)
            ]
            incomplete = sum(1 for s in room.events.values() if s.received < len(room.streams))
            lost = sum(s.gaps + (final - (s.last or 0)) for s in room.streams)
            for kind, latencies in submits.items():
                result[f"{kind}_submits"] = len(latencies.values)
                result[f"{kind}_p50_ms"] = round(percentile(latencies.values, 50) * 1000, 1)
                result[f"{kind}_p99_ms"] = round(percentile(latencies.values, 99) * 1000, 1)
                result[f"{kind}_errors"] = latencies.errors
            every = submits["contribution"].values + submits["rating"].values
            result["submit_p50_ms"] = round(percentile(every, 50) * 1000, 1)
            result["submit_p99_ms"] = round(percentile(every, 99) * 1000, 1)
            result["events"] = len(room.events)
            result["fanout_p50_ms"] = round(percentile(fanout, 50) * 1000, 1)
            result["fanout_p99_ms"] = round(percentile(fanout, 99) * 1000, 1)
            result["fanout_max_ms"] = round(max(fanout, default=float("nan")) * 1000, 1)
            result["events_not_received_by_all"] = incomplete
            result["events_lost"] = lost
            result["duplicates"] = sum(s.duplicates for s in room.streams)
            result["reconnects"] = room.reconnects
            result["resets"] = room.resets
            result["server_rss_idle_mb"] = round(rss_idle / 2**20, 1)
            result["server_rss_peak_mb"] = round(rss_peak / 2**20, 1)
            result["server_kb_per_stream"] = round((rss_peak - rss_idle) / 1024 / len(tokens), 1)
            result["server_cpu_seconds"] = round(cpu_used, 2)
            result["server_cpu_share"] = round(cpu_used / room_seconds, 2)
            result["client_cpu_share"] = round(client_cpu / room_seconds, 2)
            result["load_average_after"] = round(os.getloadavg()[0], 2)

            # Throughput, no streams open: ours, then the bare insert.
            code2, _, tokens2, challenges2 = await create_session(client, 100, "Throughput")

            async def ours(i: int) -> bool:
                response = await client.post(
                    f"/api/v1/sessions/{code2}/contributions",
                    json={"challenge_id": challenges2[i % 2], "text": f"Idea {i}"},
                    headers={"Authorization": f"Bearer {tokens2[i % len(tokens2)]}"},
                )
                return response.status_code == 201

            result["throughput_ours_per_s"] = round(
                await closed_loop(args.concurrency, args.throughput_seconds, ours), 1
            )
    finally:
        server.stop()

    baseline = Server.start(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--baseline-server",
            "--workers",
            str(args.workers),
        ],
        env,
        workdir / "baseline.log",
    )
    try:
        async with httpx.AsyncClient(base_url=baseline.url, timeout=30, limits=limits) as client:

            async def bare(i: int) -> bool:
                response = await client.post("/insert", json={"text": f"Idea {i}"})
                return response.status_code == 201

            result["throughput_bare_per_s"] = round(
                await closed_loop(args.concurrency, args.throughput_seconds, bare), 1
            )
    finally:
        baseline.stop()
    result["throughput_ratio"] = round(
        result["throughput_ours_per_s"] / result["throughput_bare_per_s"], 2
    )
    return result


def report(result: dict[str, Any]) -> None:
    r = result
    for route in ("api", "page"):
        storm_figures = r.get(f"storm_{route}")
        if storm_figures is None:
            continue
        s = storm_figures
        print(
            f"\nStorm ({route}): {s['storm_streams']} streams opened at once; "
            f"{s['storm_answered']} answered (status + hello) "
            f"{'in ' + str(s['storm_all_answered_s']) + ' s' if s['storm_all_answered_s'] else '— NOT ALL'}"
            f" (p50 {s['storm_p50_s']} s, p99 {s['storm_p99_s']} s; {s['storm_statuses']}); "
            f"meanwhile /healthz max {s['storm_healthz_max_s']} s "
            f"(×{s['storm_healthz_count']}), a submit max {s['storm_submit_max_s']} s "
            f"(×{s['storm_submit_count']}); machine load {s['load_average']}"
        )
    print(
        f"\nLive room: {r['participants']} streams, {r['rate']}/s for {r['seconds']} s, "
        f"{r['database']}, {r['workers']} worker(s); all streams connected in "
        f"{r['connect_seconds']} s; machine load {r['load_average_before']} → "
        f"{r['load_average_after']} on {os.cpu_count()} CPUs"
    )
    print(
        f"  submit latency     p50 {r['submit_p50_ms']} ms, p99 {r['submit_p99_ms']} ms  "
        f"(contributions p99 {r['contribution_p99_ms']} ms ×{r['contribution_submits']}, "
        f"ratings p99 {r['rating_p99_ms']} ms ×{r['rating_submits']}; errors "
        f"{r['contribution_errors'] or 0} / {r['rating_errors'] or 0})"
    )
    print(
        f"  fan-out to all     p50 {r['fanout_p50_ms']} ms, p99 {r['fanout_p99_ms']} ms, "
        f"max {r['fanout_max_ms']} ms over {r['events']} events"
    )
    print(
        f"  events lost        {r['events_lost']}  (duplicates {r['duplicates']}, "
        f"reconnects {r['reconnects']}, resets {r['resets']})"
    )
    print(
        f"  server             RSS {r['server_rss_idle_mb']} → {r['server_rss_peak_mb']} MB "
        f"(~{r['server_kb_per_stream']} KB per stream), CPU {r['server_cpu_share']} cores "
        f"(bench client {r['client_cpu_share']})"
    )
    print(
        f"  submit throughput  {r['throughput_ours_per_s']}/s vs bare insert "
        f"{r['throughput_bare_per_s']}/s → ratio {r['throughput_ratio']}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=300)
    parser.add_argument("--rate", type=float, default=30.0, help="submissions per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of the room phase")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--concurrency", type=int, default=16, help="throughput clients")
    parser.add_argument("--throughput-seconds", type=float, default=5.0)
    parser.add_argument(
        "--storm",
        default="api,page",
        help="before the room: open all N streams at the same instant on these routes "
        "(api = /api/v1/…/events, page = /s/…/live; empty: no storm)",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--baseline-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.storm_routes = [r for r in args.storm.split(",") if r]
    if args.baseline_server:
        serve_baseline(args.port, args.workers)
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, args.participants * 2 + 512))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    try:
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        result = runner.run(run(args))
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    storms_answered = all(
        result[f"storm_{route}"]["storm_all_answered_s"] is not None for route in args.storm_routes
    )
    sys.exit(0 if result["events_lost"] == 0 and storms_answered else 1)


if __name__ == "__main__":
    main()
