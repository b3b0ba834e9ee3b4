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


async def test_a_slow_upload_does_not_hold_up_other_writes() -> None:
    """The body is read before the turn is taken: someone trickling bytes cannot block
    everybody's writes."""
    log: list[str] = []
    rest_of_slow_body = anyio.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        log.append(f"{scope['path']} got {body.decode()}")
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    chunks = [
        {"type": "http.request", "body": b"slow-", "more_body": True},
        {"type": "http.request", "body": b"body", "more_body": False},
    ]

    async def slow_receive() -> dict[str, Any]:
        if len(chunks) == 1:
            await rest_of_slow_body.wait()
        return chunks.pop(0)

    async def quick_receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"quick", "more_body": False}

    queue = WriteQueue(app)
    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(
                queue, {"type": "http", "method": "POST", "path": "/slow"}, slow_receive, send
            )
            await anyio.sleep(0.01)
            await queue({"type": "http", "method": "POST", "path": "/quick"}, quick_receive, send)
            assert log == ["/quick got quick"]  # while the slow body is still arriving
            rest_of_slow_body.set()
    assert log == ["/quick got quick", "/slow got slow-body"]
