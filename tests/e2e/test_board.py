"""The clustering canvas with a real workshop's load (30 notes, 9 clusters): the board is on
the first screen of a laptop, a note reaches any column by drag and drop without scrolling
the board, the keyboard moves work and the move panel logs nothing, the overview shows every
column on a big screen, and a phone can still use it."""

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.clustering.lab_notes import CHALLENGE_SMES, CHALLENGE_TRUST
from tests.e2e.conftest import (
    PHONE,
    PHONE_DEVICE,
    Lab,
    assert_accessible,
    assert_fits_phone,
    assert_focus_visible,
    screenshot,
)

LAPTOP = {"width": 1366, "height": 768}
BIG_SCREEN = {"width": 1920, "height": 1080}
MORE_NOTES = [
    "Regional creative hubs with AI labs open to freelancers",
    "A European observatory of AI use in the CCI",
    "Tax credits for SMEs that adopt AI responsibly",
    "Public procurement that asks for AI made with artists",
    "Mentoring schemes pairing artists with AI engineers",
    "Open datasets of public-domain cultural heritage for training",
    "A helpdesk on AI and copyright for small studios",
    "Cross-border residencies for artists working with AI",
]
TITLES = [
    "AI skills for creative SMEs",
    "Shared compute and data spaces",
    "Fair copyright and licensing for AI training",
    "Matchmaking between AI and CCI",
    "Funding calls for AI in the CCI",
    "Trust and awareness",
    "Transparency of AI-generated media",
    "European open-source AI for culture",
    "Ethics codes for cultural institutions",
]


def crowded_board(make_lab: Callable[..., Lab]) -> tuple[Lab, list[int], list[int]]:
    """30 notes in the first challenge, 27 of them in 9 clusters of 3; the ids of the notes
    and of the clusters, in board order."""
    lab = make_lab(participants=1)
    lab.phase("brainstorm")
    texts = [t for group in CHALLENGE_SMES + CHALLENGE_TRUST for t in group] + MORE_NOTES
    ids = [lab.contribute(0, 0, text) for text in texts[:30]]
    lab.phase("clustering")
    clusters = [
        lab.cluster(0, title, ids[3 * i : 3 * i + 3], category=i % 3)
        for i, title in enumerate(TITLES)
    ]
    return lab, ids, clusters


def open_board(
    new_context: Callable[..., BrowserContext], lab: Lab, viewport: dict[str, int], **kwargs: object
) -> tuple[Page, list[str]]:
    """The facilitator's board, with every console error and page error collected."""
    page = lab.sign_in(new_context(viewport, **kwargs)).new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"/s/{lab.code}/facilitate/clustering?challenge={lab.challenges[0]['id']}")
    expect(page.locator("[data-board-canvas]")).to_be_visible()
    return page, problems


def box(locator: Locator) -> dict[str, float]:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not rendered"
    return found


def drag_to(page: Page, note: Locator, target: Locator) -> None:
    """Drag with the mouse in small steps (SortableJS follows pointer moves); no scrolling
    on the way: the target must be on screen already."""
    note.scroll_into_view_if_needed()  # inside its own column only: the board stays put
    start, end = box(note), box(target)
    x, y = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 12, y + 12, steps=3)
    page.mouse.move(end["x"] + end["width"] / 2, end["y"] + end["height"] / 2, steps=12)
    page.mouse.up()


def within_screen(page: Page, locator: Locator, viewport: dict[str, int]) -> None:
    """Wait until the element is wholly inside the screen's width and starts on it (a smooth
    scroll takes a moment)."""
    locator.evaluate(
        """(el, vp) => new Promise((resolve, reject) => {
            const started = Date.now();
            const check = () => {
                const r = el.getBoundingClientRect();
                if (r.left >= 0 && r.right <= vp.width && r.top >= 0 && r.top < vp.height) resolve();
                else if (Date.now() - started > 5000) reject(new Error(`not on screen: ${JSON.stringify(r)}`));
                else setTimeout(check, 50);
            };
            check();
        })""",
        viewport,
    )


