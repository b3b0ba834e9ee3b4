"""Every page in every state, in both viewports: a screenshot under test-output/screenshots/,
zero serious or critical axe-core violations, and at phone width (390 × 844) no sideways
scrolling and nothing cut off. Participant pages at phone width also need 44 px touch targets.

The workshops are built through the JSON API so each state is reached quickly; the flows
themselves are driven through the pages in test_workshop.py and test_keyboard.py."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    PHONE_DEVICE,
    Lab,
    assert_accessible,
    assert_nothing_cut_off,
    assert_touch_targets,
    screenshot,
)

PHASES = ["setup", "brainstorm", "clustering", "scoring", "report"]
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}

IDEAS = [
    (0, 0, "Small creative studios cannot afford compute for AI experiments"),
    (1, 0, "No shared testbed where artists and AI developers can prototype together"),
    (2, 0, "Funding calls are too complex for micro-enterprises in the creative sector"),
    (0, 0, "Regional creative hubs lack AI expertise to advise their members"),
    (1, 1, "Art schools do not teach how generative models work"),
    (2, 1, "Civil servants cannot judge AI procurement offers"),
    (0, 1, "Short courses on AI for technicians in theatres and studios are missing"),
]


def build(make_lab: Callable[..., Lab], phase: str) -> tuple[Lab, dict[str, int]]:
    """A session with three participants, taken through the API up to `phase`."""
    lab = make_lab(participants=3, place="Brussels", lab_date="2024-05-14")
    ids: dict[str, int] = {}
    if phase == "setup":
        return lab, ids
    lab.phase("brainstorm")
    made = [lab.contribute(who, challenge, text) for who, challenge, text in IDEAS]
    if phase == "brainstorm":
        return lab, ids
    lab.phase("clustering")
    ids["compute"] = lab.cluster(0, "Shared AI testbeds and compute for creative SMEs", made[:2])
    ids["funding"] = lab.cluster(0, "Simpler funding calls for micro-enterprises", [made[2]], 2)
    ids["skills"] = lab.cluster(1, "AI literacy in arts and public administration", made[4:6], 1)
    if phase == "clustering":
        return lab, ids
    lab.phase("scoring")
    for who, (a, b, c) in enumerate([(5, 3, 4), (4, 2, 4), (4, 3, 5)]):
        lab.rate(who, ids["compute"], a, ["national", "eu", "national"][who])
        lab.rate(who, ids["funding"], b, "local_regional")
        if who < 2:
            lab.rate(who, ids["skills"], c, "eu")
    if phase == "scoring":
        return lab, ids
    lab.phase("report")
    return lab, ids


def contexts(
    new_context: Callable[..., BrowserContext], lab: Lab, token: str | None
) -> dict[str, Page]:
    """One signed-in page per viewport."""
    return {
        name: lab.sign_in(open_context(new_context, name), token).new_page() for name in VIEWPORTS
    }


def open_context(new_context: Callable[..., BrowserContext], viewport: str) -> BrowserContext:
    """A desktop browser, or a phone (touch screen) one."""
    return new_context(VIEWPORTS[viewport], **(PHONE_DEVICE if viewport == "phone" else {}))


class Sweep:
    """Visits pages and checks each one; every problem is collected, so one run lists all."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def visit(self, page: Page, url: str, name: str, *, participant: bool = False) -> None:
        """Open `url`, then screenshot and check it."""
        response = page.goto(url)
        assert response is not None, url
        expect(page.locator("h1").first).to_be_attached()
        self.check(page, name, participant=participant)

    def check(self, page: Page, name: str, *, participant: bool = False) -> None:
        """Screenshot; axe; at phone width nothing cut off and, on pages participants use,
        44 px touch targets. Facilitator pages are checked by axe at desktop width, where
        they are used (the phone pass still looks for anything cut off)."""
        screenshot(page, name)
        phone = page.viewport_size == PHONE
        checks = [assert_accessible] if participant or not phone else []
        if phone:
            checks.append(assert_nothing_cut_off)
            if participant:
                checks.append(assert_touch_targets)
        for run in checks:
            try:
                run(page, name)
            except AssertionError as problem:
                self.problems.append(str(problem).split("\nassert")[0])

    def done(self) -> None:
        assert not self.problems, "\n\n".join(self.problems)


