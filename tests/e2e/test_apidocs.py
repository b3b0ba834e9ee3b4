"""/docs in a real browser under its own Content-Security-Policy: Swagger UI from the vendored
files renders every operation, and the browser reports no policy violation and no error."""

from collections.abc import Callable

from playwright.sync_api import BrowserContext, expect

from tests.e2e.conftest import Server, screenshot


def test_the_api_documentation_renders_under_its_policy(
    new_context: Callable[..., BrowserContext], server: Server
) -> None:
    page = new_context().new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(m.text) if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(server.url) else outside.append(r.url))
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Policy Lab")
    # Every tag section with its operations, e.g. creating a session.
    expect(
        page.locator(".opblock-summary-path", has_text="/api/v1/sessions/import")
    ).to_be_visible()
    page.locator(".opblock-summary", has_text="/api/v1/sessions/import").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    screenshot(page, "api-docs")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert problems == [], problems
    assert outside == []  # nothing from a CDN
