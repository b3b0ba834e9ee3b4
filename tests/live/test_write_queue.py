"""With SQLite, write requests take turns before they take a worker thread
(`app.db.SQLiteWriteQueue`): a room's burst of submissions waits in order instead of
starving the thread pool that the request holding the write lock needs to finish."""

from typing import Any

import anyio
import pytest

from app.db import SQLiteWriteQueue

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

    queue = SQLiteWriteQueue(app)

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
