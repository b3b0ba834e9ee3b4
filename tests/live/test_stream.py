"""The event stream through the real endpoint, served by uvicorn: live delivery, replay by
Last-Event-ID, resets, auth, headers, lifetime cap and dropping slow clients."""

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from app.live import service
from app.sessions.auth import find_session
from tests.conftest import Workshop, bearer, create_workshop
from tests.live.conftest import LiveServer, SSEMessage


def workshop_on(server: LiveServer, participants: int = 2) -> Workshop:
    """A session in the brainstorm phase, created through the server's API."""
    workshop = create_workshop(server.client, participants=participants)  # type: ignore[arg-type]
    workshop.phase("brainstorm")
    return workshop


def record_events(server: LiveServer, code: str, count: int) -> int:
    """Store `count` events in one transaction, as a service would; returns the last seq."""
    with Session(server.app.state.engine) as db:
        session = find_session(db, code)
        for i in range(count):
            event = service.record_event(db, session, "test_event", n=i)
        db.commit()
        return event.seq


def seqs(messages: list[SSEMessage]) -> list[int]:
    return [m.seq for m in messages]


def test_a_stream_receives_an_event_committed_after_it_connected(live_server: LiveServer) -> None:
    workshop = workshop_on(live_server)
    reader = live_server.stream(workshop.url("/events"), workshop.p(0))
    try:
        hello = reader.next()
        assert hello.event == "hello"
        assert hello.json["data"]["phase"] == "brainstorm"
        assert hello.json["data"]["timer"]["state"] == "idle"
        start = hello.seq
        assert hello.id == str(start) and hello.json["data"]["last_seq"] == start

        created = workshop.contribute(1, 0, "Nobody funds the pilots")

        message = reader.next()
        assert message.event == "contribution_added"
        assert message.id == str(start + 1)
        body = message.json
        assert body["seq"] == start + 1 and body["kind"] == "contribution_added"
        assert body["data"] == {
            "contribution_id": created["id"],
            "challenge_id": workshop.challenges[0]["id"],
        }
        at = datetime.fromisoformat(body["at"])
        assert abs(datetime.now(UTC) - at) < timedelta(seconds=30)
        assert reader.quiet_for(1.5) == []
    finally:
        reader.close()


def test_reconnecting_with_last_event_id_replays_exactly_the_missed_events(
    live_server: LiveServer,
) -> None:
    workshop = workshop_on(live_server)
    reader = live_server.stream(workshop.url("/events"), workshop.f)
    # A connection without Last-Event-ID starts at the newest event when it subscribes
    # (its hello): submitting before the hello arrived could fall before that start.
    seen = [reader.next()]
    first = [workshop.contribute(0, 0, f"Seen live {i}") for i in range(2)]
    seen += reader.take(2)
    reader.close()
    assert [m.event for m in seen] == ["hello", "contribution_added", "contribution_added"]
    last_id = seen[-1].id
    assert last_id is not None and seen[-1].json["data"]["contribution_id"] == first[-1]["id"]

    missed = [workshop.contribute(1, 1, f"Missed {i}") for i in range(3)]
    workshop.phase("clustering")

    again = live_server.stream(workshop.url("/events"), {**workshop.f, "Last-Event-ID": last_id})
    try:
        hello = again.next()
        assert hello.event == "hello" and hello.seq == int(last_id)
        assert hello.json["data"]["phase"] == "clustering"
        replayed = again.take(4)
        assert seqs(replayed) == [int(last_id) + i for i in range(1, 5)]
        assert [m.json["data"].get("contribution_id") for m in replayed[:3]] == [
            c["id"] for c in missed
        ]
        assert replayed[3].event == "phase_changed"
        assert replayed[3].json["data"] == {"phase": "clustering", "previous": "brainstorm"}

        workshop.phase("brainstorm")
        live = again.next()
        assert live.seq == int(last_id) + 5 and live.event == "phase_changed"
        assert again.quiet_for(1.5) == []  # nothing twice
    finally:
        again.close()


def test_a_first_connection_may_start_from_a_query_parameter(live_server: LiveServer) -> None:
    workshop = workshop_on(live_server)
    for i in range(3):
        workshop.contribute(0, 0, f"Idea {i}")
    reader = live_server.stream(workshop.url("/events?last_event_id=2"), workshop.f)
    try:
        hello = reader.next()
        assert hello.seq == 2
        newest = hello.json["data"]["last_seq"]
        assert seqs(reader.take(newest - 2)) == list(range(3, newest + 1))
        assert reader.quiet_for(1) == []
    finally:
        reader.close()


