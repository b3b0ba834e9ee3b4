"""What a person meets when something goes wrong: a wrong code, an empty or too long
contribution, and a connection lost while sending. Each time the page says what happened,
nothing typed is lost, and nothing is stored twice."""

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, Request, Route, expect

from tests.e2e.conftest import (
    DESKTOP,
    PHONE,
    PHONE_DEVICE,
    Lab,
    assert_accessible,
    assert_nothing_cut_off,
    screenshot,
)

BOX = "One gap or missing intervention"


def brainstorming(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext], *, phone: bool = False
) -> tuple[Lab, Page]:
    """A session in the brainstorm and one participant's page on it."""
    lab = make_lab()
    token = lab.join("Ana")
    lab.phase("brainstorm")
    context = new_context(PHONE, **PHONE_DEVICE) if phone else new_context(DESKTOP)
    page = lab.sign_in(context, token).new_page()
    page.goto(f"/s/{lab.code}")
    expect(page.get_by_label(BOX)).to_be_visible()
    return lab, page


def stored(lab: Lab, text: str) -> int:
    return sum(1 for c in lab.contributions() if c["text"] == text)


def test_a_wrong_code_is_explained_and_kept(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab()
    page = new_context(PHONE, **PHONE_DEVICE).new_page()
    page.goto("/")
    page.get_by_label("Session code").fill("K7QX2N")
    page.get_by_role("button", name="Join", exact=True).click()
    field = page.get_by_label("Session code")
    expect(page.locator(".field__error")).to_contain_text("No session has this code")
    expect(field).to_have_value("K7QX2N")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_title(re.compile("^Error: "))
    screenshot(page, "error-wrong-code-phone")
    assert_accessible(page, "wrong code")
    assert_nothing_cut_off(page, "wrong code")
    # Corrected in place, the same form leads to the session.
    field.fill(lab.code.lower())
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("button", name="Join the session")).to_be_visible()
    # A link with a wrong code says the same.
    page.goto("/join/K7QX2N")
    expect(page.locator(".field__error")).to_contain_text("No session has this code")


def test_empty_and_too_long_contributions_are_refused_with_the_text_kept(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab, page = brainstorming(make_lab, new_context)
    box = page.get_by_label(BOX)

    page.get_by_role("button", name="Send").click()
    expect(page.locator("#field-text-error")).to_contain_text("cannot be empty")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_be_focused()
    assert_accessible(page, "brainstorm, empty contribution refused")

    # Past the limit nothing is cut (a browser would cut a paste without a word): the counter
    # says by how much it is too long.
    box.fill("x" * 520)
    expect(box).to_have_value("x" * 520)
    expect(page.locator("#field-text-counter")).to_contain_text("520 / 500")
    expect(page.locator("#field-text-counter")).to_contain_text("20 characters too many")

    # The server's own check: the message names the limit and every character is still there.
    too_long = "Public funding for AI testbeds is hard to find. " * 13  # 624 characters
    box.fill(too_long)
    page.get_by_role("button", name="Send").click()
    error = page.locator("#field-text-error")
    expect(error).to_contain_text("too long")
    expect(error).to_contain_text("at most 500")
    expect(page.get_by_label(BOX)).to_have_value(too_long)
    expect(page.get_by_label(BOX)).to_be_focused()
    screenshot(page, "error-too-long-desktop")
    assert_accessible(page, "brainstorm, too long contribution refused")
    assert lab.contributions() == []

    # Shortened, it goes through.
    page.get_by_label(BOX).fill(too_long[:200])
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".sent-note")).to_contain_text("Sent")
    assert stored(lab, too_long[:200].strip()) == 1


def test_offline_submit_keeps_the_text_and_sends_it_once_back_online(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab, page = brainstorming(make_lab, new_context, phone=True)
    text = "Regional creative hubs lack AI expertise to advise their members"
    sent: list[str] = []
    page.on(
        "request",
        lambda r: sent.append(r.post_data or "") if r.url.endswith("/contributions") else None,
    )
    page.get_by_label(BOX).fill(text)
    page.context.set_offline(True)
    page.get_by_role("button", name="Send").click()

    status = page.locator("[data-retry-status]")
    expect(status).to_contain_text("Not sent yet")
    expect(status).to_have_attribute("role", "status")
    expect(page.get_by_label(BOX)).to_have_value(text)
    # The connection state is said in words, not only by a colour.
    expect(page.locator("[data-live-indicator]").first).to_contain_text("Offline")
    screenshot(page, "brainstorm-offline-phone")
    assert_nothing_cut_off(page, "brainstorm offline")
    assert stored(lab, text) == 0

    page.context.set_offline(False)
    expect(status).to_contain_text("Saved")
    expect(page.get_by_label(BOX)).to_have_value("")
    expect(page.locator(".brainstorm__mine")).to_contain_text(text)
    assert stored(lab, text) == 1
    ids = {re.search(r"client_id=([0-9a-f]+)", body).group(1) for body in sent if body}  # type: ignore[union-attr]
    assert len(ids) == 1, f"every attempt must carry the same client_id: {ids}"
    assert len(sent) >= 2, "the text was sent again after the connection came back"


def test_a_lost_answer_is_retried_and_stored_once(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    """The request reaches the server but its answer is lost: the retry, with the same
    client_id, gets the stored contribution back instead of a second copy."""
    lab, page = brainstorming(make_lab, new_context)
    text = "Innovation vouchers exclude cultural organisations"
    bodies: list[str] = []

    def lose_first_answer(route: Route, request: Request) -> None:
        bodies.append(request.post_data or "")
        if len(bodies) == 1:
            route.fetch()  # the server stores it …
            route.abort("connectionreset")  # … and the answer never arrives
        else:
            route.continue_()

    page.route(re.compile(r"/contributions$"), lose_first_answer)
    page.get_by_label(BOX).fill(text)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("[data-retry-status]")).to_contain_text("Saved")
    expect(page.locator(".brainstorm__mine")).to_contain_text(text)
    assert len(bodies) == 2
    first, second = (re.search(r"client_id=([0-9a-f]+)", b).group(1) for b in bodies)  # type: ignore[union-attr]
    assert first == second
    assert stored(lab, text) == 1
    # The page shows it once too.
    expect(page.locator(".brainstorm__mine .note", has_text=text)).to_have_count(1)
