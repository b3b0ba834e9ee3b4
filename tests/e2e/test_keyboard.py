"""The workshop with the keyboard alone: the facilitator changes phases and clusters, a
participant brainstorms and scores, with nothing but Tab, arrows, Enter, Space, Escape and
typing. Every focus stop on the way must be visible (tests/e2e/conftest.py `tab_to`); the
tab order follows the reading order, nothing traps the focus, and the regions that speak to
screen readers are polite and never the long, changing lists."""

import re
import time
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Locator, Page, Route, expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    PHONE_DEVICE,
    Lab,
    assert_accessible,
    assert_focus_visible,
    screenshot,
    tab_to,
)

BOX = "One gap or missing intervention"
TESTBEDS = "Shared AI testbeds for creative SMEs"


def press(page: Page, key: str, times: int = 1) -> None:
    for _ in range(times):
        page.keyboard.press(key)


def enter_on(page: Page, target: Locator, where: str, *, back: bool = False) -> None:
    """Tab to `target` (every stop visible) and press Enter on it."""
    tab_to(page, target, where, back=back)
    page.keyboard.press("Enter")


def start(page: Page, url: str) -> None:
    """Open a page as someone typing its address: focus starts at the top of the document."""
    page.goto(url)
    expect(page.locator("h1").first).to_be_attached()
    page.evaluate("document.activeElement && document.activeElement.blur()")


def slow_answer(route: Route) -> None:
    """Hold the server's answer back a little, as a busy venue network would: the live
    update of the same change then arrives first."""
    response = route.fetch()
    time.sleep(0.6)
    route.fulfill(response=response)


def facilitator_moves_on(page: Page, lab: Lab, button: str, phase: str) -> None:
    start(page, f"/s/{lab.code}/facilitate")
    # The live stream must be up, so that its update races the button's own answer.
    expect(page.locator("[data-live-indicator]").first).to_have_text(re.compile("Live"))
    page.route(re.compile(r"/facilitate/phase$"), slow_answer)
    enter_on(page, page.get_by_role("button", name=button), f"dashboard: {button}")
    expect(page.locator("#dash-phase .stepper [aria-current=step]")).to_contain_text(phase)
    # The phase card takes the focus back after its redraw, visibly.
    expect(page.locator("#dash-phase-title")).to_be_focused()
    assert_focus_visible(page, "dashboard after a phase change")
    page.unroute(re.compile(r"/facilitate/phase$"))