def test_a_fresh_connection_starts_at_the_newest_event(live_server: LiveServer) -> None:
    workshop = workshop_on(live_server)
    workshop.contribute(0, 0, "Before connecting")
    reader = live_server.stream(workshop.url("/events"), workshop.f)
    try:
        hello = reader.next()
        assert hello.seq == hello.json["data"]["last_seq"] > 0
        assert reader.quiet_for(1.5) == []
    finally:
        reader.close()


def test_a_long_backlog_is_replayed_in_order(live_server: LiveServer) -> None:
    workshop = workshop_on(live_server)
    newest = record_events(live_server, workshop.code, 1200)
    start = newest - 1150
    reader = live_server.stream(
        workshop.url("/events"), {**workshop.f, "Last-Event-ID": str(start)}
    )
    try:
        assert reader.next().event == "hello"
        replayed = reader.take(1150, timeout=30)
        assert seqs(replayed) == list(range(start + 1, newest + 1))
        assert reader.quiet_for(1) == []
    finally:
        reader.close()


def test_a_client_behind_the_oldest_kept_event_is_told_to_reset(live_server: LiveServer) -> None:
    workshop = workshop_on(live_server)
    newest = record_events(live_server, workshop.code, 10)
    with Session(live_server.app.state.engine) as db:
        deleted = service.prune_events(
            db, retention_hours=1, keep_last=3, now=datetime.now(UTC) + timedelta(hours=2)
        )
        db.commit()
    assert deleted == newest - 3

    reader = live_server.stream(workshop.url("/events"), {**workshop.f, "Last-Event-ID": "1"})
    try:
        hello, reset = reader.take(2)
        assert reset.event == "reset" and reset.json["data"] == {"reason": "events_pruned"}
        assert hello.seq == reset.seq == newest
        workshop.contribute(0, 0, "After the reset")
        assert reader.next().seq == newest + 1
    finally:
        reader.close()

    # An id from the future (another database, a restored backup) resets too.
    future = live_server.stream(
        workshop.url("/events"), {**workshop.f, "Last-Event-ID": str(newest + 100)}
    )
    try:
        hello, reset = future.take(2)
        assert reset.event == "reset" and reset.json["data"]["reason"] == "unknown_event_id"
        assert reset.seq == newest + 1
    finally:
        future.close()


def test_the_stream_needs_a_token_of_this_session(live_server: LiveServer) -> None:
    workshop = workshop_on(live_server)
    other = create_workshop(live_server.client, participants=1)  # type: ignore[arg-type]
    client = live_server.client
    assert client.get(workshop.url("/events")).status_code == 401
    assert client.get(workshop.url("/events"), headers=bearer("nonsense")).status_code == 401
    response = client.get(workshop.url("/events"), headers=other.f)
    assert response.status_code == 403 and "detail" in response.json()
    assert client.get("/api/v1/sessions/ZZZZZZ/events", headers=workshop.f).status_code == 404

    cookie = {
        "Cookie": f"policylab_{workshop.code}={workshop.participants[0]['participant_token']}"
    }
    reader = live_server.stream(workshop.url("/events"), cookie)
    try:
        assert reader.status_code == 200
        assert reader.next().event == "hello"
    finally:
        reader.close()


def test_stream_headers_keep_proxies_from_buffering(live_server: LiveServer) -> None:
    workshop = workshop_on(live_server)
    reader = live_server.stream(workshop.url("/events"), workshop.f)
    try:
        headers = reader.response_headers
        assert headers is not None
        assert headers["content-type"].startswith("text/event-stream")
        assert headers["x-accel-buffering"] == "no"
        assert headers["cache-control"] == "no-cache"
    finally:
        reader.close()


def test_streams_end_after_their_lifetime_and_free_their_feed(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_server.app.state.live.settings, "stream_max_seconds", 1)
    workshop = workshop_on(live_server)
    started = time.monotonic()
    reader = live_server.stream(workshop.url("/events"), workshop.f)
    try:
        assert reader.next().event == "hello"
        assert reader.finished.wait(5), "the stream did not end"
        assert time.monotonic() - started < 4
        assert reader.error is None
    finally:
        reader.close()
    wait_for(lambda: not live_server.app.state.live.feeds, "the feed was not released")


def raw_stream(server: LiveServer, path: str, headers: dict[str, str]) -> list[str]:
    """Every line of a stream until the server ends it (retry fields included)."""
    timeout = httpx.Timeout(10.0, read=5.0)
    with httpx.stream("GET", server.url + path, headers=headers, timeout=timeout) as response:
        assert response.status_code == 200
        return list(response.iter_lines())


