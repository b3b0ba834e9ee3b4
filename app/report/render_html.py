"""The report as a standalone HTML document (also the source of the PDF)."""

import base64
import re
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app import vocabulary
from app.config import get_settings
from app.i18n import _, format_date, format_integer, install_in_jinja
from app.report.chart import chart_svg
from app.report.model import (
    ChallengeSection,
    Report,
    fmt_num,
    fmt_pct,
    level_distribution,
    methodology,
    more_sources,
)


@lru_cache(maxsize=4)
def _environment(templates_dir: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=False,
        lstrip_blocks=False,
    )
    # The report's words are marked like every template's, in the language of the export.
    install_in_jinja(env)
    env.filters["num"] = fmt_num
    env.filters["pct"] = fmt_pct
    env.filters["integer"] = format_integer
    env.filters["date"] = format_date
    env.globals["vocab"] = vocabulary
    env.filters["distribution"] = level_distribution
    env.filters["more_sources"] = more_sources
    return env


def _chart(section: ChallengeSection, categories: list[str], as_image: bool) -> str | None:
    svg = chart_svg(section, categories)
    if svg is None or not as_image:
        return svg
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


@lru_cache(maxsize=4)
def _stylesheet(static_dir: Path) -> str:
    """report.css with its custom properties substituted: WeasyPrint resolves `var()` for
    every element, which costs seconds on a large report."""
    css = (static_dir / "css" / "report.css").read_text(encoding="utf-8")
    root = re.search(r":root\s*\{[^}]*\}", css)
    if root is None:
        return css
    variables = dict(re.findall(r"(--[\w-]+)\s*:\s*([^;]+);", root[0]))
    css = css[: root.start()] + css[root.end() :]
    return re.sub(r"var\((--[\w-]+)\)", lambda m: variables.get(m[1], m[0]), css)


def css_string(text: str) -> str:
    """`text` as a CSS string literal (for `content:` in the page margins)."""
    escaped = "".join(
        ch if ch.isprintable() and ch not in '\\"<>' else f"\\{ord(ch):x} " for ch in text
    )
    return f'"{escaped}"'


def _page_numbers(template: str, prefix: str) -> str:
    """A translated “Page %(page)s of %(pages)s” as a CSS `content` value with counters."""
    values: list[str] = []
    for index, piece in enumerate(re.split(r"%\((pages?)\)s", template)):
        if index % 2:
            values.append(
                f"{css_string(prefix)} counter({piece})" if prefix else f"counter({piece})"
            )
        elif piece:
            values.append(css_string(piece))
    return " ".join(values)


def appendix_page_prefix() -> str:
    """What the appendix's page numbers start with (A-1, A-2 …), in the report's language."""
    # Translators: the prefix of the page numbers of the report's appendix: …
    return _("A-")


def page_css() -> str:
    """The words in the PDF's page margins and the contents' appendix entry, in the report's
    language (report.css has the layout; CSS cannot call gettext)."""
    # Translators: the page number in the footer of the PDF report.
    numbers = _("Page %(page)s of %(pages)s")
    prefix = appendix_page_prefix()
    return (
        f"@page {{ @bottom-left {{ content: {css_string(_('Policy lab report'))}; }} "
        f"@bottom-right {{ content: {_page_numbers(numbers, '')}; }} }}\n"
        f"@page appendix {{ @bottom-right {{ content: {_page_numbers(numbers, prefix)}; }} }}\n"
        "@media print { .toc__list a.toc__appendix::after { "
        f'content: leader(". ") {css_string(prefix + "1")}; }} }}'
    )


# The PDF's table of contents points to the appendix, which is laid out as a separate
# document: its entry links here, and the PDF assembly turns this link into a jump.
APPENDIX_LINK = "https://appendix.policylab.invalid/"
PARTS = ("all", "main", "appendix")


def render_html(report: Report, *, chart_images: bool = False, part: str = "all") -> str:
    """The whole report as one HTML page with its styles and charts inlined.

    With `chart_images` the charts are `<img>` data URIs instead of inline SVG: WeasyPrint
    then draws each as one image instead of styling hundreds of elements. `part` "main" or
    "appendix" gives only that part of the document (the two parts of the PDF).
    """
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, not {part!r}")
    settings = get_settings()
    template = _environment(settings.templates_dir).get_template("report/document.html")
    recs = {rec.id: rec for rec in report.recommendations}
    return template.render(
        r=report,
        p=report.participation,
        css=_stylesheet(settings.static_dir),
        charts=(
            {}
            if part == "appendix"
            else {c.id: _chart(c, report.categories, chart_images) for c in report.challenges}
        ),
        chart_images=chart_images,
        part=part,
        appendix_link=APPENDIX_LINK,
        methodology=methodology(report),
        recs=recs,
        numbers={item.id: item.number for item in report.contributions},
        page_css=page_css(),
        relevance_scores=vocabulary.RELEVANCE_SCORES,
        relevance_labels=vocabulary.RELEVANCE_LABELS,
    )