def test_the_board_is_on_the_first_screen_of_a_laptop(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab, _, _ = crowded_board(make_lab)
    page, problems = open_board(new_context, lab, LAPTOP)
    # Clusters exist: the assistant is folded to a strip beside the board.
    panel = page.locator("#assistant-panel")
    expect(panel).not_to_have_attribute("open", "")
    assert box(panel)["width"] < 60
    inbox = page.locator("#column-inbox")
    first_note = inbox.locator("[data-note]").first
    assert 0 < box(inbox)["y"] < LAPTOP["height"] * 0.6, "the first column starts too low"
    note = box(first_note)
    assert note["y"] + note["height"] <= LAPTOP["height"], "the first note is below the fold"
    canvas = box(page.locator("[data-board-canvas]"))
    assert canvas["y"] + canvas["height"] <= LAPTOP["height"], "the board does not fit the screen"
    # One row of columns that scrolls sideways inside the board, never the page.
    columns = page.locator("[data-board-canvas] > .board__column")
    assert columns.count() == 11  # inbox, 9 clusters, new cluster
    tops = {round(box(columns.nth(i))["y"]) for i in range(3)}
    assert len(tops) == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]
    # The assistant opens in place, and closes again.
    panel.locator("summary").click()
    expect(page.get_by_role("button", name="Suggest clusters")).to_be_visible()
    assert box(inbox)["y"] + box(inbox.locator("[data-note]").first)["height"] < LAPTOP["height"]
    screenshot(page, "board-1366-assistant-open")
    panel.locator("summary").click()
    expect(page.get_by_role("button", name="Suggest clusters")).to_be_hidden()
    screenshot(page, "board-1366")
    assert_accessible(page, "clustering board at 1366 × 768")
    assert not problems, problems


