"""`policylab serve` facing clients directly: slow and idle connections are closed, forwarded
headers are believed only from configured proxies, a 500 tells keep-alive clients to go."""

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.serving import uvicorn_options
from tests.server import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("serving")
    running = ServerProcess(
        tmp,
        {
            "POLICYLAB_DATABASE_URL": f"sqlite:///{tmp / 'serving.db'}",
            "POLICYLAB_HTTP_HEADER_TIMEOUT_SECONDS": "1",
            "POLICYLAB_HTTP_KEEP_ALIVE_SECONDS": "1",
        },
    ).start()
    yield running
    running.stop()


def closed_within(connection: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed the connection (reads return b""), or None."""
    start = time.monotonic()
    connection.settimeout(0.2)
    while time.monotonic() - start < seconds:
        try:
            if connection.recv(65536) == b"":
                return time.monotonic() - start
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - start
    return None


def read_response(connection: socket.socket) -> bytes:
    """One whole HTTP response with a Content-Length (headers and body)."""
    connection.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_connection_that_never_finishes_its_headers_is_closed(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as silent:
        assert closed_within(silent, 6) is not None
    with socket.create_connection(("127.0.0.1", server.port)) as partial:
        partial.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never the blank line
        assert closed_within(partial, 6) is not None


def test_trickling_bytes_does_not_keep_a_connection_open(server: ServerProcess) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as slow:
        slow.settimeout(0.2)
        start = time.monotonic()
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200
        closed = False
        for byte in request:
            try:
                slow.sendall(bytes([byte]))
                if slow.recv(65536) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        assert closed, "the server kept a connection trickling its headers"
        assert time.monotonic() - start < 8


def test_a_prompt_client_is_served_and_kept_alive_between_requests(
    server: ServerProcess,
) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as client:
        for _ in range(3):  # each request well within its deadline, on one connection
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = read_response(client)
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'"ok"}'), answer
            time.sleep(0.3)
        # Then idle: closed after the keep-alive time.
        assert closed_within(client, 6) is not None


def test_forwarded_headers_are_trusted_only_when_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    default = uvicorn_options(Settings())
    assert default["proxy_headers"] is False and default["forwarded_allow_ips"] is None
    configured = uvicorn_options(Settings(forwarded_allow_ips="10.0.0.5"))
    assert configured["proxy_headers"] is True
    assert configured["forwarded_allow_ips"] == "10.0.0.5"
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "127.0.0.1")  # uvicorn's own variable
    assert uvicorn_options(Settings())["forwarded_allow_ips"] == "127.0.0.1"
    limits = uvicorn_options(Settings(max_connections=500, http_keep_alive_seconds=3))
    assert limits["limit_concurrency"] == 500 and limits["timeout_keep_alive"] == 3
    assert limits["http"] == "app.serving:HeaderTimeoutProtocol"


def test_a_server_error_tells_the_client_to_close_the_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Starlette re-raises after the 500 and uvicorn then drops the connection; the answer
    says so, so a keep-alive client does not send its next request into a closed socket."""
    monkeypatch.setenv("POLICYLAB_DATABASE_URL", f"sqlite:///{tmp_path / 'boom.db'}")
    from app.config import get_settings

    get_settings.cache_clear()
    app = create_app()

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/api/v1/boom")
    get_settings.cache_clear()
    assert answer.status_code == 500
    assert answer.headers["connection"] == "close"
    assert answer.json() == {"detail": "Something went wrong on our side. Please try again."}
