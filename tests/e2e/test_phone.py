"""The participant's phone, 390 × 844 with touch: every phase made for one hand and one
screen. The writing box is on the first screen and the timer never scrolls away; a long
paste is counted, not cut; scoring takes one tap per choice, one proposed solution at a time;
results fit the width; the clusters show their notes; the privacy note follows the setting
at once."""

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import (
    PHONE,
    PHONE_DEVICE,
    Lab,
    assert_accessible,
    assert_fits_phone,
    assert_nothing_cut_off,
    assert_touch_targets,
    screenshot,
)

TITLE = "AI in the cultural and creative industries"
CLUSTERS = ["Shared compute for studios", "Regional AI testbeds", "Simpler funding calls"]


def phone(new_context: Callable[..., BrowserContext], lab: Lab, who: int = 0) -> Page:
    """A participant's phone, signed in, on the participant page."""
    page = lab.sign_in(new_context(PHONE, **PHONE_DEVICE), lab.tokens[who]).new_page()
    page.goto(f"/s/{lab.code}")
    expect(page.locator("[data-live-indicator]")).to_have_attribute("data-state", "live")
    return page


def in_viewport(page: Page, selector: str) -> dict[str, Any]:
    """The element's box relative to the viewport, and whether all of it is on screen."""
    box: dict[str, Any] = page.locator(selector).first.evaluate(
        """el => { const r = el.getBoundingClientRect();
                   return {top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                           inside: r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight &&
                                   r.right <= innerWidth && r.height > 0}; }"""
    )
    return box


def scoring_lab(make_lab: Callable[..., Lab]) -> tuple[Lab, list[int]]:
    """Scoring open: three clusters in the first challenge, one in the second."""
    lab = make_lab(participants=2)
    lab.phase("brainstorm")
    ids = [lab.contribute(1, 0, f"Gap number {i}") for i in range(3)]
    other = lab.contribute(1, 1, "Art schools do not teach how models work")
    lab.phase("clustering")
    clusters = [
        lab.cluster(0, title, [cid], i)
        for i, (title, cid) in enumerate(zip(CLUSTERS, ids, strict=True))
    ]
    clusters.append(lab.cluster(1, "Courses on AI for artists", [other]))
    lab.phase("scoring")
    return lab, clusters


def test_brainstorm_box_first_timer_stays_ctrl_enter_sends_and_a_long_paste_is_not_cut(
    new_context: Callable[..., BrowserContext], make_lab: Callable[..., Lab]
) -> None:
    lab = make_lab(participants=2)
    lab.phase("brainstorm")
    for i in range(6):  # enough on the page for it to scroll
        lab.contribute(1, 0, f"Somebody else's idea number {i}, written at some length to fill")
    lab.call("POST", "/timer", json={"action": "start", "seconds": 600})
    page = phone(new_context, lab)
    screenshot(page, "phone-brainstorm")

    # The session's title once; the box and its Send button on the first screen.
    expect(page.get_by_text(TITLE, exact=True)).to_have_count(1)
    assert in_viewport(page, "#field-text")["inside"], "the box is below the first screen"
    assert in_viewport(page, "#contribute button[type=submit]")["inside"]
    assert_accessible(page, "phone brainstorm")
    assert_nothing_cut_off(page, "phone brainstorm")
    assert_touch_targets(page, "phone brainstorm")

    # Scrolled to the end, the timer and the count are still on screen.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_function("window.scrollY > 400")
    timer = page.locator(".phase-bar [data-timer]")
    expect(timer).to_be_visible()
    expect(timer.locator("[data-timer-value]")).to_have_text(re.compile(r"^\d+:\d\d$"))
    assert in_viewport(page, ".phase-bar [data-timer]")["inside"], "the timer scrolled away"
    assert in_viewport(page, "#sent-count")["inside"], "the count scrolled away"
    screenshot(page, "phone-brainstorm-scrolled")

    # Ctrl+Enter sends (and Cmd+Enter on a Mac).
    box = page.locator("#field-text")
    box.fill("Studios cannot afford compute")
    box.press("Control+Enter")
    mine = page.locator(".brainstorm__mine")
    expect(mine.locator(".note")).to_have_count(1)
    expect(mine).to_contain_text("Studios cannot afford compute")
    expect(page.locator("#sent-count")).to_contain_text("1 sent")
    expect(box).to_have_value("")
    box.fill("Nobody teaches prompt design")
    box.press("Meta+Enter")
    expect(mine.locator(".note")).to_have_count(2)

    # A paste longer than the limit stays whole; the counter says how much is too much.
    long_text = "A gap that goes on and on. " * 23  # 621 characters
    box.focus()
    page.keyboard.insert_text(long_text)
    assert len(box.input_value()) == len(long_text), "the paste was cut"
    counter = page.locator("#field-text-counter")
    expect(counter).to_have_attribute("data-state", "full")
    expect(counter).to_contain_text(f"{len(long_text)} / 500")
    expect(counter).to_contain_text(f"{len(long_text) - 500} characters too many")
    screenshot(page, "phone-brainstorm-too-long")
    box.press("Control+Enter")
    error = page.locator("#field-text-error")
    expect(error).to_contain_text("too long")
    expect(error).to_contain_text("at most 500")
    expect(page.locator("#field-text")).to_have_value(long_text)
    expect(mine.locator(".note")).to_have_count(2)
    assert len(lab.call("GET", "/contributions", lab.tokens[0])) == 8
    assert_accessible(page, "phone brainstorm, text refused")


