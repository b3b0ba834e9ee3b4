"""The live pages' connection as a person sees it (static/js/live.js, app.js): a stream the
server renews is reopened from the last event id without a trace on screen, the connection
indicator speaks only after a real outage, and a deleted session says so and stops.

These tests run their own server whose streams live about three seconds
(`POLICYLAB_STREAM_MAX_SECONDS`), so a renewal happens every few seconds."""

import itertools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect

from tests.e2e import conftest
from tests.e2e.conftest import CHALLENGES, PHONE, Lab, Server, assert_accessible, screenshot

STREAM_MAX_SECONDS = 3
# The browser indicator's patience (app.js OUTAGE_MS), in seconds.
OUTAGE_SECONDS = 3.5
STREAM_URL = "**/s/*/live?**"
LIVE = "[data-live-indicator][data-state=live]"
DELETED = "This session has been deleted."

# Before any script of the page: every stream the page opens (when, its messages, its
# errors) and every state its connection indicator takes, with times in ms since the epoch
# (the page's clock: Playwright's own events reach the test late while it waits elsewhere).
RECORD = """
(() => {
  const Real = window.EventSource;
  const names = ["hello", "update", "timer", "phase", "reset", "ack", "renew", "session_deleted"];
  window.__streams = [];
  window.EventSource = function (url, options) {
    const source = new Real(url, options);
    const log = { url: String(url), at: Date.now(), messages: [], errors: [] };
    window.__streams.push(log);
    names.forEach((name) =>
      source.addEventListener(name, (e) =>
        log.messages.push({ type: name, id: e.lastEventId, data: e.data, at: Date.now() })
      )
    );
    source.addEventListener("error", () => log.errors.push(Date.now()));
    return source;
  };
  window.EventSource.prototype = Real.prototype;
  Object.assign(window.EventSource, { CONNECTING: 0, OPEN: 1, CLOSED: 2 });

  window.__states = [];
  new MutationObserver((records) => {
    for (const record of records) {
      const state = record.target.getAttribute("data-state");
      const last = window.__states[window.__states.length - 1];
      if (record.target.matches("[data-live-indicator]") && (!last || last.state !== state)) {
        window.__states.push({ state, at: Date.now() });
      }
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-state"] });
})();
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose streams are renewed every 2.4–3 s (the lifetime cap, jittered)."""
    running = Server(
        tmp_path_factory.mktemp("e2e-live-client"),
        {"POLICYLAB_STREAM_MAX_SECONDS": str(STREAM_MAX_SECONDS)},
    )
    yield running
    running.stop()


class Watched:
    """A page with its console errors, stream requests (opened and failed) and recordings."""

    def __init__(self, context: BrowserContext) -> None:
        context.add_init_script(RECORD)
        self.page = context.new_page()
        self.errors: list[str] = []
        self.streams: list[str] = []
        self.failed: list[float] = []  # when a stream request failed (time.time())
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", self._request)
        self.page.on("requestfailed", self._failed)

    @staticmethod
    def is_stream(request: Request) -> bool:
        path = urlparse(request.url).path
        return path.startswith("/s/") and path.endswith("/live")

    def _request(self, request: Request) -> None:
        if self.is_stream(request):
            self.streams.append(request.url)

    def _failed(self, request: Request) -> None:
        if self.is_stream(request):
            self.failed.append(time.time())

    def open(self, path: str) -> "Watched":
        self.page.goto(path)
        self.page.wait_for_selector(LIVE, state="attached")
        return self

    def wait_for_streams(self, count: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.streams) < count:
            assert time.monotonic() < deadline, f"{len(self.streams)} streams, {count} expected"
            self.page.wait_for_timeout(100)

    def recorded_streams(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("window.__streams"))

    def states(self) -> list[str]:
        return [entry["state"] for entry in self.page.evaluate("window.__states")]

    def state_times(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate("window.__states"))


def page_size(page: Page) -> list[int]:
    return list(
        page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
    )


def last_id(url: str) -> str:
    return parse_qs(urlparse(url).query)["last_event_id"][0]


