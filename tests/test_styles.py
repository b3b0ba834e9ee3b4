"""The stylesheets: every page links the shared files and its own feature file, colours are
spelled only in the tokens, and every custom property a rule uses is defined."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CSS = ROOT / "static" / "css"
TEMPLATES = ROOT / "templates"
SHARED = ["tokens.css", "base.css", "components.css"]
# The exported report's stylesheet is WeasyPrint's (app/report/render_html.py), not a page's.
PAGE_STYLESHEETS = sorted(p.name for p in CSS.glob("*.css") if p.name != "report.css")
COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\b|\b(?:rgb|rgba|hsl|hsla)\(")


def links(template: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="/static/css/([\w-]+\.css)">', template)


def without_comments(css: str) -> str:
    return re.sub(r"/\*.*?\*/", "", css, flags=re.S)


def test_base_links_the_shared_files_first_and_in_order() -> None:
    base = (TEMPLATES / "base.html").read_text()
    assert links(base) == SHARED
    assert base.index("components.css") < base.index("{% block head %}{% endblock %}")


def test_every_page_links_one_feature_file_and_every_file_is_linked() -> None:
    pages = [p for p in TEMPLATES.rglob("*.html") if '{% extends "base.html" %}' in p.read_text()]
    assert len(pages) >= 14
    linked = set(SHARED)
    for page in pages:
        own = links(page.read_text())
        assert len(own) == 1, f"{page.relative_to(TEMPLATES)} links {own}"
        assert (CSS / own[0]).exists(), own[0]
        linked |= set(own)
    assert linked == set(PAGE_STYLESHEETS)


def test_colours_are_spelled_only_in_the_tokens() -> None:
    spelled = {
        name: COLOUR.findall(without_comments((CSS / name).read_text()))
        for name in PAGE_STYLESHEETS
        if name != "tokens.css"
    }
    assert not {name: found for name, found in spelled.items() if found}
    assert len(COLOUR.findall((CSS / "tokens.css").read_text())) >= 30


def test_every_custom_property_used_is_defined() -> None:
    sheets = {name: without_comments((CSS / name).read_text()) for name in PAGE_STYLESHEETS}
    defined = {m for css in sheets.values() for m in re.findall(r"(--[\w-]+)\s*:", css)}
    used = {m for css in sheets.values() for m in re.findall(r"var\(\s*(--[\w-]+)", css)}
    assert used - defined == set()
    # The tokens file holds nothing but custom properties.
    tokens = re.sub(r"\s+", " ", sheets["tokens.css"])
    declarations = re.findall(r"([\w-]+)\s*:\s*[^;{}]+;", tokens)
    assert declarations and all(d.startswith("--") or d == "color-scheme" for d in declarations), (
        declarations
    )
