"""Languages in a real browser: two participants of one session, one with a French and one
with a Polish browser, each see their own language, also after a live phase change; the
projector speaks the session's language whatever the facilitator's browser; the language
switcher works with the keyboard alone; axe finds nothing serious."""

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import PHONE, PHONE_DEVICE, Lab, assert_accessible, screenshot, tab_to

STEP = "#main .stepper [aria-current=step]"


def test_a_french_and_a_polish_participant_each_see_their_language(
    new_context: Callable[..., BrowserContext], make_lab: Callable[..., Lab]
) -> None:
    lab = make_lab()
    lab.phase("brainstorm")
    french = lab.sign_in(new_context(PHONE, locale="fr-FR", **PHONE_DEVICE), lab.join("Amélie"))
    polish = lab.sign_in(new_context(PHONE, locale="pl-PL", **PHONE_DEVICE), lab.join("Zofia"))
    pages: dict[str, Page] = {}
    for name, context in (("fr", french), ("pl", polish)):
        page = context.new_page()
        page.goto(f"/s/{lab.code}")
        expect(page.locator("html")).to_have_attribute("lang", name)
        expect(page.locator("[data-live-indicator]").first).to_have_attribute("data-state", "live")
        pages[name] = page
    expect(pages["fr"].locator(STEP)).to_contain_text("Brainstorming")
    expect(pages["pl"].locator(STEP)).to_contain_text("Burza mózgów")
    expect(pages["fr"].locator("#language-switcher-select")).to_have_value("fr")
    assert_accessible(pages["fr"], "participant page in French")
    assert_accessible(pages["pl"], "participant page in Polish")
    # One change in the room; each screen follows it in its own language.
    lab.phase("clustering")
    expect(pages["fr"].locator(STEP)).to_contain_text("Regroupement")
    expect(pages["pl"].locator(STEP)).to_contain_text("Grupowanie")
    screenshot(pages["fr"], "i18n-participant-fr")
    screenshot(pages["pl"], "i18n-participant-pl")


def test_the_projector_speaks_the_sessions_language(
    new_context: Callable[..., BrowserContext], make_lab: Callable[..., Lab]
) -> None:
    lab = make_lab(language="de")
    assert lab.categories[0] == "KI- und Branchenakteure"
    page = lab.sign_in(new_context(locale="fr-FR")).new_page()
    page.goto(f"/s/{lab.code}/facilitate")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    page.goto(f"/s/{lab.code}/projector")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator(".stepper [aria-current=step]")).to_contain_text("Vorbereitung")
    assert_accessible(page, "projector in German")


def test_the_language_switcher_works_with_the_keyboard_alone(
    new_context: Callable[..., BrowserContext],
) -> None:
    page = new_context(locale="en-GB").new_page()
    page.goto("/")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    menu = page.locator("#language-switcher-select")
    tab_to(page, menu, "landing: language menu")
    page.keyboard.type("Deutsch")  # type-ahead picks the option by its name
    expect(menu).to_have_value("de")
    tab_to(page, page.get_by_role("button", name="Change language"), "landing: change")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_role("button", name="Sprache wechseln")).to_be_visible()
    assert re.search(r"/$", page.url)
    # Kept for the next page.
    page.goto("/new")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("#field-language")).to_have_value("de")
    assert_accessible(page, "create form in German")


def test_a_count_in_a_script_takes_the_plural_form_of_the_language(
    new_context: Callable[..., BrowserContext],
) -> None:
    """The character counter: French says “0 caractère restant” (zero is singular in
    French), English “0 characters left”; the forms come from the server, the choice from
    Intl.PluralRules."""
    spoken = "#field-title-counter .visually-hidden"
    french = new_context(locale="fr-FR").new_page()
    french.goto("/new")
    french.fill("#field-title", "x" * 198)
    expect(french.locator(spoken)).to_have_text("2 caractères restants")
    french.fill("#field-title", "x" * 200)
    expect(french.locator(spoken)).to_have_text("0 caractère restant")
    english = new_context(locale="en-GB").new_page()
    english.goto("/new")
    english.fill("#field-title", "x" * 199)
    expect(english.locator(spoken)).to_have_text("1 character left")
    english.fill("#field-title", "x" * 200)
    expect(english.locator(spoken)).to_have_text("0 characters left")
