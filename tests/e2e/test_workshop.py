"""A whole workshop in real browsers: one facilitator and three participants (two on desktop,
one on a phone) go from creating the session to the exported report, and each step checks
what every person sees.

Other screens are reloaded where this test needs them to show someone else's change; the
live updates themselves (phase changes, new contributions without reload) are proven in
test_live.py."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import BrowserContext, Locator, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    PHONE_DEVICE,
    Server,
    assert_accessible,
    assert_nothing_cut_off,
    assert_touch_targets,
    screenshot,
)

TITLE = "AI in the cultural and creative industries"
CH1, CH2 = "Innovation ecosystems", "Skills for AI"
CLUSTER_COMPUTE = "Shared AI testbeds and compute for creative SMEs"
CLUSTER_FUNDING = "Simpler funding calls for micro-enterprises"
CLUSTER_SKILLS = "AI literacy across the creative sector"

# Who writes what, to which challenge.
IDEAS = {
    "Ana": [
        (CH1, "Small creative studios cannot afford compute for AI experiments"),
        (CH2, "Art schools do not teach how generative models work"),
    ],
    "Ben": [
        (CH1, "No shared testbed where artists and AI developers can prototype together"),
        (CH1, "Funding calls are too complex for micro-enterprises in the creative sector"),
        (CH2, "Short courses on AI for theatre and studio technicians are missing"),
    ],
    None: [
        (CH1, "Innovation vouchers exclude cultural organisations"),
        (CH2, "Civil servants cannot judge AI procurement offers"),
    ],
}


@dataclass
class Person:
    name: str | None
    page: Page
    phone: bool = False

    @property
    def label(self) -> str:
        return self.name or "anonymous"


def shows(page: Page, where: str) -> None:
    """Screenshot and axe-check what this person sees now."""
    screenshot(page, f"workshop-{where}")
    assert_accessible(page, where)
    if page.viewport_size == PHONE:
        assert_nothing_cut_off(page, where)
        assert_touch_targets(page, where)


def current_phase(page: Page) -> Locator:
    return page.locator(".stepper [aria-current=step]")


def follows_phase(page: Page, phase: str) -> None:
    """The participant page moves to the new phase by itself (live stream, or the polled
    fallback); no reload here."""
    expect(current_phase(page)).to_contain_text(phase, timeout=15_000)


def fresh(page: Page, url: str | None = None) -> None:
    """Load the page again to see others' changes. A live update may be reloading it at the
    same moment: then that navigation is the fresh page."""
    try:
        page.goto(url) if url else page.reload()
    except PlaywrightError as error:
        if "ERR_ABORTED" not in str(error) and "interrupted" not in str(error):
            raise
        page.wait_for_load_state()


def column(page: Page, title: str) -> Locator:
    """The clustering board's column of the cluster with this title."""
    heading = page.locator(".board__column-title", has_text=title)
    return page.locator("section.board__column", has=heading)


def drag(page: Page, note: Locator, target_list: Locator) -> None:
    """Drag a note with the mouse, in small steps (SortableJS follows pointer moves)."""
    note.scroll_into_view_if_needed()
    start = note.bounding_box()
    end = target_list.bounding_box()
    assert start and end
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 12, y + 12, steps=3)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] - 12, steps=8)
    page.mouse.up()