def test_a_note_reaches_the_last_column_by_drag_and_drop(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab, ids, clusters = crowded_board(make_lab)
    page, problems = open_board(new_context, lab, LAPTOP)
    last = page.locator(f"#column-{clusters[-1]}")
    # The last column is off to the right: its name in the map is the drop target.
    assert box(last)["x"] > LAPTOP["width"]
    note = page.locator("#column-inbox [data-note]").first
    text = note.inner_text()
    chip = page.locator(f'#board-map [data-drop-cluster="{clusters[-1]}"]')
    drag_to(page, note, chip)
    expect(page.locator("#board-status")).to_contain_text(f"to “{TITLES[-1]}”")
    expect(last.locator("[data-note]", has_text=text)).to_have_count(1)
    expect(page.locator("#column-inbox [data-note]")).to_have_count(2)
    expect(chip.locator(".count-badge")).to_contain_text("4")
    # The board did not scroll to get there.
    assert page.locator("[data-board-canvas]").evaluate("el => el.scrollLeft") == 0
    moved = lab.contributions()
    assert next(c for c in moved if c["text"] == text)["cluster_id"] == clusters[-1]

    # And back, from the last column to the first, dropped straight on the column.
    page.locator(f'#board-map a[href="#column-{clusters[-1]}"]').click()
    within_screen(page, last, LAPTOP)
    back = last.locator("[data-note]", has_text=text)
    inbox_chip = page.locator('#board-map [data-drop-cluster=""]')
    drag_to(page, back, inbox_chip)
    expect(page.locator("#column-inbox [data-note]", has_text=text)).to_have_count(1)
    expect(last.locator("[data-note]")).to_have_count(3)
    assert not problems, problems


def test_keyboard_moves_and_the_move_panel_log_no_error(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab, ids, clusters = crowded_board(make_lab)
    page, problems = open_board(new_context, lab, LAPTOP)
    # The move panel, as a mouse or keyboard user fills it in.
    contribution = lab.contributions()[27]
    page.locator("#move-contribution").select_option(str(contribution["id"]))
    page.locator("#move-target").select_option(str(clusters[4]))
    page.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator(f"#column-{clusters[4]} [data-note]")).to_have_count(4)
    expect(page.locator("#board-status")).to_contain_text(f"to “{TITLES[4]}”")
    # The focus is back on the panel after the redraw, ready for the next move.
    expect(page.locator("#move-contribution")).to_be_focused()
    assert_focus_visible(page, "the move panel after a move")

    # Keyboard alone: Enter selects a note, M jumps to "Move to", arrows choose, Enter moves.
    note = page.locator("#column-inbox [data-note]").first
    text = note.inner_text()
    note.focus()
    page.keyboard.press("Enter")
    expect(note).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("m")
    target = page.locator("#move-target")
    expect(target).to_be_focused()
    options = target.locator("option").all_inner_texts()
    for _ in range(options.index(TITLES[-1])):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Move", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(f"#column-{clusters[-1]} [data-note]", has_text=text)).to_have_count(1)
    # "Move here" on a column, with Space to select.
    note = page.locator("#column-inbox [data-note]").first
    note.focus()
    page.keyboard.press("Space")
    move_here = page.locator(f"#column-{clusters[0]}").get_by_role(
        "button", name=re.compile("^Move here")
    )
    move_here.focus()
    page.keyboard.press("Enter")
    expect(page.locator(f"#column-{clusters[0]} [data-note]")).to_have_count(4)
    expect(page.locator("#column-inbox [data-note]")).to_have_count(0)
    assert not problems, f"console errors while moving: {problems}"


def test_the_overview_shows_every_column_on_a_big_screen(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab, ids, clusters = crowded_board(make_lab)
    page, problems = open_board(new_context, lab, BIG_SCREEN)
    toggle = page.get_by_role("button", name="Overview")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    columns = page.locator("[data-board-canvas] > .board__column:visible")
    assert columns.count() == 10  # the inbox and every cluster (the new-cluster form rests)
    for i in range(columns.count()):
        found = box(columns.nth(i))
        assert found["x"] >= 0 and found["x"] + found["width"] <= BIG_SCREEN["width"], i
        assert found["y"] >= 0 and found["y"] + found["height"] <= BIG_SCREEN["height"], i
    assert page.evaluate("document.documentElement.scrollHeight") <= BIG_SCREEN["height"] + 120
    screenshot(page, "board-1920-overview")
    assert_accessible(page, "clustering board overview at 1920 × 1080")
    # Every column in view: a note goes from the first to the last one directly.
    note = page.locator("#column-inbox [data-note]").first
    text = note.inner_text()
    drag_to(page, note, page.locator(f"#column-{clusters[-1]} ul.board__list"))
    expect(page.locator(f"#column-{clusters[-1]} [data-note]", has_text=text)).to_have_count(1)
    # The choice is kept for the next visit.
    page.reload()
    expect(page.get_by_role("button", name="Overview")).to_have_attribute("aria-pressed", "true")
    assert not problems, problems


def test_the_board_is_usable_on_a_phone(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab, ids, clusters = crowded_board(make_lab)
    page, problems = open_board(new_context, lab, PHONE, **PHONE_DEVICE)
    assert_fits_phone(page, "clustering board on a phone")
    # The map jumps to a column far down the page.
    page.locator(f'#board-map a[href="#column-{clusters[-1]}"]').click()
    within_screen(page, page.locator(f"#column-{clusters[-1]} .board__column-header"), PHONE)
    # Select a note and move it with "Move here".
    note = page.locator("#column-inbox [data-note]").first
    note.scroll_into_view_if_needed()
    note.tap()
    move_here = page.locator(f"#column-{clusters[1]}").get_by_role(
        "button", name=re.compile("^Move here")
    )
    move_here.tap()
    expect(page.locator(f"#column-{clusters[1]} [data-note]")).to_have_count(4)
    screenshot(page, "board-390")
    assert_accessible(page, "clustering board on a phone")
    assert not problems, problems
