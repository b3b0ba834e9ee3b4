"""Browser tests: a real `policylab serve` process on a free port with its own database file,
driven by a real Chromium through Playwright. Screenshots go to test-output/screenshots/."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Playwright,
    sync_playwright,
)

from tests.conftest import BROWSER_SKIPPED

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# What a phone is besides its size: a touch screen (CSS `pointer: coarse`, where small buttons
# grow to 44 px) that honours the page's viewport meta tag. Pass as `new_context(PHONE, **PHONE_DEVICE)`.
PHONE_DEVICE: dict[str, Any] = {"has_touch": True, "is_mobile": True}


# A machine without Chromium skips the browser tests (and says so in the summary); with
# POLICYLAB_REQUIRE_BROWSER=1 (set by .ci/run, which installs Chromium) a missing browser fails.
REQUIRE_BROWSER = os.environ.get("POLICYLAB_REQUIRE_BROWSER", "").lower() in ("1", "true", "yes")


def find_chromium() -> tuple[str | None, str]:
    """Debian's Chromium (Playwright's own browser download does not work on our machines),
    or POLICYLAB_CHROMIUM when set; with where it was looked for."""
    chosen = os.environ.get("POLICYLAB_CHROMIUM")
    if chosen:
        return (chosen if Path(chosen).exists() else None), f"POLICYLAB_CHROMIUM={chosen}"
    for candidate in ("/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate, candidate
    return None, "/usr/bin/chromium or `chromium` on PATH"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    browser_tests = [
        item for item in items if "tests/e2e/" in str(item.fspath).replace(os.sep, "/")
    ]
    if not browser_tests:
        return
    found, looked_at = find_chromium()
    for item in browser_tests:
        item.add_marker(pytest.mark.e2e)
        # Under pytest-xdist (--dist loadgroup) the browser tests run one after another on one
        # worker, with one server and one browser, as they were written for.
        item.add_marker(pytest.mark.xdist_group("browser"))
        if found is None and not REQUIRE_BROWSER:
            item.add_marker(
                pytest.mark.skip(
                    reason=f"{BROWSER_SKIPPED}: Chromium not found ({looked_at}). Install it "
                    "(apt-get install chromium), or set POLICYLAB_REQUIRE_BROWSER=1 to make "
                    "a missing browser fail the run, as .ci/run does."
                )
            )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def chromium_path() -> str:
    """The browser to drive; fails the test when there is none (POLICYLAB_REQUIRE_BROWSER)."""
    found, looked_at = find_chromium()
    if found is None:
        pytest.fail(
            f"Chromium is missing ({looked_at}) and POLICYLAB_REQUIRE_BROWSER is set: "
            "`apt-get install -y chromium` (.ci/run does this)."
        )
    return found


class Server:
    """A `policylab serve` process."""

    def __init__(self, tmp: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / f"server-{self.port}.log"
        env = {
            **os.environ,
            "POLICYLAB_DATABASE_URL": f"sqlite:///{tmp / f'e2e-{self.port}.db'}",
            "POLICYLAB_RATE_LIMITS": "false",
            **(extra_env or {}),
        }
        env.pop("POLICYLAB_REDIS_URL", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "serve",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start: {self.log.read_text()}")

    def api(
        self, method: str, path: str, token: str | None = None, **kwargs: object
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# Package scope, not session: Playwright's sync API keeps an event loop running in this
# thread while it is open, which would break every later test that runs asyncio itself.
@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the browser tests (each test creates its own workshop session)."""
    running = Server(tmp_path_factory.mktemp("e2e"))
    yield running
    running.stop()


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
    yield launched
    launched.close()


@pytest.fixture
def new_context(browser: Browser, server: Server) -> Iterator[Callable[..., BrowserContext]]:
    """Make browser contexts (one per person); all closed after the test."""
    made: list[BrowserContext] = []

    def make(viewport: dict[str, int] | None = None, **kwargs: object) -> BrowserContext:
        context = browser.new_context(
            base_url=server.url,
            viewport=viewport or DESKTOP,  # type: ignore[arg-type]
            **kwargs,  # type: ignore[arg-type]
        )
        context.set_default_timeout(10_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under test-output/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Page) -> list[dict[str, object]]:
    """Serious or critical axe-core violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    # A toast fading in or out is translucent for a moment and axe would measure
    # its contrast mid-fade: wait until finite animations and transitions settle
    # (spinners loop forever and are left alone).
    page.wait_for_function(
        """() => document.getAnimations().every(a => {
            const t = a.effect && a.effect.getComputedTiming();
            return a.playState !== 'running' || !t || t.endTime === Infinity;
        })""",
        timeout=5_000,
    )
    results = Axe().run(page)
    violations = results.response.get("violations", [])
    return [v for v in violations if v.get("impact") in ("serious", "critical")]


def assert_accessible(page: Page, where: str) -> None:
    """Fail with a readable list when axe finds serious or critical problems."""
    found = axe_violations(page)
    summary = [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"][:3]],  # type: ignore[index]
        }
        for v in found
    ]
    assert not found, f"axe violations on {where}: {json.dumps(summary, indent=1)}"


def assert_fits_phone(page: Page, where: str) -> None:
    """No horizontal scrolling at phone width."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{where} scrolls sideways by {overflow}px at phone width"


