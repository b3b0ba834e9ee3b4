"""A deleted (or purged) session tells every open stream at once, on the API and on the
pages, and the streams end; opening one again answers 404, so browsers stop reconnecting."""

import asyncio

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.config import get_settings
from app.live.hub import LiveHub
from app.report.service import purge_once
from app.sessions.auth import find_session
from app.sessions.service import delete_session
from tests.conftest import Workshop, create_workshop
from tests.live.conftest import LiveServer, SSEReader

DELIVERY_SECONDS = 5.0


def open_streams(server: LiveServer, workshop: Workshop) -> dict[str, SSEReader]:
    """The API's stream and three pages' streams of one session, each past its hello."""
    page = f"/s/{workshop.code}/live"
    readers = {
        "api": server.stream(workshop.url("/events"), workshop.p(0)),
        "participant page": server.stream(f"{page}?view=participant", workshop.p(1)),
        "dashboard": server.stream(f"{page}?view=dashboard", workshop.f),
        "projector": server.stream(f"{page}?view=projector", workshop.f),
    }
    for name, reader in readers.items():
        assert reader.status_code == 200, name
        assert reader.next().event == "hello", name
    return readers


def assert_told_and_ended(readers: dict[str, SSEReader]) -> None:
    for name, reader in readers.items():
        message = reader.next(timeout=DELIVERY_SECONDS)
        assert message.event == "session_deleted", (name, message)
        assert message.json["kind"] == "session_deleted"
        assert reader.finished.wait(DELIVERY_SECONDS), f"the {name} stream did not end"
        assert reader.error is None, name
        # The API's messages all carry an id; a page's keeps the last one it rendered.
        assert (message.id is not None) == (name == "api"), name


def assert_gone_for_good(server: LiveServer, workshop: Workshop) -> None:
    for path, headers in (
        (workshop.url("/events"), workshop.p(0)),
        (f"/s/{workshop.code}/live?view=participant", workshop.p(1)),
        (f"/s/{workshop.code}/live?view=dashboard", workshop.f),
    ):
        again = server.client.get(path, headers={**headers, "Accept": "text/event-stream"})
        assert again.status_code == 404, path


def test_deleting_a_session_tells_every_open_stream_and_ends_them(
    live_server: LiveServer,
) -> None:
    workshop = create_workshop(live_server.client, participants=2)  # type: ignore[arg-type]
    workshop.phase("brainstorm")
    other = create_workshop(live_server.client, participants=1)  # type: ignore[arg-type]
    other.phase("brainstorm")
    bystander = live_server.stream(other.url("/events"), other.p(0))
    readers = open_streams(live_server, workshop)
    try:
        assert bystander.next().event == "hello"
        response = live_server.client.delete(workshop.url(), headers=workshop.f)
        assert response.status_code == 204
        assert_told_and_ended(readers)
        assert_gone_for_good(live_server, workshop)

        # Another session's stream hears nothing of it and goes on.
        assert bystander.quiet_for(1.0) == []
        other.contribute(0, 0, "Still here")
        assert bystander.next().event == "contribution_added"
    finally:
        for reader in [*readers.values(), bystander]:
            reader.close()


def test_purging_a_session_tells_its_open_streams(live_server: LiveServer) -> None:
    workshop = create_workshop(live_server.client, participants=2)  # type: ignore[arg-type]
    workshop.phase("report")
    readers = open_streams(live_server, workshop)
    try:
        assert purge_once(live_server.app.state.engine, 0) == [workshop.code]
        assert_told_and_ended(readers)
        assert_gone_for_good(live_server, workshop)
    finally:
        for reader in readers.values():
            reader.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_a_subscriber_hears_of_the_deletion_and_a_late_one_at_once(
    workshop: Workshop, engine: Engine
) -> None:
    """The hub's part: a subscriber waiting when the deletion commits is woken and `gone`; a
    stream whose opening read still saw the session but that subscribes after the deletion
    is `gone` from the start."""
    hub = LiveHub(engine, get_settings())
    await hub.start()
    try:
        with Session(engine) as db:
            session_id = find_session(db, workshop.code).id
        assert session_id is not None
        async with hub.subscribe(session_id) as waiting:
            assert not waiting.gone

            def delete() -> None:
                with Session(engine) as db:
                    delete_session(db, find_session(db, workshop.code))
                    db.commit()

            await asyncio.to_thread(delete)
            assert await asyncio.wait_for(waiting.get(), DELIVERY_SECONDS) == []
            assert waiting.gone and waiting.closed
        async with hub.subscribe(session_id) as late:
            assert late.gone
        assert not hub.feeds
    finally:
        await hub.stop()
