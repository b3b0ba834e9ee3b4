"""Live workshop in a real browser: every screen follows the room by itself over its event
stream (app/live/pages.py, static/js/live.js), with the server's clock as the timer's
reference."""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import PHONE, Server, assert_accessible, screenshot

LIVE = "[data-live-indicator][data-state=live]"
# A laptop whose clock runs ten minutes fast.
SKEWED_CLOCK = """
(() => {
  const realNow = Date.now.bind(Date);
  Date.now = () => realNow() + 10 * 60 * 1000;
})();
"""


@dataclass
class Lab:
    """A session made through the API, and its people's tokens."""

    server: Server
    code: str
    facilitator_token: str
    challenges: list[dict[str, Any]]
    tokens: list[str] = field(default_factory=list)

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        response = self.server.api(
            method, f"/api/v1/sessions/{self.code}{path}", token or self.facilitator_token, **kwargs
        )
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def join(self, name: str) -> str:
        token = str(self.call("POST", "/participants", json={"name": name})["participant_token"])
        self.tokens.append(token)
        return token

    def phase(self, phase: str) -> None:
        self.call("POST", "/phase", json={"phase": phase})

    def contribute(self, who: int, challenge: int, text: str) -> None:
        body = {"challenge_id": self.challenges[challenge]["id"], "text": text}
        self.call("POST", "/contributions", self.tokens[who], json=body)

    def sign_in(self, context: BrowserContext, token: str | None = None) -> BrowserContext:
        cookie = {"name": f"policylab_{self.code}", "value": token or self.facilitator_token}
        context.add_cookies([{**cookie, "url": self.server.url}])  # type: ignore[list-item]
        return context


@pytest.fixture
def make_lab(server: Server) -> Callable[..., Lab]:
    def make(participants: int = 0) -> Lab:
        body = {
            "title": "AI in the cultural and creative industries",
            "challenges": [{"title": "Innovation ecosystems"}, {"title": "Skills for AI"}],
        }
        response = server.api("POST", "/api/v1/sessions", json=body)
        assert response.status_code == 201, response.text
        data = response.json()
        lab = Lab(server, data["code"], data["facilitator_token"], data["challenges"])
        for i in range(participants):
            lab.join(f"Person {i + 1}")
        return lab

    return make


def open_live(context: BrowserContext, path: str) -> Page:
    """Open a page and wait until its stream is connected."""
    page = context.new_page()
    page.goto(path)
    page.wait_for_selector(LIVE, state="attached")
    return page


def seconds_shown(page: Page, selector: str = "[data-timer-value]") -> int:
    text = page.locator(selector).first.inner_text().strip()
    parts = [int(p) for p in text.split(":")]
    return parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) > 2 else 0)


