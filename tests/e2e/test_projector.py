"""The projector as a presentation for the room, in a real browser: every phase fits a 16:9
screen at 1920 × 1080 and 1366 × 768 with realistic content (no vertical scroll, nothing
beyond the screen's edge), the join code and link stay on one line, the results stay hidden
until the facilitator reveals them and then appear live, and the results pages follow the
on-screen arrows and the keyboard."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import Lab, assert_accessible, screenshot

FULL_HD = {"width": 1920, "height": 1080}
LAPTOP = {"width": 1366, "height": 768}
SCREENS = {"1920": FULL_HD, "1366": LAPTOP}
LIVE = "[data-live-indicator][data-state=live]"

LONG_TITLE = (
    "Regional AI competence centres where creative SMEs, cultural institutions and AI "
    "developers co-design tools, share compute and test ethical guidelines together"
)
NOTES = [
    "No funding line that lets a small theatre hire a data scientist for a year",
    "Artists do not know which AI tools they may legally use with their archives",
    "Public broadcasters keep their datasets closed, even for non-profit research",
    "Regional innovation hubs ignore the cultural sector entirely",
    "No shared GPU time for SMEs; cloud credits expire before projects start",
    "Collective management organisations have no mandate to license for AI training",
    "Training programmes for civil servants never mention the creative industries",
    "Game studios and museums never meet: there is no matchmaking event",
    "Procurement rules exclude start-ups without three years of accounts",
    "Nobody measures the economic weight of AI in the creative sector",
    "Translators lose income and no transition support exists",
    "Open-source models lack European languages with few speakers",
    "Vocational schools teach software that studios stopped using years ago",
    "Grant applications take weeks; a micro-grant track would help freelancers",
    "Unclear liability when an AI system reproduces a copyrighted melody",
    "Cultural heritage data is scattered across incompatible portals",
    "No sandbox where artists can test AI with legal certainty",
    "Women and older creatives are under-represented in AI training courses",
    "Festivals cannot afford to experiment with AI-driven audience tools",
    "Mentoring between AI researchers and artists happens only by chance",
    "The AI Act's transparency duties are not explained for small creators",
    "Broadband in rural creative hubs is too slow for cloud-based AI tools",
    "Public money funds AI research whose results creators cannot access",
    "A label for human-made work is missing, so audiences cannot tell",
]


TITLE = (
    "AI in the cultural and creative industries: skills, ecosystems and the framework "
    "conditions creative SMEs need to shape AI"
)
LONG_CHALLENGES = [
    {
        "title": "Innovation ecosystems: how creative SMEs, cultural institutions and AI "
        "developers find each other across Europe's regions",
        "description": "Where they meet, and where they do not.",
    },
    {
        "title": "Skills for AI in the cultural and creative industries, from vocational "
        "schools to lifelong learning for freelancers",
        "description": "What artists, technicians and civil servants need to learn.",
    },
]


def realistic_lab(make_lab: Callable[..., Lab]) -> Lab:
    """Two challenges, three participants, 24 contributions, in the brainstorm phase."""
    lab = make_lab(participants=3, title=TITLE)
    lab.phase("brainstorm")
    for i, text in enumerate(NOTES):
        lab.contribute(i % 3, i % 2, text)
    return lab


def cluster_and_score(lab: Lab) -> None:
    """Nine clusters (long titles among them), every one scored by everyone."""
    lab.phase("clustering")
    ids = [c["id"] for c in lab.contributions()]
    titles = [
        LONG_TITLE,
        "Micro-grants for freelancers, decided within two weeks",
        "A legal sandbox for artists experimenting with AI",
        "Collective licensing of archives for AI training, with fair remuneration",
        "Shared GPU time for creative SMEs through the regional hubs",
        "Matchmaking between museums, game studios and AI researchers",
        "Curricula updated with the studios, every year",
        "A 'human-made' label audiences can trust",
        "Transition support for translators and other affected professions",
    ]
    made = []
    for n, title in enumerate(titles):
        challenge = n % 2
        own = [i for k, i in enumerate(ids) if k % 2 == challenge][n // 2 * 2 : n // 2 * 2 + 2]
        made.append(lab.cluster(challenge, title, own, category=n % 3))
    lab.phase("scoring")
    for who in range(3):
        for n, cluster in enumerate(made):
            lab.rate(who, cluster, 5 - (n + who) % 5, ("eu", "national", "local_regional")[n % 3])


def open_projector(context: BrowserContext, lab: Lab) -> Page:
    page = lab.sign_in(context).new_page()
    page.goto(f"/s/{lab.code}/projector")
    expect(page.locator(LIVE)).to_be_attached()
    return page


OVERFLOW_JS = """() => {
  const doc = document.documentElement;
  const tall = Math.max(doc.scrollHeight, document.body.scrollHeight) - window.innerHeight;
  const wide = Math.max(doc.scrollWidth, document.body.scrollWidth) - window.innerWidth;
  const out = [];
  for (const el of document.querySelectorAll('#projector-body *, .site-header *')) {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1 || el.closest('[hidden], .visually-hidden')) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden') continue;
    if (r.bottom > window.innerHeight + 1 || r.right > window.innerWidth + 1) {
      out.push(el.tagName.toLowerCase() + '.' + (el.className || '') + ' ' + Math.round(r.bottom));
    }
  }
  return {tall, wide, out: out.slice(0, 8)};
}"""


def assert_fits_screen(page: Page, where: str) -> None:
    """No scroll bar either way, and nothing shown beyond the screen's edges."""
    page.evaluate("document.fonts.ready")
    found = page.evaluate(OVERFLOW_JS)
    assert found["tall"] <= 0, f"{where} scrolls down by {found['tall']}px"
    assert found["wide"] <= 0, f"{where} scrolls sideways by {found['wide']}px"
    assert not found["out"], f"{where}: beyond the screen's edge: {found['out']}"