def test_a_whole_workshop(server: Server, new_context: Callable[..., BrowserContext]) -> None:
    fac = new_context(DESKTOP).new_page()

    # --- the facilitator creates the session with two challenges ---------------------------
    fac.goto("/")
    shows(fac, "landing")
    fac.get_by_role("link", name="Create a session").click()
    expect(fac.locator("h1")).to_have_text("Create a session")
    fac.get_by_label("Session title").fill(TITLE)
    fac.get_by_label("Place").fill("Brussels")
    first = fac.get_by_role("group", name="Challenge 1")
    first.get_by_label("Title").fill(CH1)
    first.get_by_label("Brief").fill("How creative SMEs and AI developers find each other.")
    # The form offers three blocks; one left empty is ignored.
    second = fac.get_by_role("group", name="Challenge 2")
    second.get_by_label("Title").fill(CH2)
    shows(fac, "create")
    fac.get_by_role("button", name="Create the session").click()

    expect(fac.locator("h1")).to_have_text("Your session is ready")
    code = fac.locator(".page-header .code-inline").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-9]{6}", code), code
    link = fac.get_by_role("textbox", name="Facilitator link").input_value()
    key = parse_qs(urlsplit(link).query)["key"][0]
    shows(fac, "created")
    fac.get_by_role("link", name="Open the dashboard").click()
    expect(fac.locator("#dash-title")).to_have_text(TITLE)
    expect(current_phase(fac)).to_contain_text("Setup")
    expect(fac.locator(".join-code__value")).to_have_text(code)

    # --- three participants join with the code: two on laptops, one on a phone --------------
    people = [
        Person("Ana", new_context(DESKTOP).new_page()),
        Person("Ben", new_context(PHONE, **PHONE_DEVICE).new_page(), phone=True),
        Person(None, new_context(DESKTOP).new_page()),
    ]
    for i, person in enumerate(people):
        page = person.page
        page.goto("/")
        # Codes are read off a projector: lower case and a space are fine.
        typed = code.lower() if i == 0 else f"{code[:3]} {code[3:]}"
        page.get_by_label("Session code").fill(typed)
        page.get_by_role("button", name="Join", exact=True).click()
        expect(page.locator("h1")).to_have_text(TITLE)
        expect(page.locator(".eyebrow")).to_contain_text(code)
        if person.name:
            page.get_by_label("Your name").fill(person.name)
        page.get_by_role("button", name="Join the session").click()
        expect(page).to_have_url(re.compile(f"/s/{code}$"))
        welcome = f"Welcome, {person.name}!" if person.name else "Welcome!"
        expect(page.get_by_role("heading", name=welcome)).to_be_visible()
        expect(page.locator("#participant-you")).to_contain_text(person.name or "Anonymous")
        expect(page.get_by_role("heading", name=CH1)).to_be_visible()
        expect(page.get_by_role("heading", name=CH2)).to_be_visible()
    shows(people[1].page, "participant-waiting-phone")

    fresh(fac)
    expect(fac.locator("#dash-counts .stat").first).to_contain_text("3")

    # --- brainstorm ---------------------------------------------------------------------
    fac.get_by_role("button", name="Open the brainstorm").click()
    expect(current_phase(fac)).to_contain_text("Brainstorm")
    expect(fac.locator("#toasts")).to_contain_text("now in the brainstorm phase")
    shows(fac, "dashboard")

    for person in people:
        page = person.page
        follows_phase(page, "Brainstorm")
        expect(
            page.get_by_label("What is missing? One gap or missing intervention")
        ).to_be_visible()
        for challenge, text in IDEAS[person.name]:
            tab = page.get_by_role("navigation", name="Challenges").get_by_role(
                "link", name=challenge
            )
            if tab.get_attribute("aria-current") != "page":
                tab.click()
                expect(tab).to_have_attribute("aria-current", "page")
            expect(page.locator("#challenge-title")).to_contain_text(challenge)
            box = page.get_by_label("One gap or missing intervention")
            box.fill(text)
            page.get_by_role("button", name="Send").click()
            expect(page.locator(".sent-note")).to_contain_text("Sent")
            # The box is empty and ready for the next idea; the idea is listed as mine.
            expect(box).to_have_value("")
            expect(box).to_be_focused()
            expect(page.locator(".brainstorm__mine")).to_contain_text(text)
        if person.phone:
            shows(page, "participant-brainstorm-phone")

    # Others' ideas are visible without names; my own are listed apart, with edit buttons.
    ana = people[0].page
    fresh(ana, f"/s/{code}")  # the first challenge
    # What was sent does not come back into the box as a draft.
    expect(ana.get_by_label("One gap or missing intervention")).to_have_value("")
    mine, others = ana.locator(".brainstorm__mine"), ana.locator(".brainstorm__others")
    expect(mine).to_contain_text(IDEAS["Ana"][0][1])
    expect(others).to_contain_text(IDEAS["Ben"][0][1])
    expect(others).to_contain_text(IDEAS[None][0][1])
    expect(others).not_to_contain_text(IDEAS["Ana"][0][1])
    expect(ana.locator("#phase-content")).not_to_contain_text("Ben")
    expect(ana.get_by_role("link", name=re.compile("^Edit"))).to_have_count(1)
    tabs = ana.get_by_role("navigation", name="Challenges")
    expect(tabs.get_by_role("link", name=CH1)).to_contain_text("1 sent")
    expect(tabs.get_by_role("link", name=CH2)).to_contain_text("1 sent")
    shows(ana, "participant-brainstorm")

    # The facilitator sees every contribution, with its author; the projector without names.
    fac.get_by_role("link", name="Watch the contributions arrive").click()
    board = fac.locator("#brainstorm-board")
    for name, ideas in IDEAS.items():
        for _challenge, text in ideas:
            item = board.locator(".moderated", has_text=text)
            expect(item.locator(".note__author")).to_have_text(name or "Participant 3")
    expect(fac.locator("#brainstorm-counts")).to_contain_text("7")
    shows(fac, "brainstorm-board")
    projector = fac.context.new_page()
    projector.goto(f"/s/{code}/projector")
    expect(projector.locator(".projector-wall")).to_contain_text(IDEAS["Ben"][1][1])
    expect(projector.locator("#projector-body")).not_to_contain_text("Ana")
    expect(projector.locator("#projector-body")).not_to_contain_text(key)
    shows(projector, "projector-brainstorm")

    # --- clustering: by drag and drop, by keyboard, and with the assistant -----------------
    fac.bring_to_front()  # a background tab gets no frames: input would crawl
    fac.goto(f"/s/{code}/facilitate")
    fac.get_by_role("button", name="Close the brainstorm and start clustering").click()
    expect(current_phase(fac)).to_contain_text("Clustering")
    for person in people:
        follows_phase(person.page, "Clustering")
        expect(
            person.page.get_by_role("heading", name="The facilitator is grouping your ideas")
        ).to_be_visible()
        expect(person.page.locator("#participant-clusters")).to_contain_text("No groups yet")

    fac.get_by_role("link", name="Open the clustering board").click()
    expect(fac.locator("h1")).to_have_text(CH1)
    for title, category in (
        (CLUSTER_COMPUTE, "Ecosystem structure"),
        (CLUSTER_FUNDING, "Key framework conditions"),
    ):
        form = fac.locator("#new-cluster")
        form.get_by_label("Title").fill(title)
        form.get_by_label("Category").select_option(category)
        form.get_by_role("button", name="Create cluster").click()
        expect(fac.locator(".board__column-title", has_text=title)).to_be_visible()
    expect(fac.locator("#board-status")).to_contain_text(f"“{CLUSTER_FUNDING}” created")
    compute, funding = column(fac, CLUSTER_COMPUTE), column(fac, CLUSTER_FUNDING)
    inbox = fac.locator("#column-inbox")
    expect(inbox.locator("[data-note]")).to_have_count(4)

    # Drag and drop: two notes into the compute cluster.
    for text in (IDEAS["Ana"][0][1], IDEAS["Ben"][0][1]):
        drag(fac, inbox.locator("[data-note]", has_text=text), compute.locator("ul.board__list"))
        expect(compute.locator("[data-note]", has_text=text)).to_be_visible()
        expect(fac.locator("#board-status")).to_contain_text("Moved")
    expect(inbox.locator("[data-note]")).to_have_count(2)
    expect(compute.locator(".count-badge")).to_contain_text("2")
    # The challenge switcher's "not in a cluster yet" count follows the moves.
    switcher = fac.get_by_role("navigation", name="Challenges")
    left_here = switcher.get_by_role("link", name=CH1).locator(".count-badge")
    expect(left_here).to_have_text(re.compile(r"^\s*2\b"))

    # Keyboard: select a note with Enter, M jumps to "Move to", arrows choose, Enter moves.
    note = inbox.locator("[data-note]", has_text=IDEAS["Ben"][1][1])
    note.focus()
    fac.keyboard.press("Enter")
    expect(note).to_have_attribute("aria-pressed", "true")
    expect(fac.locator("#board-status")).to_contain_text("Selected")
    fac.keyboard.press("m")
    target = fac.locator("#move-target")
    expect(target).to_be_focused()
    options = target.locator("option").all_inner_texts()
    for _ in range(options.index(CLUSTER_FUNDING)):
        fac.keyboard.press("ArrowDown")
    expect(target.locator("option:checked")).to_have_text(CLUSTER_FUNDING)
    fac.keyboard.press("Tab")
    expect(fac.get_by_role("button", name="Move", exact=True)).to_be_focused()
    fac.keyboard.press("Enter")
    expect(funding.locator("[data-note]", has_text=IDEAS["Ben"][1][1])).to_be_visible()
    expect(fac.locator("#board-status")).to_contain_text(f"to “{CLUSTER_FUNDING}”")
    # The vouchers idea goes to the compute cluster with "Move here" (also keyboard).
    note = inbox.locator("[data-note]", has_text=IDEAS[None][0][1])
    note.focus()
    fac.keyboard.press("Space")
    move_here = compute.get_by_role("button", name=re.compile("^Move here"))
    expect(move_here).to_be_visible()
    move_here.focus()
    fac.keyboard.press("Enter")
    expect(compute.locator("[data-note]")).to_have_count(3)
    expect(inbox.locator("[data-note]")).to_have_count(0)
    expect(left_here).to_have_text(re.compile(r"^\s*0\b"))
    shows(fac, "clustering-board")

    # The second challenge: the assistant proposes, the facilitator names and accepts.
    switcher.get_by_role("link", name=CH2).click()
    expect(fac.locator("h1")).to_have_text(CH2)
    fac.get_by_role("button", name="Suggest clusters").click()
    suggestions = fac.locator("#suggestions")
    expect(suggestions.get_by_role("heading", name="Suggested clusters")).to_be_visible()
    first = suggestions.locator("li.suggestion").first
    first.get_by_label("Cluster title").fill(CLUSTER_SKILLS)
    shows(fac, "clustering-suggestions")
    first.get_by_role("button", name="Accept suggestion 1").click()
    expect(fac.locator(".board__column-title", has_text=CLUSTER_SKILLS)).to_be_visible()
    # Whatever the assistant left unclustered goes into the named cluster.
    skills = column(fac, CLUSTER_SKILLS)
    while fac.locator("#column-inbox [data-note]").count():
        drag(fac, fac.locator("#column-inbox [data-note]").first, skills.locator("ul.board__list"))
        expect(fac.locator("#board-status")).to_contain_text("Moved")

    # Participants watch the clusters form (after a reload here).
    ben = people[1].page
    fresh(ben)
    overview = ben.locator("#participant-clusters")
    expect(overview).to_contain_text(CLUSTER_COMPUTE)
    expect(overview).to_contain_text("3 contributions")
    expect(overview).to_contain_text(CLUSTER_SKILLS)
    shows(ben, "participant-clustering-phone")

    # --- scoring --------------------------------------------------------------------------
    fac.goto(f"/s/{code}/facilitate")
    fac.get_by_role("button", name="Open scoring").click()
    expect(current_phase(fac)).to_contain_text("Scoring")
    clusters = server.api("GET", f"/api/v1/sessions/{code}/clusters", key).json()
    titles = [c["title"] for c in clusters]
    assert {CLUSTER_COMPUTE, CLUSTER_FUNDING, CLUSTER_SKILLS} <= set(titles)

    scores = {  # relevance and level per person, for the compute and funding clusters
        "Ana": {CLUSTER_COMPUTE: ("5", "National"), CLUSTER_FUNDING: ("3", "EU")},
        "Ben": {CLUSTER_COMPUTE: ("4", "National"), CLUSTER_FUNDING: ("2", "EU")},
        None: {CLUSTER_COMPUTE: ("4", "EU"), CLUSTER_FUNDING: ("3", "EU")},
    }
    for person in people:
        page = person.page
        follows_phase(page, "Scoring")
        expect(page.locator("#scoring-progress")).to_contain_text(f"0 of {len(titles)}")
        # One proposed solution at a time, in board order: a tap for each choice saves it
        # and shows the next one.
        to_score = set(titles)
        for n in range(1, len(titles) + 1):
            card = page.locator("article.score-card")
            expect(card.locator(".score-card__count")).to_have_text(f"{n} of {len(titles)}")
            title = card.get_by_role("heading", level=2).inner_text().strip()
            to_score.remove(title)  # each one once
            relevance, level = scores[person.name].get(title, ("4", "Local & regional"))
            card.locator(".segmented__label", has_text=relevance).click()
            card.locator(".choice-card__label", has_text=level).click()
            expect(page.locator(".score-saved-note")).to_contain_text(title)
        expect(page.locator("#scoring-progress")).to_contain_text(f"{len(titles)} of {len(titles)}")
        expect(page.locator("#score-summary")).to_contain_text("All scored")
        if person.phone:
            shows(page, "participant-scoring-phone")
    shows(people[0].page, "participant-scoring")

    # A changed mind: Ana goes back to one score and changes it; it is saved at once.
    ana.locator(".score-summary__item", has_text=CLUSTER_FUNDING).get_by_role("link").click()
    card = ana.locator("article.score-card")
    expect(card.get_by_role("heading", level=2)).to_have_text(CLUSTER_FUNDING)
    card.locator(".segmented__label", has_text="4").click()
    expect(card.locator(".score-status")).to_contain_text("Your score: 4")

    fac.get_by_role("navigation", name="Facilitator pages").get_by_role(
        "link", name="Matrix"
    ).click()
    ranking = fac.locator("table.ranking").first
    expect(ranking.locator("tbody tr").first).to_contain_text(CLUSTER_COMPUTE)
    row = ranking.locator("tr", has_text=CLUSTER_COMPUTE)
    expect(row.locator("td.num").first).to_have_text("4.3")
    expect(row.locator(".ranking__level")).to_contain_text("National")
    expect(fac.locator("table.matrix").first).to_contain_text(CLUSTER_FUNDING)
    shows(fac, "matrix")

    # --- results and export ---------------------------------------------------------------
    fac.goto(f"/s/{code}/facilitate")
    fac.get_by_role("button", name="Close scoring and show the results").click()
    expect(current_phase(fac)).to_contain_text("Report")
    for person in people:
        follows_phase(person.page, "Report")
        results = person.page.locator("#results")
        expect(results.locator(".result-card").first).to_contain_text(CLUSTER_COMPUTE)
        expect(results).to_contain_text(CLUSTER_SKILLS)
    shows(people[1].page, "participant-results-phone")
    projector.bring_to_front()
    fresh(projector)
    # The projector pages through the top recommendations, the best first.
    expect(projector.locator("[data-slide]:not([hidden]) .projector-rec").first).to_contain_text(
        CLUSTER_COMPUTE
    )
    shows(projector, "projector-results")

    fac.bring_to_front()
    fac.get_by_role("navigation", name="Facilitator pages").get_by_role(
        "link", name="Report"
    ).click()
    expect(fac.locator("h1")).to_have_text("The report")
    shows(fac, "report")
    with fac.expect_download() as markdown:
        fac.get_by_role("link", name="Markdown").click()
    assert markdown.value.suggested_filename.endswith(".md")
    text = Path(markdown.value.path()).read_text(encoding="utf-8")
    for expected in (TITLE, CH1, CH2, CLUSTER_COMPUTE, CLUSTER_FUNDING, CLUSTER_SKILLS):
        assert expected in text, f"{expected!r} missing from the Markdown report"
    assert "Ana" not in text and "Ben" not in text, "the report is anonymous by default"
    expect(fac.locator("[data-download-status]")).to_contain_text("Markdown file ready")
    with fac.expect_download() as pdf:
        fac.get_by_role("link", name="PDF").click()
    assert pdf.value.suggested_filename.endswith(".pdf")
    assert Path(pdf.value.path()).read_bytes()[:5] == b"%PDF-"

    # Every contribution was stored once, however it was sent.
    stored = server.api("GET", f"/api/v1/sessions/{code}/contributions", key).json()
    assert sorted(c["text"] for c in stored) == sorted(
        text for ideas in IDEAS.values() for _challenge, text in ideas
    )
    assert all(c["cluster_id"] is not None for c in stored)
