"""Write requests take turns before they take a worker thread (`app.db.WriteQueue`): a
room's burst of submissions waits in order instead of starving the thread pool that the
request holding the write lock needs to commit."""

from typing import Any

import anyio
import pytest

from app.db import WriteQueue

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message: dict[str, Any]) -> None:
    return None


async def test_writes_take_turns_and_pass_the_turn_when_their_response_starts() -> None:
    log: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"]
        log.append(f"start {path}")
        if path == "/fails":
            raise RuntimeError("boom")
        await anyio.sleep(0.05)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        log.append(f"responded {path}")
        await anyio.sleep(0.05)
        await send({"type": "http.response.body", "body": b""})
        log.append(f"done {path}")

    queue = WriteQueue(app)

    async def call(method: str, path: str) -> None:
        try:
            await queue({"type": "http", "method": method, "path": path}, receive, send)
        except RuntimeError:
            log.append(f"failed {path}")

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(call, "POST", "/first")
            await anyio.sleep(0.01)
            group.start_soon(call, "POST", "/fails")
            group.start_soon(call, "PUT", "/second")
            group.start_soon(call, "GET", "/read")

    def at(entry: str) -> int:
        return log.index(entry)

    assert at("start /read") < at("responded /first")  # reads never wait
    assert at("responded /first") < at("start /fails") < at("done /first")
    assert at("failed /fails") < at("start /second")  # an error passes the turn on too
    assert "done /second" in log


async def test_concurrency_lets_that_many_in_at_once() -> None:
    inside = 0
    most = 0

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await anyio.sleep(0.02)
        inside -= 1

    queue = WriteQueue(app, concurrency=3)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(
                    queue, {"type": "http", "method": "POST", "path": "/"}, receive, send
                )
    assert most == 3
