"""The facilitator's controls against abuse in a real browser, by keyboard: removing a
participant from the dashboard and contributions in bulk from the brainstorm board; an open
participant page loses what was removed by itself (live), and the pages stay accessible."""

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import (
    PHONE,
    PHONE_DEVICE,
    Lab,
    assert_accessible,
    assert_nothing_cut_off,
    assert_touch_targets,
    screenshot,
    tab_to,
)

LIVE = "[data-live-indicator][data-state=live]"
LAPTOP = {"width": 1366, "height": 768}


def open_live(context: BrowserContext, path: str) -> Page:
    page = context.new_page()
    page.goto(path)
    page.wait_for_selector(LIVE, state="attached")
    return page


def test_a_facilitator_removes_a_puppet_and_notes_in_bulk_by_keyboard(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab(show_contributions=True)
    lab.join("Puppet")
    lab.join("Dana")
    lab.phase("brainstorm")
    for n in range(3):
        lab.contribute(0, n % 2, f"Spam note {n}")
    keep = lab.contribute(1, 1, "Creative SMEs cannot pay for compute")
    lab.contribute(1, 0, "Off-topic rant one")
    lab.contribute(1, 0, "Off-topic rant two")

    # Dana watches her page on a phone (the first challenge): her notes, and what others
    # wrote (the board is shared).
    dana = open_live(
        lab.sign_in(new_context(PHONE, **PHONE_DEVICE), lab.tokens[1]), f"/s/{lab.code}"
    )
    for text in ("Spam note 0", "Spam note 2", "Off-topic rant one", "Off-topic rant two"):
        expect(dana.get_by_text(text, exact=True)).to_be_attached()

    # The dashboard lists who joined, with what each did.
    fac = open_live(lab.sign_in(new_context(LAPTOP)), f"/s/{lab.code}/facilitate")
    people = fac.locator("#dash-people")
    expect(people.locator(".people-list__item")).to_have_count(2)
    puppet_row = people.locator(".people-list__item", has_text="Puppet")
    expect(puppet_row).to_contain_text("3 contributions · 0 scores")
    assert_accessible(fac, "dashboard with participants")
    screenshot(fac, "controls-dashboard")

    # Remove the puppet, by keyboard; the dialog says what goes with them.
    remove = puppet_row.get_by_role("button", name="Remove Puppet")
    fac.locator("body").focus()
    tab_to(fac, remove, "dashboard")
    fac.keyboard.press("Enter")
    dialog = fac.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Remove Puppet and everything they wrote and scored?")
    expect(dialog).to_contain_text("Their 3 contributions are removed.")
    assert_accessible(fac, "dashboard asking to remove a participant")
    fac.keyboard.press("Tab")  # from Cancel (focused first) to the confirming button
    expect(dialog.get_by_role("button", name="Remove Puppet")).to_be_focused()
    fac.keyboard.press("Enter")
    expect(fac.locator(".toast")).to_contain_text(
        "Puppet was removed, with 3 contributions and their scores."
    )
    expect(people.locator(".people-list__item")).to_have_count(1)
    expect(fac.locator("#dash-people-title")).to_be_focused()
    expect(fac.locator("#dash-activity .stat").first).to_contain_text("1")

    # Dana's open page loses the puppet's notes by itself.
    for n in (0, 2):
        expect(dana.get_by_text(f"Spam note {n}", exact=True)).to_have_count(0, timeout=10_000)
    expect(dana.get_by_text("Off-topic rant one", exact=True)).to_be_attached()

    # Close the session to new joins from the keyboard as well; the state is shown.
    toggle = fac.get_by_role("button", name="Close to new joins")
    tab_to(fac, toggle, "dashboard join card")
    fac.keyboard.press("Enter")
    expect(fac.locator("#join-state")).to_contain_text("Closed to new joins.")
    expect(fac.get_by_role("button", name="Open to new joins")).to_be_focused()
    joined = lab.server.api("POST", lab.url("/participants"), json={"name": "Late"})
    assert joined.status_code == 403

    # The brainstorm board: select all of the first challenge with the keyboard, remove.
    board = open_live(lab.sign_in(new_context(LAPTOP)), f"/s/{lab.code}/facilitate/brainstorm")
    first = board.locator(f"#brainstorm-challenge-{lab.challenges[0]['id']}")
    select_all = first.get_by_role(
        "checkbox", name="Select all contributions of “Innovation ecosystems”"
    )
    tab_to(board, select_all, "brainstorm board")
    board.keyboard.press("Space")
    expect(first.locator("[data-bulk-item]:checked")).to_have_count(2)
    expect(board.locator("[data-bulk-count]")).to_have_text("Selected: 2")
    submit = board.get_by_role("button", name="Remove selected…")
    tab_to(board, submit, "brainstorm board to the bulk button", back=True)
    board.keyboard.press("Enter")
    confirm = board.locator("[data-bulk-confirm]")
    expect(confirm.get_by_role("heading", name="Remove 2 contributions?")).to_be_focused()
    expect(confirm).to_contain_text("Off-topic rant one")
    expect(confirm).to_contain_text("Off-topic rant two")
    assert_accessible(board, "brainstorm board asking to remove in bulk")
    screenshot(board, "controls-board-confirm")
    # Escape takes it back, nothing removed; ask again and confirm.
    board.keyboard.press("Escape")
    expect(board.get_by_role("button", name="Remove selected…")).to_be_focused()
    expect(first.locator(".note__text")).to_have_count(2)
    board.keyboard.press("Enter")
    expect(confirm.get_by_role("heading", name="Remove 2 contributions?")).to_be_focused()
    board.keyboard.press("Tab")
    expect(board.get_by_role("button", name="Remove 2 contributions")).to_be_focused()
    board.keyboard.press("Enter")
    expect(board.locator(".toast")).to_contain_text("2 contributions removed.")
    expect(first.locator(".note__text")).to_have_count(0)
    expect(board.locator(f"#contribution-{keep}")).to_be_visible()
    expect(board.locator("[data-bulk-hint]")).to_be_visible()
    assert_accessible(board, "brainstorm board after removing in bulk")

    # Dana's own list loses the two notes too.
    expect(dana.get_by_text("Off-topic rant one", exact=True)).to_have_count(0, timeout=10_000)
    expect(dana.get_by_text("Off-topic rant two", exact=True)).to_have_count(0)
    assert_accessible(dana, "participant page after removals")


def test_the_dashboard_fits_a_phone_and_no_toast_covers_copy(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab()
    lab.join("Amira Haddad")
    lab.join(None)
    context = lab.sign_in(new_context(PHONE, **PHONE_DEVICE))
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = open_live(context, f"/s/{lab.code}/facilitate")
    expect(page.locator("#dash-people")).to_contain_text("Participant 2")
    assert_nothing_cut_off(page, "dashboard on a phone")
    assert_touch_targets(page, "dashboard on a phone")
    screenshot(page, "controls-dashboard-phone")
    # The Copy button at the foot of the screen: the toast it causes goes elsewhere.
    copy = page.get_by_role("button", name="Copy the join link")
    copy.scroll_into_view_if_needed()
    box = copy.bounding_box()
    assert box
    page.evaluate("y => window.scrollBy(0, y)", box["y"] + box["height"] - PHONE["height"] + 16)
    copy.tap()
    toast = page.locator(".toast")
    expect(toast).to_contain_text("Copied to the clipboard")
    near, spot = toast.bounding_box(), copy.bounding_box()
    assert near and spot
    apart = near["y"] + near["height"] <= spot["y"] or spot["y"] + spot["height"] <= near["y"]
    assert apart, f"the toast {near} covers the Copy button {spot}"