def test_a_participant_page_follows_the_phase_by_itself(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab()
    token = lab.join("Ana")
    page = open_live(lab.sign_in(new_context(viewport=PHONE), token), f"/s/{lab.code}")
    expect(page.get_by_role("heading", name="Welcome, Ana!")).to_be_visible()

    lab.phase("brainstorm")
    expect(page.locator("#contribute")).to_be_visible(timeout=10_000)
    page.wait_for_selector(LIVE, state="attached")
    screenshot(page, "live-participant-followed-phase")

    # Someone typing is never thrown out: the page waits and says why.
    page.fill("#field-text", "Half-written idea about training budgets")
    lab.phase("clustering")
    notice = page.locator("[data-phase-notice]")
    expect(notice).to_be_visible(timeout=10_000)
    expect(page.locator("#field-text")).to_have_value("Half-written idea about training budgets")
    notice.get_by_role("link", name="Show the next step").click()
    expect(
        page.get_by_role("heading", name="The facilitator is grouping your ideas")
    ).to_be_visible()


def test_a_contribution_appears_on_the_brainstorm_board_without_reload(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab()
    token = lab.join("Bo")
    lab.phase("brainstorm")
    board = open_live(lab.sign_in(new_context()), f"/s/{lab.code}/facilitate/brainstorm")
    board.evaluate("window.__notReloaded = true")
    expect(board.get_by_text("No contributions yet")).to_be_visible()

    participant = open_live(lab.sign_in(new_context(viewport=PHONE), token), f"/s/{lab.code}")
    participant.fill("#field-text", "Nobody funds the pilots of creative SMEs")
    participant.get_by_role("button", name="Send").click()

    column = board.locator(f"#brainstorm-challenge-{lab.challenges[0]['id']}")
    expect(column.locator(".note__text")).to_have_text(
        ["Nobody funds the pilots of creative SMEs"], timeout=10_000
    )
    expect(column.get_by_text("Bo", exact=True)).to_be_visible()  # authors: facilitator only
    expect(board.locator("#brainstorm-counts")).to_contain_text("1 contribution")
    assert board.evaluate("window.__notReloaded") is True

    lab.contribute(0, 1, "Regional hubs lack staff")
    second = board.locator(f"#brainstorm-challenge-{lab.challenges[1]['id']}")
    expect(second.locator(".note__text")).to_have_text(["Regional hubs lack staff"], timeout=10_000)
    assert board.evaluate("window.__notReloaded") is True
    screenshot(board, "live-brainstorm-board")


def test_the_clustering_board_waits_while_a_note_is_selected(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab(participants=1)
    lab.phase("brainstorm")
    lab.contribute(0, 0, "First idea")
    board = open_live(lab.sign_in(new_context()), f"/s/{lab.code}/facilitate/clustering")
    inbox = board.locator("#column-inbox")

    lab.contribute(0, 0, "Arrives while nobody works")
    expect(inbox.get_by_text("Arrives while nobody works")).to_be_visible(timeout=10_000)

    inbox.get_by_role("button", name="First idea").click()
    lab.contribute(0, 0, "Arrives while a note is selected")
    expect(board.locator("[data-live-notices]")).to_contain_text("updates", timeout=10_000)
    expect(inbox.get_by_text("Arrives while a note is selected")).to_have_count(0)
    expect(inbox.get_by_role("button", name="First idea")).to_have_attribute("aria-pressed", "true")

    board.keyboard.press("Escape")
    expect(inbox.get_by_text("Arrives while a note is selected")).to_be_visible(timeout=10_000)
    expect(board.locator("[data-live-notices] .live-notice")).to_have_count(0)


def test_the_timer_shows_the_same_time_everywhere_even_on_a_skewed_clock(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab()
    token = lab.join("Ana")
    lab.phase("brainstorm")
    dashboard = open_live(lab.sign_in(new_context()), f"/s/{lab.code}/facilitate")
    skewed = lab.sign_in(new_context(viewport=PHONE), token)
    skewed.add_init_script(SKEWED_CLOCK)
    participant = open_live(skewed, f"/s/{lab.code}")
    assert participant.evaluate("Date.now() - new Date().getTime()") > 9 * 60 * 1000
    expect(participant.locator("[data-timer]")).to_be_hidden()

    card = dashboard.locator("#timer-card")
    dashboard.fill("#timer-minutes", "5")
    card.get_by_role("button", name="Start", exact=True).click()
    expect(participant.locator("[data-timer]")).to_be_visible(timeout=10_000)
    time.sleep(1.5)
    shown = [seconds_shown(dashboard, "#timer-card [data-timer-value]"), seconds_shown(participant)]
    assert abs(shown[0] - shown[1]) <= 1, shown
    assert 290 <= shown[1] <= 300, shown
    expect(card.get_by_role("button", name="Restart", exact=True)).to_be_visible()
    screenshot(participant, "live-timer-participant-skewed")

    card.get_by_role("button", name="Pause", exact=True).click()
    expect(participant.locator("[data-timer]")).to_contain_text("Paused", timeout=10_000)
    paused = seconds_shown(participant)
    time.sleep(1.5)
    assert seconds_shown(participant) == paused
    assert abs(seconds_shown(dashboard, "#timer-card [data-timer-value]") - paused) <= 1
    # The visible countdown is no live region; only the spoken announcements are.
    assert participant.locator("[role=timer][aria-live]").count() == 0
    screenshot(dashboard, "live-timer-dashboard")
    assert_accessible(dashboard, "dashboard with the timer paused")


def test_every_live_page_says_it_is_live(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab()
    token = lab.join("Ana")
    lab.phase("brainstorm")
    facilitator = lab.sign_in(new_context())
    for path in ("", "/brainstorm", "/clustering", "/matrix"):
        page = open_live(facilitator, f"/s/{lab.code}/facilitate{path}")
        expect(page.locator("[data-live-indicator]").first).to_have_text("Live")
        page.close()
    projector = open_live(facilitator, f"/s/{lab.code}/projector")
    expect(projector.locator("[data-live-indicator]")).to_have_text("Live")
    lab.contribute(0, 0, "Shown on the wall")
    expect(projector.locator(".projector-wall")).to_contain_text(
        "Shown on the wall", timeout=10_000
    )
    assert not re.search(r"Ana\b", projector.locator("#projector-body").inner_text())
    screenshot(projector, "live-projector-wall")

    participant = open_live(lab.sign_in(new_context(viewport=PHONE), token), f"/s/{lab.code}")
    expect(participant.locator("[data-live-indicator]")).to_have_text("Live")
    assert_accessible(participant, "participant page, live")


def test_an_update_waits_while_the_facilitator_edits_a_contribution(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    """What someone types is never overwritten by a live update, and keeps the focus; the
    update follows once they are done."""
    lab = make_lab()
    lab.join("Bo")
    lab.phase("brainstorm")
    lab.contribute(0, 0, "Pilots are not funded")
    board = open_live(lab.sign_in(new_context()), f"/s/{lab.code}/facilitate/brainstorm")
    note = board.locator(".moderated", has_text="Pilots are not funded")
    note.locator("summary").click()
    field = note.get_by_label("Contribution text")
    field.fill("Pilots of creative SMEs are not funded")

    lab.contribute(0, 0, "Arrives while someone edits")
    expect(board.locator("[data-live-notices]")).to_contain_text("updates", timeout=10_000)
    arrived = board.locator(".note__text", has_text="Arrives while someone edits")
    expect(arrived).to_have_count(0)
    expect(field).to_have_value("Pilots of creative SMEs are not funded")
    expect(field).to_be_focused()

    note.get_by_role("button", name="Save").click()
    expect(board.locator(".note__text", has_text="Pilots of creative SMEs")).to_be_visible()
    expect(arrived).to_be_visible(timeout=10_000)
    expect(board.locator("[data-live-notices] .live-notice")).to_have_count(0)