def test_scoring_takes_one_tap_per_choice_card_by_card_then_a_summary(
    new_context: Callable[..., BrowserContext], make_lab: Callable[..., Lab]
) -> None:
    lab, clusters = scoring_lab(make_lab)
    page = phone(new_context, lab)
    card = page.locator("article.score-card")
    expect(card).to_have_count(1)
    expect(card.locator(".score-card__count")).to_have_text("1 of 4")
    expect(card.get_by_role("heading", level=2)).to_have_text(CLUSTERS[0])
    # No button to press: nothing named Save anywhere on the card.
    expect(card.get_by_role("button", name=re.compile("Save"))).to_have_count(0)
    screenshot(page, "phone-scoring")
    assert_accessible(page, "phone scoring card")
    assert_nothing_cut_off(page, "phone scoring card")
    assert_touch_targets(page, "phone scoring card")

    taps = 0
    choices = [("4", "EU"), ("2", "National"), ("5", "Local & regional"), ("3", "EU")]
    for n, (relevance, level) in enumerate(choices, start=1):
        expect(card.locator(".score-card__count")).to_have_text(f"{n} of 4")
        card.locator("label.segmented__label", has_text=re.compile(rf"^{relevance}")).tap()
        taps += 1
        expect(card.locator("[data-score-dirty]")).to_contain_text("Now choose the policy level")
        card.locator("label.choice-card__label", has_text=level).tap()
        taps += 1
        if n < len(choices):
            expect(card.locator(".score-card__count")).to_have_text(f"{n + 1} of 4")
            expect(page.locator(".score-saved-note")).to_contain_text(f"{relevance} (")
    assert taps == 2 * len(choices), "one tap per choice"

    summary = page.locator("#score-summary")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("All scored")
    expect(page.locator("#scoring-progress")).to_contain_text("4 of 4 scored")
    expect(summary.locator(".score-summary__item")).to_have_count(4)
    expect(summary.locator(".score-summary__item").nth(1)).to_contain_text("2 (Low)")
    screenshot(page, "phone-scoring-summary")
    assert_accessible(page, "phone scoring summary")
    assert_nothing_cut_off(page, "phone scoring summary")
    assert_touch_targets(page, "phone scoring summary")

    # Back to change one: the card shows the score; a tap saves the change in place.
    summary.locator(".score-summary__item").nth(1).get_by_role("link").tap()
    expect(card.locator(".score-card__count")).to_have_text("2 of 4")
    expect(card.get_by_role("radio", name=re.compile("^2"))).to_be_checked()
    expect(card.locator(".score-status")).to_contain_text("Your score: 2 (Low) · National")
    card.locator("label.segmented__label", has_text=re.compile(r"^5")).tap()
    expect(card.locator(".score-status")).to_contain_text("Your score: 5 (Essential) · National")
    expect(card.locator(".score-card__count")).to_have_text("2 of 4")
    # Previous and next move through the run.
    card.get_by_role("link", name=re.compile("Previous")).tap()
    expect(card.locator(".score-card__count")).to_have_text("1 of 4")
    card.get_by_role("link", name=re.compile("Next")).tap()
    expect(card.locator(".score-card__count")).to_have_text("2 of 4")
    assert page.url.endswith(f"?cluster={clusters[1]}"), page.url

    mine = {r["cluster_id"]: r for r in lab.call("GET", "/ratings/mine", lab.tokens[0])}
    assert [(mine[c]["relevance"], mine[c]["policy_level"]) for c in clusters] == [
        (4, "eu"),
        (5, "national"),
        (5, "local_regional"),
        (3, "eu"),
    ]


