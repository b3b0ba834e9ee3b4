"""The live pages' connection as a person sees it (static/js/live.js, app.js): a stream the
server renews is reopened from the last event id without a trace on screen, the connection
indicator speaks only after a real outage, and a deleted session says so and stops.

These tests run their own server whose streams live about three seconds
(`POLICYLAB_STREAM_MAX_SECONDS`), so a renewal happens every few seconds."""

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect

from tests.e2e.conftest import PHONE, Lab, Server, assert_accessible, screenshot

STREAM_MAX_SECONDS = 3
# The browser indicator's patience (app.js OUTAGE_MS), in seconds.
OUTAGE_SECONDS = 3.5
STREAM_URL = "**/s/*/live?**"
LIVE = "[data-live-indicator][data-state=live]"
DELETED = "This session has been deleted."

# Before any script of the page: every message of every stream the page opens, and every
# state its connection indicator takes (with the time, in ms since the epoch).
RECORD = """
(() => {
  const Real = window.EventSource;
  const names = ["hello", "update", "timer", "phase", "reset", "ack", "renew", "session_deleted"];
  window.__streams = [];
  window.EventSource = function (url, options) {
    const source = new Real(url, options);
    const log = { url: String(url), messages: [] };
    window.__streams.push(log);
    names.forEach((name) =>
      source.addEventListener(name, (e) =>
        log.messages.push({ type: name, id: e.lastEventId, data: e.data })
      )
    );
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
    page.wait_for_streams(2)
    started = len(page.streams)
    page.wait_for_streams(started + 1)  # the retry, a second or so later
    deadline = time.monotonic() + 10
    while not [s for s in page.recorded_streams()[1:] if s["messages"]]:
        assert time.monotonic() < deadline, "no stream after the refused one"
        page.page.wait_for_timeout(100)
    assert len(page.failed) == 1
    page.page.wait_for_timeout(int(OUTAGE_SECONDS * 1000))
    assert page.states() == ["live"]

    # A long outage: every reconnection refused. The indicator waits, then says so.
    page.page.route(STREAM_URL, lambda route: route.abort())
    expect(page.page.locator("[data-live-indicator]")).to_have_attribute(
        "data-state", "reconnecting", timeout=15_000
    )
    expect(page.page.locator("[data-live-indicator]")).to_have_text("Reconnecting…")
    outage = page.failed[1]
    shown = [e for e in page.state_times() if e["state"] == "reconnecting"][0]["at"] / 1000
    assert OUTAGE_SECONDS - 0.5 <= shown - outage <= OUTAGE_SECONDS + 1.5, shown - outage
    screenshot(page.page, "live-reconnecting-participant")

    seen = page.recorded_streams()
    resume_from = [m["id"] for s in seen for m in s["messages"] if m["id"]][-1]
    page.page.unroute(STREAM_URL)
    expect(page.page.locator(LIVE)).to_have_text("Live", timeout=30_000)
    assert page.states() == ["live", "reconnecting", "live"]
    assert last_id(page.streams[-1]) == resume_from  # resumes where it stopped
    # Reconnection attempts were spread out and slowed down, not a tight loop.
    assert len(page.failed) < 10, len(page.failed)