# --- workshops made through the API, and people signed in to them -------------------------


@dataclass
class Lab:
    """A session created through the JSON API, with helpers to act as its people and to sign
    a browser context in as one of them (the pages use the same token as a cookie)."""

    server: Server
    code: str
    facilitator_token: str
    challenges: list[dict[str, Any]]
    categories: list[str]
    tokens: list[str] = field(default_factory=list)

    def url(self, path: str = "") -> str:
        return f"/api/v1/sessions/{self.code}{path}"

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        response = self.server.api(
            method, self.url(path), token or self.facilitator_token, **kwargs
        )
        assert response.status_code < 300, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    def join(self, name: str | None = None) -> str:
        """A new participant; returns their token."""
        response = self.server.api("POST", self.url("/participants"), json={"name": name})
        assert response.status_code == 201, response.text
        token = str(response.json()["participant_token"])
        self.tokens.append(token)
        return token

    def phase(self, phase: str) -> None:
        self.call("POST", "/phase", json={"phase": phase})

    def contribute(self, who: int, challenge: int, text: str) -> int:
        data = self.call(
            "POST",
            "/contributions",
            self.tokens[who],
            json={"challenge_id": self.challenges[challenge]["id"], "text": text},
        )
        return int(data["id"])

    def cluster(self, challenge: int, title: str, ids: list[int], category: int = 0) -> int:
        data = self.call(
            "POST",
            "/clusters",
            json={
                "challenge_id": self.challenges[challenge]["id"],
                "title": title,
                "category": self.categories[category],
                "contribution_ids": ids,
            },
        )
        return int(data["id"])

    def rate(self, who: int, cluster_id: int, relevance: int, level: str) -> None:
        self.call(
            "PUT",
            f"/clusters/{cluster_id}/rating",
            self.tokens[who],
            json={"relevance": relevance, "policy_level": level},
        )

    def contributions(self) -> list[dict[str, Any]]:
        return list(self.call("GET", "/contributions"))

    def sign_in(self, context: BrowserContext, token: str | None = None) -> BrowserContext:
        """Give the browser the session cookie of the facilitator (default) or a participant."""
        context.add_cookies(
            [
                {
                    "name": f"policylab_{self.code}",
                    "value": token or self.facilitator_token,
                    "url": self.server.url,
                }
            ]
        )
        return context


CHALLENGES = [
    {
        "title": "Innovation ecosystems",
        "description": "How creative SMEs and AI developers find each other, and where they do not.",
        "questions": ["Which gaps stand in the way?", "What could be done about it?"],
    },
    {
        "title": "Skills for AI",
        "description": "What artists, technicians and civil servants need to learn to work with AI.",
        "questions": ["Which intervention is missing today?"],
    },
]


@pytest.fixture
def make_lab(server: Server) -> Callable[..., Lab]:
    """Create a session through the API (two challenges), with `participants` people joined."""

    def make(
        participants: int = 0,
        title: str = "AI in the cultural and creative industries",
        **extra: Any,
    ) -> Lab:
        response = server.api(
            "POST",
            "/api/v1/sessions",
            json={"title": title, "challenges": CHALLENGES, **extra},
        )
        assert response.status_code == 201, response.text
        data = response.json()
        lab = Lab(
            server=server,
            code=data["code"],
            facilitator_token=data["facilitator_token"],
            challenges=data["challenges"],
            categories=data["categories"],
        )
        for i in range(participants):
            lab.join(f"Person {i + 1}")
        return lab

    return make


# --- what a person can see and reach ------------------------------------------------------