def test_scoring_without_javascript_uses_plain_forms(
    new_context: Callable[..., BrowserContext], make_lab: Callable[..., Lab]
) -> None:
    lab, clusters = scoring_lab(make_lab)
    context = lab.sign_in(
        new_context(PHONE, java_script_enabled=False, **PHONE_DEVICE), lab.tokens[0]
    )
    page = context.new_page()
    page.goto(f"/s/{lab.code}")
    card = page.locator("article.score-card")
    card.locator("label.segmented__label", has_text=re.compile(r"^3")).tap()
    card.locator("label.choice-card__label", has_text="National").tap()
    card.get_by_role("button", name="Save and continue").tap()
    expect(card.locator(".score-card__count")).to_have_text("2 of 4")
    expect(page.locator(".score-saved-note")).to_contain_text(CLUSTERS[0])
    screenshot(page, "phone-scoring-no-js")
    mine = lab.call("GET", "/ratings/mine", lab.tokens[0])
    assert [(r["cluster_id"], r["relevance"]) for r in mine] == [(clusters[0], 3)]


def test_results_are_cards_that_fit_a_phone(
    new_context: Callable[..., BrowserContext], make_lab: Callable[..., Lab]
) -> None:
    lab, clusters = scoring_lab(make_lab)
    for who in (0, 1):
        for i, cid in enumerate(clusters):
            lab.rate(who, cid, 1 + (i + 2 * who) % 5, ["eu", "national", "local_regional"][i % 3])
    lab.phase("report")
    page = phone(new_context, lab)
    cards = page.locator(".result-card")
    expect(cards).to_have_count(4)
    assert_fits_phone(page, "phone results")
    assert_nothing_cut_off(page, "phone results")
    for card in cards.all():
        for label in ("Mean relevance", "Policy level", "Agreement", "Ratings"):
            figure = card.locator(".result-card__figure", has_text=label)
            box = figure.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], label
    expect(cards.first.locator(".result-card__figure", has_text="Agreement")).to_contain_text(
        re.compile(r"\d+\s?%")
    )
    screenshot(page, "phone-results")
    assert_accessible(page, "phone results")


def test_clustering_shows_which_notes_went_where_live(
    new_context: Callable[..., BrowserContext], make_lab: Callable[..., Lab]
) -> None:
    lab = make_lab(participants=2)
    lab.phase("brainstorm")
    first = lab.contribute(1, 0, "Compute is too expensive for small studios")
    lab.contribute(0, 0, "Nobody teaches prompt design")
    lab.phase("clustering")
    page = phone(new_context, lab)
    view = page.locator("#participant-clusters")
    loose = view.locator(".cluster-view__cluster--loose").first
    expect(loose).to_contain_text("Compute is too expensive")
    lab.cluster(0, "Shared compute", [first])
    cluster = view.locator(".cluster-view__cluster", has_text="Shared compute")
    expect(cluster.locator(".note")).to_have_text(["Compute is too expensive for small studios"])
    expect(loose).not_to_contain_text("Compute is too expensive")
    expect(loose).to_contain_text("Nobody teaches prompt design")
    screenshot(page, "phone-clustering")
    assert_accessible(page, "phone clustering")
    assert_nothing_cut_off(page, "phone clustering")


def test_the_anonymity_notice_changes_at_once_with_the_setting(
    new_context: Callable[..., BrowserContext], make_lab: Callable[..., Lab]
) -> None:
    lab = make_lab(participants=1)
    lab.phase("brainstorm")
    page = phone(new_context, lab)
    note = page.locator("#privacy-note")
    expect(note).to_contain_text("The report is anonymous")
    expect(page.locator("#privacy-flag a")).to_have_count(0)
    lab.call("PATCH", "", json={"show_names": True})
    expect(note).to_contain_text("Names are on in the report")
    expect(note).not_to_contain_text("The report is anonymous")
    flag = page.locator("#privacy-flag a")
    expect(flag).to_be_visible()
    assert in_viewport(page, "#privacy-flag a")["inside"], "the change is not on the first screen"
    screenshot(page, "phone-names-on")
    assert_accessible(page, "phone, names on")
    lab.call("PATCH", "", json={"show_names": False})
    expect(note).to_contain_text("The report is anonymous")
    expect(page.locator("#privacy-flag a")).to_have_count(0)