@pytest.mark.parametrize("phase", PHASES)
def test_every_page_in_this_phase(
    phase: str, make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab, _ids = build(make_lab, phase)
    code = lab.code
    participant = contexts(new_context, lab, lab.tokens[0])
    facilitator = contexts(new_context, lab, None)
    boards = {
        "setup": [],
        "brainstorm": ["brainstorm"],
        "clustering": ["clustering"],
        "scoring": ["matrix"],
        "report": ["matrix", "report"],
    }[phase]
    sweep = Sweep()
    for viewport in VIEWPORTS:
        page = participant[viewport]
        sweep.visit(page, f"/s/{code}", f"participant-{phase}-{viewport}", participant=True)
        expect(page.locator(".stepper [aria-current=step]")).to_contain_text(phase.capitalize())

        fac = facilitator[viewport]
        sweep.visit(fac, f"/s/{code}/facilitate", f"dashboard-{phase}-{viewport}")
        for board in boards:
            sweep.visit(fac, f"/s/{code}/facilitate/{board}", f"{board}-{phase}-{viewport}")
        sweep.visit(fac, f"/s/{code}/projector", f"projector-{phase}-{viewport}")
    sweep.done()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_public_pages(
    viewport: str, make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab()
    page = open_context(new_context, viewport).new_page()
    sweep = Sweep()
    # Landing, join and the error pages are what participants meet first, on their phones.
    sweep.visit(page, "/", f"landing-{viewport}", participant=True)
    sweep.visit(page, "/new", f"create-{viewport}")
    sweep.visit(page, "/new?template=ai-cci", f"create-template-{viewport}")
    page.get_by_label("Session title").fill("   ")  # passes `required`, refused by the server
    page.get_by_role("button", name="Create the session", exact=True).last.click()
    expect(page.get_by_role("alert")).to_contain_text("The session was not created")
    sweep.check(page, f"create-error-{viewport}")

    sweep.visit(page, "/join", f"join-code-{viewport}", participant=True)
    page.goto("/join?code=ZZZZZZ")
    expect(page.locator(".field__error")).to_contain_text("No session has this code")
    sweep.check(page, f"join-wrong-code-{viewport}", participant=True)
    sweep.visit(page, f"/join/{lab.code}", f"join-name-{viewport}", participant=True)
    sweep.visit(page, "/f", f"facilitator-sign-in-{viewport}")

    # Error pages: an unknown address, a facilitator page without the facilitator's cookie.
    sweep.visit(page, "/s/ZZZZZZ/facilitate", f"error-404-{viewport}", participant=True)
    sweep.visit(page, f"/s/{lab.code}/facilitate", f"error-403-{viewport}")
    expect(page.locator("h1")).to_contain_text("You do not have access")
    sweep.done()


def test_colour_is_never_the_only_carrier_of_meaning(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    """Matrix, agreement, policy levels, scores, phases and the connection state each say
    what they mean in words (and levels also by shape), so they survive greyscale, colour
    blindness and a screen reader."""
    lab, ids = build(make_lab, "scoring")
    fac = lab.sign_in(new_context(DESKTOP)).new_page()
    fac.goto(f"/s/{lab.code}/facilitate/matrix")

    matrix = fac.locator("table.matrix").first
    # Rows name the level in words, each with its own icon shape; columns name the relevance.
    levels = matrix.locator("tbody th .badge--level")
    expect(levels).to_have_text(["EU", "National", "Local & regional"])
    shapes = {
        fac.evaluate(
            """el => { const s = getComputedStyle(el.querySelector('.badge__icon'));
                       return [s.borderRadius, s.clipPath, s.borderStyle, el.className].join('|'); }""",
            badge.element_handle(),
        )
        for badge in levels.all()
    }
    assert len(shapes) == 3, f"the three levels need three shapes: {shapes}"
    expect(matrix.locator("thead th")).to_have_text(
        [re.compile(r"Policy level"), *[re.compile(rf"^{n}\s*\w") for n in range(1, 6)]]
    )
    # A cell's entries carry rank and title, not a colour.
    expect(matrix.locator(".chip").first).to_have_text(re.compile(r"#\d+\s+\S"))

    ranking = fac.locator("table.ranking").first
    for row in ranking.locator("tbody tr").all():
        expect(row.locator(".ranking__agreement")).to_have_text(re.compile(r"\d+\s?%"))
        bars = row.locator(".level-bars__row")
        expect(bars).to_have_count(3)
        for bar in bars.all():  # each bar says its level and its count
            expect(bar).to_have_text(re.compile(r"^\s*(Local & regional|National|EU)\s*\d+\s*$"))
    expect(fac.locator("#scoring-progress")).to_contain_text(re.compile(r"\d+ of \d+"))

    participant = lab.sign_in(new_context(PHONE, **PHONE_DEVICE), lab.tokens[0]).new_page()
    participant.goto(f"/s/{lab.code}?cluster={ids['compute']}")
    card = participant.locator("article.score-card").first
    expect(card.locator(".score-status .badge")).to_have_text("Saved")
    expect(card.locator(".score-status")).to_contain_text(re.compile(r"Your score: \d \(\w+\)"))
    # The chosen relevance and level differ from the others by more than colour: a
    # different border or shadow (the level card also fills its radio dot).
    chosen = card.locator(".segmented__input:checked + .segmented__label")
    other = card.locator(".segmented__input:not(:checked) + .segmented__label").first

    def look(locator: Locator) -> tuple[str, str]:
        return tuple(
            locator.evaluate(
                "el => { const s = getComputedStyle(el); return [s.boxShadow, s.borderColor]; }"
            )
        )  # type: ignore[return-value]

    assert look(chosen)[0] != look(other)[0], "the chosen score is marked by colour only"
    # Phases: the current step is named, finished steps carry a tick.
    expect(participant.locator(".stepper [aria-current=step]")).to_contain_text("Scoring")
    expect(participant.locator(".stepper__step--done .visually-hidden").first).to_have_text(
        "(done)"
    )
    # Connection state in words next to its icon.
    expect(participant.locator("[data-live-indicator]").first).to_have_text(
        re.compile(r"Connecting…|Live|Reconnecting…|Offline")
    )
