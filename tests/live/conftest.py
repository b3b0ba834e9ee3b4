"""A real server for stream tests (SSE through TestClient can hang), and an SSE reader.

Every wait is bounded: readers use short keep-alives and read timeouts, and every helper
takes a deadline.
"""

import contextlib
import json
import os
import queue
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from app.config import get_settings
from app.main import create_app

REDIS_URL = os.environ.get("POLICYLAB_TEST_REDIS_URL")


@dataclass
class SSEMessage:
    """One parsed server-sent event."""

    id: str | None
    event: str
    data: str

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.data)  # type: ignore[no-any-return]

    @property
    def seq(self) -> int:
        return int(self.json["seq"])


def parse_sse(lines: Iterator[str]) -> Iterator[SSEMessage]:
    """SSE messages from a stream of lines (comments and retry fields skipped)."""
    event_id: str | None = None
    name = "message"
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield SSEMessage(event_id, name, "\n".join(data))
            event_id, name, data = None, "message", []
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "id":
            event_id = value
        elif key == "event":
            name = value
        elif key == "data":
            data.append(value)


@dataclass
class SSEReader:
    """Reads one SSE stream in a thread; `next()`/`take()` wait with deadlines."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    messages: "queue.Queue[SSEMessage]" = field(default_factory=queue.Queue)
    status_code: int | None = None
    response_headers: httpx.Headers | None = None
    error: BaseException | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._socket: socket.socket | None = None
        self._connected = threading.Event()
        self.finished = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._connected.wait(10):
            raise AssertionError(f"no answer from {self.url}")

    def _run(self) -> None:
        try:
            timeout = httpx.Timeout(10.0, read=5.0)
            with (
                httpx.Client(timeout=timeout) as client,
                client.stream("GET", self.url, headers=self.headers) as response,
            ):
                self.status_code = response.status_code
                self.response_headers = response.headers
                stream = response.extensions.get("network_stream")
                self._socket = stream.get_extra_info("socket") if stream else None
                self._connected.set()
                if response.status_code != 200:
                    return
                for message in parse_sse(self._lines(response)):
                    self.messages.put(message)
        except BaseException as exc:  # reported through `error`, never lost in the thread
            if not self._stop.is_set():  # not the hang-up of `close()`
                self.error = exc
        finally:
            self._connected.set()
            self.finished.set()

    def _lines(self, response: httpx.Response) -> Iterator[str]:
        for line in response.iter_lines():
            if self._stop.is_set():
                return
            yield line

    def next(self, timeout: float = 10.0) -> SSEMessage:
        """The next message, or fail after `timeout` seconds."""
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s (error: {self.error!r})") from None

    def take(self, count: int, timeout: float = 10.0) -> list[SSEMessage]:
        """The next `count` messages, all within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        return [self.next(max(0.01, deadline - time.monotonic())) for _ in range(count)]

    def quiet_for(self, seconds: float) -> list[SSEMessage]:
        """Whatever arrives within `seconds` (expected: nothing)."""
        extra = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                extra.append(self.messages.get(timeout=left))
            except queue.Empty:
                break
        return extra

    def close(self) -> None:
        """Stop reading and hang up at once (instead of at the next keep-alive, up to a
        second later), and wait for the thread."""
        self._stop.set()
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=10)


@dataclass
class LiveServer:
    """A uvicorn server running our app in a thread, on a free port."""

    app: FastAPI
    url: str
    client: httpx.Client

    def stream(self, path: str, headers: dict[str, str] | None = None) -> SSEReader:
        return SSEReader(self.url + path, headers or {})


def free_socket() -> socket.socket:
    """A listening-ready socket on a free local port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def live_env(settings_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Short keep-alives and safety ticks, so readers and tests never wait long."""
    monkeypatch.setenv("POLICYLAB_KEEPALIVE_SECONDS", "1")
    monkeypatch.setenv("POLICYLAB_EVENT_POLL_SECONDS", "1")
    monkeypatch.setenv("POLICYLAB_RATE_LIMITS", "false")
    get_settings.cache_clear()


@pytest.fixture
def live_server(live_env: None) -> Iterator[LiveServer]:
    """Our app served by uvicorn in a thread (lifespan included), with an httpx client."""
    app = create_app()
    sock = free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        ws="none",
        loop="asyncio",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("the test server did not start")
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=10) as client:
        yield LiveServer(app=app, url=url, client=client)
    server.should_exit = True
    thread.join(timeout=15)
    sock.close()
    assert not thread.is_alive(), "the test server did not stop"