# The focused element (or, for a visually hidden radio/checkbox, its label) must show a focus
# indicator: an outline of at least 2 px that is not transparent, or a box-shadow.
_FOCUS_STYLE_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return {ok: false, what: 'body'};
  const describe = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '') +
    ' "' + (e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 40) + '"';
  const shows = (e) => {
    const s = getComputedStyle(e);
    const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 &&
      !/rgba\\([^)]*,\\s*0\\)|transparent/.test(s.outlineColor);
    const shadow = s.boxShadow && s.boxShadow !== 'none';
    return outline || shadow;
  };
  const candidates = [el, ...(el.labels ? Array.from(el.labels) : [])];
  return {ok: candidates.some(shows), what: describe(el)};
}
"""


def focus_state(page: Page) -> dict[str, Any]:
    """Whether the focused element shows a visible focus indicator, and what it is."""
    return dict(page.evaluate(_FOCUS_STYLE_JS))


def assert_focus_visible(page: Page, where: str) -> None:
    state = focus_state(page)
    assert state["ok"], f"{where}: focus on {state['what']} has no visible outline or shadow"


def tab_to(page: Page, target: Locator, where: str, *, limit: int = 120, back: bool = False) -> int:
    """Press Tab (Shift+Tab with `back`) until `target` has focus; every stop on the way must
    show its focus. Fails when the target is not reached (focus trapped or order broken).
    Returns how many presses it took."""
    key = "Shift+Tab" if back else "Tab"
    seen: list[str] = []
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        state = focus_state(page)
        seen.append(state["what"])
        if target.evaluate("el => el === document.activeElement"):
            assert state["ok"], f"{where}: focus on {state['what']} is not visible"
            return presses
        assert state["ok"], f"{where}: focus on {state['what']} is not visible"
    raise AssertionError(f"{where}: {target} not reached after {limit} × {key}: {seen[-15:]}")


# Controls on a page narrower than 44 × 44 CSS px. Radios and checkboxes with a label are
# measured through their label (tapping it sets the control: it is the real target). Exempt, as WCAG 2.5.5 allows: links inside a
# sentence or block of text ("inline"), and controls that are not rendered (hidden, or
# visually-hidden skip links until focused).
_SMALL_TARGETS_JS = """
(min) => {
  const small = [];
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 2 && r.height > 2 && s.visibility !== 'hidden' && s.display !== 'none' && parseFloat(s.opacity) > 0;
  };
  const inline = (a) => {
    if (a.classList.contains('btn')) return false;
    const block = a.parentElement.closest('p, li, td, dd, span.flash__text, div.flash__text');
    if (!block) return false;
    const own = a.textContent.replace(/\\s+/g, ' ').trim();
    const all = block.textContent.replace(/\\s+/g, ' ').trim();
    return all.length > own.length + 3 && getComputedStyle(a).display === 'inline';
  };
  const seen = new Set();
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [role=button], [tabindex="0"]';
  for (let el of document.querySelectorAll(selector)) {
    if (el.closest('[hidden], [inert], dialog:not([open])')) continue;
    if (el.tagName === 'A' && inline(el)) continue;
    if (el.matches('.table-wrap')) continue;  // a scrollable region, focusable for keyboard scrolling
    if (el.matches('input[type=radio], input[type=checkbox]') && el.labels && el.labels.length) {
      el = el.labels[0];  // tapping the label sets the control: the label is the target
    }
    if (!visible(el) || seen.has(el)) continue;
    seen.add(el);
    const r = el.getBoundingClientRect();
    if (r.width < min - 0.5 || r.height < min - 0.5) {
      small.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${(el.className || '').toString().trim().replace(/\\s+/g, '.')} ` +
                 `"${(el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 30)}" ${Math.round(r.width)}×${Math.round(r.height)}`);
    }
  }
  return small;
}
"""


def small_touch_targets(page: Page, minimum: int = 44) -> list[str]:
    """Controls smaller than `minimum` CSS px in either dimension (see _SMALL_TARGETS_JS)."""
    return list(page.evaluate(_SMALL_TARGETS_JS, minimum))


def assert_touch_targets(page: Page, where: str) -> None:
    small = small_touch_targets(page)
    assert not small, f"{where}: touch targets under 44 × 44 px: {small}"


def assert_nothing_cut_off(page: Page, where: str) -> None:
    """No horizontal scrolling, and no visible control sticking out of the viewport."""
    assert_fits_phone(page, where)
    outside = page.evaluate(
        """() => Array.from(document.querySelectorAll('button, a.btn, input:not([type=hidden]), select, textarea, label, h1, h2, h3, p'))
          .filter(el => { const r = el.getBoundingClientRect(); return r.width > 2 && r.height > 2 &&
                          !el.closest('.visually-hidden, [hidden], .table-wrap, .skip-link') &&
                          (r.left < -1 || r.right > window.innerWidth + 1); })
          .map(el => el.tagName.toLowerCase() + '.' + (el.className || '') + ' "' + el.textContent.trim().slice(0, 30) + '"')"""
    )
    assert not outside, f"{where}: cut off at the viewport's edge: {outside}"


def check_page(page: Page, name: str, *, phone: bool = False, axe: bool = True) -> None:
    """Screenshot, then the checks every page state gets: axe, and at phone width no
    sideways scrolling, nothing cut off and touch targets of 44 px."""
    screenshot(page, name)
    if axe:
        assert_accessible(page, name)
    if phone:
        assert_nothing_cut_off(page, name)