def test_a_renewed_stream_changes_nothing_on_screen_and_loses_nothing(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab(participants=1)
    lab.phase("brainstorm")
    board = Watched(lab.sign_in(new_context())).open(f"/s/{lab.code}/facilitate/brainstorm")
    board.page.evaluate("window.__notReloaded = true")
    column = board.page.locator(f"#brainstorm-challenge-{lab.challenges[0]['id']}")

    board.wait_for_streams(2)  # the server renewed the first stream; the second is opening
    lab.contribute(0, 0, "Arrives right after a renewal")
    expect(column.locator(".note__text")).to_have_text(["Arrives right after a renewal"])
    board.wait_for_streams(4)
    board.page.wait_for_selector(LIVE, state="attached")
    expect(column.locator(".note__text")).to_have_count(1)

    # On screen: "Connecting…" became "Live" once, and nothing else ever happened.
    assert board.states() == ["live"]
    assert board.errors == []
    assert board.failed == []
    assert board.page.evaluate("window.__notReloaded") is True

    streams = board.recorded_streams()
    assert len(streams) >= 4
    for before, after in itertools.pairwise(streams):
        kinds = [m["type"] for m in before["messages"]]
        assert kinds[0] == "hello" and kinds[-1] == "renew", kinds
        # The next stream was open at once (well within the indicator's patience).
        gap = after["messages"][0]["at"] - before["messages"][-1]["at"]
        assert 0 <= gap < OUTAGE_SECONDS * 1000, gap
        # The next stream starts where the last one stopped: Last-Event-ID as a query.
        assert last_id(after["url"]) == before["messages"][-1]["id"], (before, after["url"])
    arrived = [
        m
        for stream in streams
        for m in stream["messages"]
        if m["type"] == "update" and "Arrives right after a renewal" in m["data"]
    ]
    assert len(arrived) == 1, arrived  # once: neither lost nor replayed
    assert not [m for s in streams for m in s["messages"] if m["type"] == "reset"]


def test_a_deleted_session_says_so_on_every_open_screen_and_stops_reconnecting(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab()
    token = lab.join("Ana")
    lab.phase("brainstorm")
    participant = Watched(lab.sign_in(new_context(viewport=PHONE), token)).open(f"/s/{lab.code}")
    projector = Watched(lab.sign_in(new_context(viewport={"width": 1920, "height": 1080})))
    projector.open(f"/s/{lab.code}/projector")
    small = Watched(lab.sign_in(new_context(viewport={"width": 1366, "height": 768})))
    small.open(f"/s/{lab.code}/projector")
    participant.page.fill("#field-text", "Half-written when it was deleted")
    sizes = {id(s): page_size(s.page) for s in (projector, small)}

    deleted_at = time.monotonic()
    lab.call("DELETE", "")
    for screen in (participant, projector, small):
        expect(screen.page.locator("[data-live-notices]")).to_contain_text(DELETED, timeout=5_000)
        indicator = screen.page.locator("[data-live-indicator]")
        expect(indicator).to_have_attribute("data-state", "deleted")
        expect(indicator).to_have_text("Session deleted")
    assert time.monotonic() - deleted_at < 3  # at once, not at the next renewal
    # Each heard it from its stream; none reconnected (or asked the API) to find out.
    for screen in (participant, projector, small):
        kinds = [m["type"] for s in screen.recorded_streams() for m in s["messages"]]
        assert kinds[-1] == "session_deleted", kinds
        assert screen.errors == []
    screenshot(participant.page, "live-deleted-participant")
    screenshot(projector.page, "live-deleted-projector-1920")
    screenshot(small.page, "live-deleted-projector-1366")
    # The message (fixed in place) makes nothing scroll that did not before.
    assert {id(s): page_size(s.page) for s in (projector, small)} == sizes

    opened = {id(s): len(s.streams) for s in (participant, projector, small)}
    time.sleep(STREAM_MAX_SECONDS + 2)  # past a lifetime cap and any reconnection delay
    assert {id(s): len(s.streams) for s in (participant, projector, small)} == opened
    expect(participant.page.locator("#field-text")).to_have_value(
        "Half-written when it was deleted"
    )
    link = participant.page.get_by_role("link", name="Go to the start page")
    expect(link).to_be_visible()
    assert_accessible(participant.page, "participant page of a deleted session")
    link.click()
    expect(participant.page).to_have_url(f"{lab.server.url}/")


def test_a_session_deleted_while_the_page_could_not_hear_it_is_found_out(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    """The stream is down (here: refused by the browser) when the session is deleted: the
    failed reconnection asks the API, whose 404 means the same as `session_deleted`."""
    lab = make_lab()
    dashboard = Watched(lab.sign_in(new_context())).open(f"/s/{lab.code}/facilitate")
    dashboard.page.route(STREAM_URL, lambda route: route.abort())
    deadline = time.monotonic() + 10
    while not dashboard.failed:  # the next renewal could not reconnect
        assert time.monotonic() < deadline
        dashboard.page.wait_for_timeout(100)
    lab.call("DELETE", "")
    expect(dashboard.page.locator("[data-live-notices]")).to_contain_text(DELETED, timeout=15_000)
    expect(dashboard.page.locator("[data-live-indicator]")).to_have_attribute(
        "data-state", "deleted"
    )
    tried = len(dashboard.streams)
    time.sleep(4)
    assert len(dashboard.streams) == tried  # no more attempts
    kinds = [m["type"] for s in dashboard.recorded_streams() for m in s["messages"]]
    assert "session_deleted" not in kinds  # found out by the check, not told


def test_the_indicator_speaks_only_after_a_real_outage(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab()
    token = lab.join("Ana")
    page = Watched(lab.sign_in(new_context(viewport=PHONE), token)).open(f"/s/{lab.code}")

    # A short outage: the reconnection after a renewal is refused once; the next one works.
    page.page.route(STREAM_URL, lambda route: route.abort(), times=1)
    deadline = time.monotonic() + 15
    while not outages(page.recorded_streams()) or not page.recorded_streams()[-1]["messages"]:
        assert time.monotonic() < deadline, "no refused stream, or none after it"
        page.page.wait_for_timeout(100)
    streams = page.recorded_streams()
    [(down, up)] = outages(streams)
    assert 0 < up - down < OUTAGE_SECONDS * 1000  # a second or so without a stream
    page.page.wait_for_timeout(int(OUTAGE_SECONDS * 1000))
    assert page.states() == ["live"]  # and nobody saw it

    # A long outage: every reconnection refused. The indicator waits, then says so.
    page.page.route(STREAM_URL, lambda route: route.abort())
    indicator = page.page.locator("[data-live-indicator]")
    expect(indicator).to_have_attribute("data-state", "reconnecting", timeout=15_000)
    expect(indicator).to_have_text("Reconnecting…")
    streams = page.recorded_streams()
    down = first_failure_after_last_stream(streams)
    shown = [e["at"] for e in page.state_times() if e["state"] == "reconnecting"][0]
    assert OUTAGE_SECONDS * 1000 - 100 <= shown - down <= OUTAGE_SECONDS * 1000 + 3000
    screenshot(page.page, "live-reconnecting-participant")

    resume_from = [m["id"] for s in streams for m in s["messages"] if m["id"]][-1]
    page.page.unroute(STREAM_URL)
    expect(page.page.locator(LIVE)).to_have_text("Live", timeout=30_000)
    assert page.states() == ["live", "reconnecting", "live"]
    assert last_id(page.recorded_streams()[-1]["url"]) == resume_from  # where it stopped
    # The attempts were spread out and slowed down (1, 2, 4 … s, at random), not a tight loop.
    attempts = [s["at"] for s in page.recorded_streams() if s["at"] >= down]
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert len(attempts) < 10 and all(gap >= 400 for gap in gaps), gaps


def outages(streams: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(first failure, next hello) of each run of streams that never opened."""
    found = []
    down = None
    for stream in streams:
        if not stream["messages"] and stream["errors"]:
            down = stream["errors"][0] if down is None else down
        elif stream["messages"] and down is not None:
            found.append((down, stream["messages"][0]["at"]))
            down = None
    return found


def first_failure_after_last_stream(streams: list[dict[str, Any]]) -> int:
    """When the ongoing outage began: the first failed attempt after the last stream."""
    last = max(i for i, stream in enumerate(streams) if stream["messages"])
    return min(stream["errors"][0] for stream in streams[last + 1 :] if stream["errors"])


def test_after_a_server_restart_pages_come_back_spread_out_and_miss_nothing(
    browser: Browser, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server stopping ends its streams with `renew` (reason `restart`) and a retry drawn at
    random per stream: each page waits its own time, then resumes from its last event id."""
    env = {"POLICYLAB_STREAM_MAX_SECONDS": "300"}  # no renewal but the restart's
    first = Server(tmp_path, env)
    answer = first.api(
        "POST", "/api/v1/sessions", json={"title": "Restart", "challenges": CHALLENGES}
    )
    data = answer.json()
    lab = Lab(
        first, data["code"], data["facilitator_token"], data["challenges"], data["categories"]
    )
    lab.join("Ana")
    lab.phase("brainstorm")
    lab.contribute(0, 0, "Before the restart")
    contexts = [browser.new_context(base_url=first.url) for _ in range(3)]
    try:
        boards = [
            Watched(lab.sign_in(context)).open(f"/s/{lab.code}/facilitate/brainstorm")
            for context in contexts
        ]
        for board in boards:
            board.page.evaluate("window.__notReloaded = true")

        first.stop()
        monkeypatch.setattr(conftest, "free_port", lambda: first.port)
        second = Server(tmp_path, env)  # the same port and database
        try:
            lab.server = second
            lab.contribute(0, 0, "After the restart")
            for board in boards:
                notes = board.page.locator(".note__text")
                arrived = notes.filter(has_text="After the restart")
                expect(arrived).to_have_count(1, timeout=30_000)
                expect(notes).to_have_count(2)
                assert board.page.evaluate("window.__notReloaded") is True
                streams = board.recorded_streams()
                before = streams[0]["messages"]
                renew = before[-1]
                assert renew["type"] == "renew", [m["type"] for m in before]
                retry = json.loads(renew["data"])["data"]
                assert retry["reason"] == "restart"
                # The page waited the time its stream was given (1-5 s, drawn per stream) …
                waited = streams[1]["at"] - renew["at"]
                assert retry["retry_ms"] - 50 <= waited <= retry["retry_ms"] + 2000, waited
                # … and every attempt since resumed from the last event it had seen.
                assert {last_id(url) for url in board.streams[1:]} == {renew["id"]}
            waits = {
                json.loads(b.recorded_streams()[0]["messages"][-1]["data"])["data"]["retry_ms"]
                for b in boards
            }
            assert len(waits) == len(boards)  # three pages, three different waits
        finally:
            second.stop()
    finally:
        for context in contexts:
            context.close()