def assert_on_one_line(page: Page, selector: str, where: str) -> None:
    """The element is one line of text, and all of it is shown."""
    box = page.locator(selector).first.evaluate(
        """el => {
          const range = document.createRange();
          range.selectNodeContents(el);
          const lines = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
          return {lines: lines.size, clipped: el.scrollWidth - el.clientWidth, text: el.textContent};
        }"""
    )
    assert box["lines"] == 1, f"{where}: {selector} “{box['text']}” runs over {box['lines']} lines"
    assert box["clipped"] <= 1, f"{where}: {selector} is cut by {box['clipped']}px"


def look(page: Page, name: str) -> None:
    """A screenshot of the screen as the room sees it; everything fits."""
    screenshot(page, name)
    assert_fits_screen(page, name)


@pytest.mark.parametrize("screen", SCREENS)
def test_every_phase_fits_the_screen_with_realistic_content(
    screen: str, make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = make_lab(participants=3, title=TITLE, challenges=LONG_CHALLENGES)
    page = open_projector(new_context(SCREENS[screen]), lab)
    expect(page.locator(".projector-challenges")).to_contain_text("Skills for AI in")
    look(page, f"projector-setup-{screen}")
    assert_on_one_line(page, ".join-url__value", "setup")
    assert_on_one_line(page, ".join-code__value", "setup")
    assert_accessible(page, f"projector setup {screen}")

    lab.phase("brainstorm")
    for i, text in enumerate(NOTES):
        lab.contribute(i % 3, i % 2, text)
    expect(page.locator("#projector-wall-title")).to_contain_text("24 contributions")
    wall = page.locator(".projector-wall__note")
    expect(wall.first).to_contain_text(NOTES[-1])  # the newest first
    shown = wall.evaluate_all("notes => notes.filter(n => !n.hidden).length")
    assert 6 <= shown <= len(NOTES), f"{shown} notes shown on the wall"
    # Live counts per challenge (12 each).
    expect(page.locator(".projector-tally__value")).to_have_text(["12", "12"])
    look(page, f"projector-brainstorm-{screen}")
    assert_on_one_line(page, ".join-url__value", "brainstorm")
    assert_accessible(page, f"projector brainstorm {screen}")

    cluster_and_score(lab)
    lab.phase("clustering")
    expect(page.locator(".projector-cluster").first).to_be_visible()
    look(page, f"projector-clustering-{screen}")
    assert_on_one_line(page, ".join-url__value", "clustering")

    lab.phase("scoring")
    expect(page.locator("#projector-scoring-title")).to_be_visible()
    expect(page.locator(".projector-progress__text").first).to_contain_text("3 of 3 people done")
    assert page.locator("[data-slide]").count() == 0
    look(page, f"projector-scoring-{screen}")
    assert_accessible(page, f"projector scoring {screen}")

    lab.call("PATCH", "", json={"results_revealed": True})
    expect(page.locator("[data-slide]:not([hidden])")).to_have_count(1)
    look(page, f"projector-scoring-revealed-{screen}")

    lab.phase("report")
    expect(page.locator(".projector-ongoing")).to_have_count(0)
    expect(page.locator("[data-slide]:not([hidden]) .projector-rec").first).to_be_visible()
    look(page, f"projector-report-{screen}")
    assert_accessible(page, f"projector report {screen}")
    page.keyboard.press("ArrowRight")
    look(page, f"projector-report-2-{screen}")


def test_results_stay_hidden_until_revealed_then_appear_live(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = realistic_lab(make_lab)
    cluster_and_score(lab)
    projector = open_projector(new_context(LAPTOP), lab)
    expect(projector.locator("#projector-scoring-title")).to_be_visible()
    expect(projector.get_by_text("Shared GPU time")).to_have_count(0)
    participant_context = new_context(LAPTOP)
    lab.sign_in(participant_context, lab.tokens[0])
    participant = participant_context.new_page()
    participant.goto(f"/s/{lab.code}")
    expect(participant.locator(LIVE)).to_be_attached()
    expect(participant.locator("#revealed-results")).to_be_hidden()
    refused = lab.server.api("GET", lab.url("/matrix"), lab.tokens[0])
    assert refused.status_code == 403 and "hidden" in refused.json()["detail"]

    # The facilitator reveals them from the matrix page.
    facilitator = lab.sign_in(new_context(LAPTOP)).new_page()
    facilitator.goto(f"/s/{lab.code}/facilitate/matrix")
    expect(facilitator.locator(LIVE)).to_be_attached()
    screenshot(facilitator, "matrix-results-hidden-1366")
    facilitator.get_by_role("button", name="Reveal results").click()
    expect(facilitator.get_by_role("button", name="Hide results")).to_be_focused()
    screenshot(facilitator, "matrix-results-revealed-1366")
    assert_accessible(facilitator, "matrix page, results revealed")
    expect(projector.locator("[data-slide]:not([hidden]) .projector-rec").first).to_be_visible()
    expect(participant.locator("#revealed-results")).to_contain_text("Results so far")
    expect(participant.locator("#revealed-results")).to_contain_text("Shared GPU time")
    screenshot(participant, "participant-scoring-revealed-1366")
    assert lab.server.api("GET", lab.url("/matrix"), lab.tokens[0]).status_code == 200
    assert_fits_screen(projector, "revealed during scoring")

    facilitator.get_by_role("button", name="Hide results").click()
    expect(facilitator.get_by_role("button", name="Reveal results")).to_be_visible()
    expect(projector.locator("[data-slide]")).to_have_count(0)
    expect(projector.locator("#projector-scoring-title")).to_be_visible()
    expect(participant.locator("#revealed-results")).to_be_hidden()
    assert lab.server.api("GET", lab.url("/matrix"), lab.tokens[0]).status_code == 403


def test_report_pages_through_the_top_recommendations_with_arrows_and_keys(
    make_lab: Callable[..., Lab], new_context: Callable[..., BrowserContext]
) -> None:
    lab = realistic_lab(make_lab)
    cluster_and_score(lab)
    lab.phase("report")
    page = open_projector(new_context(FULL_HD), lab)
    slides = page.locator("[data-slide]")
    shown = page.locator("[data-slide]:not([hidden])")
    total = slides.count()
    # Two challenges with five and four recommendations: three to a page, then the matrix.
    assert total == 6
    expect(shown).to_have_count(1)
    expect(shown.locator(".projector-slide__challenge")).to_have_text("Innovation ecosystems")
    expect(shown.locator(".projector-rec__rank")).to_have_text(["1", "2", "3"])
    page.keyboard.press("ArrowRight")
    expect(shown.locator(".projector-rec__rank")).to_have_text(["4", "5"])
    page.keyboard.press("PageDown")  # a presentation clicker
    expect(shown.locator("table.matrix .chip__rank")).to_have_count(5)
    assert_fits_screen(page, "the matrix page")
    screenshot(page, "projector-report-matrix-1920")
    page.keyboard.press("PageDown")
    expect(shown.locator(".projector-slide__challenge")).to_have_text("Skills for AI")
    page.keyboard.press("PageUp")
    page.keyboard.press("ArrowLeft")
    expect(shown.locator(".projector-rec__rank")).to_have_text(["4", "5"])
    page.keyboard.press("End")
    expect(shown.locator(".projector-pager__count")).to_have_text(f"{total} of {total}")
    page.keyboard.press("ArrowRight")  # the last page stays
    expect(shown.locator(".projector-pager__count")).to_have_text(f"{total} of {total}")
    page.keyboard.press("Home")
    expect(shown.locator(".projector-pager__count")).to_have_text(f"1 of {total}")
    # The on-screen arrows, by mouse and by keyboard (Tab to the arrow, Enter).
    shown.get_by_role("link", name="Next page of results").click()
    expect(shown.locator(".projector-pager__count")).to_have_text(f"2 of {total}")
    expect(shown.get_by_role("link", name="Next page of results")).to_be_focused()
    page.keyboard.press("Enter")
    expect(shown.locator(".projector-pager__count")).to_have_text(f"3 of {total}")
    assert re.search(r"[?&]slide=3\b", page.url)
    # A live update redraws the view: the page shown stays.
    lab.call("PATCH", "", json={"title": "Renamed while presenting"})
    expect(page.locator("#projector-body h1")).to_contain_text("Renamed while presenting")
    expect(shown.locator(".projector-pager__count")).to_have_text(f"3 of {total}")
    # Reloaded (or without scripts: the arrows are links), the same page.
    page.reload()
    expect(page.locator("[data-slide]:not([hidden]) .projector-pager__count")).to_have_text(
        f"3 of {total}"
    )
    assert_fits_screen(page, "report page 3")
    assert_accessible(page, "projector report pages")