def test_the_workshop_with_the_keyboard_alone(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab()
    token = lab.join("Kim")
    other = lab.join("Lou")
    fac = lab.sign_in(new_context(DESKTOP)).new_page()
    kim = lab.sign_in(new_context(DESKTOP), token).new_page()

    # --- the facilitator opens the brainstorm -----------------------------------------------
    facilitator_moves_on(fac, lab, "Open the brainstorm", "Brainstorm")

    # --- a participant writes to both challenges --------------------------------------------
    start(kim, f"/s/{lab.code}")
    ideas = [
        "No shared testbed where artists and AI developers can prototype together",
        "Art schools do not teach how generative models work",
    ]
    box = kim.get_by_label(BOX)
    tab_to(kim, box, "participant: the contribution box")
    kim.keyboard.type(ideas[0])
    enter_on(kim, kim.get_by_role("button", name="Send"), "participant: Send")
    expect(kim.locator(".brainstorm__mine")).to_contain_text(ideas[0])
    # After sending, the focus is back in the empty box for the next idea.
    expect(kim.get_by_label(BOX)).to_be_focused()
    expect(kim.get_by_label(BOX)).to_have_value("")
    assert_focus_visible(kim, "participant: box after sending")
    tabs = kim.get_by_role("navigation", name="Challenges")
    second = tabs.get_by_role("link", name=re.compile("Skills for AI"))
    enter_on(kim, second, "tabs", back=True)
    expect(kim.locator("#challenge-title")).to_contain_text("Skills for AI")
    # The redraw keeps the focus on the tab just chosen, not lost to the top of the page.
    expect(second).to_have_attribute("aria-current", "page")
    expect(second).to_be_focused()
    tab_to(kim, kim.get_by_label(BOX), "participant: the box of the second challenge")
    kim.keyboard.type(ideas[1])
    enter_on(kim, kim.get_by_role("button", name="Send"), "participant: Send")
    expect(kim.locator(".brainstorm__mine")).to_contain_text(ideas[1])
    lab.contribute(1, 0, "Small creative studios cannot afford compute for AI experiments")
    del other

    # --- the facilitator clusters by keyboard ---------------------------------------------
    facilitator_moves_on(fac, lab, "Close the brainstorm and start clustering", "Clustering")
    start(fac, f"/s/{lab.code}/facilitate/clustering")
    new_cluster = fac.locator("#new-cluster")
    tab_to(fac, new_cluster.get_by_label("Title"), "board: new cluster title")
    fac.keyboard.type(TESTBEDS)
    tab_to(fac, new_cluster.get_by_label("Category"), "board: new cluster category")
    press(fac, "ArrowDown")  # the second category: Ecosystem structure
    expect(new_cluster.get_by_label("Category")).to_have_value("Ecosystem structure")
    enter_on(fac, new_cluster.get_by_role("button", name="Create cluster"), "board: Create")
    column = fac.locator("section.board__column", has=fac.locator("h3", has_text=TESTBEDS))
    expect(column).to_be_visible()

    inbox = fac.locator("#column-inbox")
    for text in (ideas[0], "Small creative studios cannot afford compute"):
        start(fac, f"/s/{lab.code}/facilitate/clustering")
        note = inbox.locator("[data-note]", has_text=text)
        tab_to(fac, note, "board: a note")
        press(fac, "Enter")
        expect(note).to_have_attribute("aria-pressed", "true")
        expect(fac.locator("#board-status")).to_contain_text("Selected")
        move_here = column.get_by_role("button", name=re.compile("^Move here"))
        enter_on(fac, move_here, "board: Move here")
        moved = column.locator("[data-note]", has_text=text)
        expect(moved).to_be_visible()
        # The focus follows the note to its new column, visibly.
        expect(moved).to_be_focused()
        assert_focus_visible(fac, "board: the moved note")
        expect(fac.locator("#board-status")).to_contain_text(f"to “{TESTBEDS}”")

    # Escape drops a selection without moving anything.
    note = column.locator("[data-note]").first
    tab_to(fac, note, "board: back to the first note", back=True)
    press(fac, "Enter")
    expect(note).to_have_attribute("aria-pressed", "true")
    press(fac, "Escape")
    expect(fac.locator("#board-status")).to_contain_text("Selection cleared")
    expect(column.locator("[data-note]")).to_have_count(2)
    screenshot(fac, "keyboard-clustering-board")

    # --- scoring by keyboard -----------------------------------------------------------------
    facilitator_moves_on(fac, lab, "Open scoring", "Scoring")
    start(kim, f"/s/{lab.code}")
    card = kim.locator("article.score-card", has_text=TESTBEDS)
    relevance = card.get_by_role("radio", name=re.compile("^1"))
    tab_to(kim, relevance, "scoring: relevance scale")
    press(kim, "Space")  # 1 …
    press(kim, "ArrowRight", 3)  # … to 4
    expect(card.get_by_role("radio", name=re.compile("^4"))).to_be_checked()
    assert_focus_visible(kim, "scoring: relevance 4")
    press(kim, "Tab")  # into the policy level group
    press(kim, "ArrowRight")  # local & regional → national
    expect(card.get_by_role("radio", name="National")).to_be_checked()
    assert_focus_visible(kim, "scoring: policy level")
    # Chosen with the arrow keys (which pass over every option): saved after a pause, in
    # place, with the focus where it was.
    expect(card.locator(".score-status")).to_contain_text("Saved")
    expect(card.get_by_role("radio", name="National")).to_be_focused()
    expect(card.locator(".score-status")).to_contain_text("4 (High) · National")
    expect(kim.locator("#scoring-progress")).to_contain_text("1 of 1")
    assert_accessible(kim, "scoring after a keyboard save")

    # --- results --------------------------------------------------------------------------
    facilitator_moves_on(fac, lab, "Close scoring and show the results", "Report")
    start(fac, f"/s/{lab.code}/facilitate/matrix")
    ranking = fac.locator("table.ranking").first
    expect(ranking).to_contain_text(TESTBEDS)
    # The matrix's scrollable table is reachable with the keyboard, so it can be scrolled.
    tab_to(fac, fac.get_by_role("region", name=re.compile("^Matrix for")).first, "matrix")


def _tab_stops(page: Page, limit: int = 150) -> list[dict[str, object]]:
    """Tab from the top of the page until the focus leaves the document or comes back around."""
    stops: list[dict[str, object]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(
            """() => { const el = document.activeElement;
                 if (!el || el === document.body) return null;
                 const r = el.getBoundingClientRect();
                 return {key: el.outerHTML.slice(0, 80), top: r.top + window.scrollY,
                         left: r.left, text: (el.innerText || el.value || '').trim().slice(0, 30)}; }"""
        )
        if stop is None or (stops and stop["key"] == stops[0]["key"]):
            break
        stops.append(stop)
    return stops


def test_no_trap_and_reading_order_on_the_phone(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    """On a phone the page is one column: Tab must walk it top to bottom, reach the end and
    leave the page (no trap), on every participant phase."""
    lab = make_lab()
    token = lab.join("Kim")
    lab.phase("brainstorm")
    ids = [lab.contribute(0, 0, f"Idea number {n} about testbeds") for n in range(2)]
    page = lab.sign_in(new_context(PHONE, **PHONE_DEVICE), token).new_page()
    for phase in ("brainstorm", "clustering", "scoring", "report"):
        # Leave the page first: an open page follows the phase change by reloading itself,
        # which would race the next `goto`.
        page.goto("about:blank")
        if phase == "clustering":
            lab.phase("clustering")
            cluster = lab.cluster(0, TESTBEDS, ids)
        if phase == "report":
            lab.rate(0, cluster, 4, "eu")
        if phase in ("scoring", "report"):
            lab.phase(phase)
        start(page, f"/s/{lab.code}")
        stops = _tab_stops(page)
        assert len(stops) >= 3, f"{phase}: hardly anything to reach: {stops}"
        assert "skip-link" in str(stops[0]["key"]), f"{phase}: the skip link comes first"
        last = page.evaluate(
            """() => { const all = Array.from(document.querySelectorAll(
                 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex="0"]'))
                 .filter(el => !el.closest('[hidden]') && !el.disabled && el.getClientRects().length);
               return all.length ? all[all.length - 1].outerHTML.slice(0, 80) : null; }"""
        )
        reached = [s["key"] for s in stops]
        assert last in reached, f"{phase}: Tab never reaches the page's last control {last}"
        # Reading order: a one-column page never sends the focus back up the page.
        for before, after in zip(stops, stops[1:], strict=False):
            assert float(after["top"]) >= float(before["top"]) - 4, (  # type: ignore[arg-type]
                f"{phase}: focus jumps up from {before['text']!r} to {after['text']!r}"
            )
        positive = page.evaluate(
            'document.querySelectorAll(\'[tabindex]:not([tabindex="-1"]):not([tabindex="0"])\').length'
        )
        assert positive == 0, f"{phase}: a positive tabindex reorders the page"


def test_live_regions_are_polite_and_not_on_the_lists(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab()
    token = lab.join("Kim")
    lab.phase("brainstorm")
    lab.contribute(0, 0, "Small creative studios cannot afford compute")
    kim = lab.sign_in(new_context(DESKTOP), token).new_page()
    fac = lab.sign_in(new_context(DESKTOP)).new_page()

    def regions(page: Page) -> list[dict[str, str]]:
        return list(
            page.evaluate(
                """() => Array.from(document.querySelectorAll('[aria-live], [role=status], [role=alert], [role=log]'))
                   .map(el => ({id: el.id || el.className, live: el.getAttribute('aria-live') || '',
                                role: el.getAttribute('role') || ''}))"""
            )
        )

    def check(page: Page, where: str, needed: list[str]) -> None:
        found = regions(page)
        for region in found:
            if region["role"] == "alert":
                continue  # errors the person caused are announced at once, by design
            assert region["live"] in ("", "polite"), f"{where}: {region} is not polite"
            assert region["live"] == "polite" or region["role"] in ("status", "log"), region
        names = " ".join(r["id"] for r in found)
        for name in needed:
            assert name in names, f"{where}: no live region {name!r} in {names}"
        # The lists and counts that change all the time are not live regions: they would
        # read every change aloud.
        noisy = page.locator(
            ".brainstorm__others [aria-live], .brainstorm__others[aria-live], "
            "#dash-counts[aria-live], #brainstorm-board[aria-live], #board[aria-live], "
            "#participant-clusters[aria-live]"
        )
        expect(noisy).to_have_count(0)

    kim.goto(f"/s/{lab.code}")
    # Toasts (e.g. "Sent"), the phase notice shown instead of a reload while typing.
    check(kim, "participant page", ["toasts", "phase-watch", "retry-status"])
    fac.goto(f"/s/{lab.code}/facilitate/brainstorm")
    # "N new contributions" on the brainstorm board.
    check(fac, "brainstorm board", ["toasts", "brainstorm-new"])
    lab.phase("clustering")
    fac.goto(f"/s/{lab.code}/facilitate/clustering")
    # What a move did, on the clustering board; the assistant's "where does this go".
    check(fac, "clustering board", ["toasts", "board-status", "where-result"])
    fac.goto(f"/s/{lab.code}/facilitate/report")
    check(fac, "report page", ["toasts"])
    expect(fac.locator("[data-download-status]")).to_have_attribute("aria-live", "polite")