def fields(lines: list[str], at: int) -> dict[str, str]:
    """The fields of the message that `lines[at]` belongs to."""
    start = at
    while start > 0 and lines[start - 1]:
        start -= 1
    message: dict[str, str] = {}
    for line in lines[start:]:
        if not line:
            break
        key, _, value = line.partition(": ")
        message[key] = value
    return message


@pytest.mark.parametrize("route", ["api", "page"])
def test_a_stream_ends_its_life_with_renew_and_sets_a_jittered_retry(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch, route: str
) -> None:
    """The browser needs to know a planned end from an outage: the last message is `renew`,
    with a short reconnection delay; each stream gives its own delay after `hello`, so a
    room's reconnects after a server restart are spread."""
    monkeypatch.setattr(live_server.app.state.live.settings, "stream_max_seconds", 1)
    workshop = workshop_on(live_server)
    if route == "api":
        path, headers = workshop.url("/events"), workshop.f
    else:
        path, headers = f"/s/{workshop.code}/live?view=participant", workshop.p(0)
    lines = raw_stream(live_server, path, headers)
    events = [i for i, line in enumerate(lines) if line.startswith("event: ")]
    hello, renew = fields(lines, events[0]), fields(lines, events[-1])
    assert hello["event"] == "hello"
    assert renew["event"] == "renew"
    assert json.loads(renew["data"])["data"] == {
        "reason": "lifetime",
        "retry_ms": int(renew["retry"]),
    }
    assert 250 <= int(renew["retry"]) <= 1000
    # A page's ids may stay behind a coalesced burst: its renew must not move the id on.
    assert ("id" in renew) == (route == "api")
    retries = [int(line.removeprefix("retry: ")) for line in lines if line.startswith("retry: ")]
    after_hello = [
        int(line.removeprefix("retry: "))
        for line in lines[events[0] : events[-1]]
        if line.startswith("retry: ")
    ]
    assert after_hello and 1000 <= after_hello[-1] <= 5000, retries


def test_open_streams_hold_no_connection_and_no_opening_slot(live_server: LiveServer) -> None:
    """Waiting streams hold nothing: no pooled connection, no thread of the stream opens."""
    workshop = workshop_on(live_server, participants=3)
    page = f"/s/{workshop.code}/live"
    readers = [
        live_server.stream(workshop.url("/events"), workshop.p(i % 3)) for i in range(10)
    ] + [live_server.stream(f"{page}?view=participant", workshop.p(i % 3)) for i in range(10)]
    try:
        for reader in readers:
            assert reader.next().event == "hello"
        engine, hub = live_server.app.state.engine, live_server.app.state.live
        wait_for(lambda: engine.pool.checkedout() == 0, "an idle stream holds a connection")
        assert hub._open_limiter.borrowed_tokens == 0
        assert hub._limiter.borrowed_tokens == 0
        workshop.contribute(0, 0, "Everyone sees this")
        for reader in readers:
            assert reader.next().event in ("contribution_added", "update", "ack")
        wait_for(lambda: engine.pool.checkedout() == 0, "a stream kept its connection")
    finally:
        for reader in readers:
            reader.close()


def test_a_disconnected_client_is_noticed(live_server: LiveServer) -> None:
    workshop = workshop_on(live_server)
    reader = live_server.stream(workshop.url("/events"), workshop.f)
    assert reader.next().event == "hello"
    assert live_server.app.state.live.feeds
    reader.close()
    wait_for(lambda: not live_server.app.state.live.feeds, "the stream outlived its client")


def test_a_client_too_far_behind_is_dropped_and_replays_on_reconnect(
    live_server: LiveServer,
) -> None:
    live_server.app.state.live.queue_limit = 3
    workshop = workshop_on(live_server)
    reader = live_server.stream(workshop.url("/events"), workshop.f)
    try:
        hello = reader.next()
        newest = record_events(live_server, workshop.code, 8)  # one batch of 8 > 3
        assert reader.finished.wait(5), "the slow client was not dropped"
        delivered = reader.quiet_for(0.2)
    finally:
        reader.close()
    last = delivered[-1].id if delivered else hello.id
    assert last is not None

    again = live_server.stream(workshop.url("/events"), {**workshop.f, "Last-Event-ID": last})
    try:
        assert again.next().event == "hello"
        replayed = again.take(newest - int(last))
        assert seqs(delivered + replayed) == list(range(hello.seq + 1, newest + 1))
    finally:
        again.close()


def wait_for(condition: Any, message: str, timeout: float = 5.0) -> None:
    """Poll `condition` until true, or fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)
