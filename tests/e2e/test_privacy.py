"""The privacy notice in a real browser: opened from the join page, accessible, fits a phone."""

from collections.abc import Callable

from playwright.sync_api import BrowserContext, expect

from tests.e2e.conftest import (
    PHONE,
    PHONE_DEVICE,
    Lab,
    assert_accessible,
    assert_fits_phone,
    screenshot,
)


def test_a_participant_opens_the_privacy_notice_from_the_join_page(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab()
    page = new_context(PHONE, **PHONE_DEVICE).new_page()
    page.goto(f"/join/{lab.code}")
    page.get_by_role("link", name="What is stored about you, and who sees it").click()
    expect(page.get_by_role("heading", name="What this server keeps about you")).to_be_visible()
    screenshot(page, "privacy-phone")
    assert_accessible(page, "privacy notice")
    assert_fits_phone(page, "privacy notice")
