"""An XSS corpus in every field a person can type into, every page opened in Chromium, every
export parsed: nothing runs, and the text is shown literally.

Detection does not rely on the Content-Security-Policy alone: every payload calls
`__xss(n)`, a function the test exposes to the page, so a payload that ran (by any route)
is caught; dialogs are caught too. The policy's own console reports are treated as failures
as well: a blocked inline handler means escaping failed and only the policy saved the day.
"""

import csv
import io
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser

from docx import Document
from openpyxl import load_workbook
from playwright.sync_api import BrowserContext, Page
from pypdf import PdfReader

from tests.e2e.conftest import Lab, Server

# Payloads: tags, attributes, URLs, template syntax, encodings, parser confusions. Each
# would call __xss(n) if it ever became code.
TEMPLATES = [
    "<script>__xss({n})</script>",
    "<img src=x onerror=__xss({n})>",
    '"><img src=x onerror=__xss({n})>',
    "'><svg onload=__xss({n})>",
    "<svg><script>__xss({n})</script></svg>",
    "<iframe srcdoc='<script>parent.__xss({n})</script>'></iframe>",
    "<a href=javascript:__xss({n})>link</a>",
    "<a href='jav&#x09;ascript:__xss({n})'>x</a>",
    "<body onload=__xss({n})>",
    "<details open ontoggle=__xss({n})>",
    "<input autofocus onfocus=__xss({n})>",
    "</textarea><script>__xss({n})</script>",
    "</title><script>__xss({n})</script>",
    "</style><script>__xss({n})</script>",
    "<math><mtext><table><mglyph><style><img src=x onerror=__xss({n})>",
    '<noscript><p title="</noscript><img src=x onerror=__xss({n})>">',
    "{{{{ __xss({n}) }}}} {{% print({n}) %}}",
    "${{__xss({n})}}",
    "<div hx-get=/ hx-trigger=load hx-on::load=__xss({n})>x</div>",
    "<div hx-on:click=__xss({n}) id=x{n}>x</div>",
    "javascript:__xss({n})",
    "data:text/html,<script>__xss({n})</script>",
    "<object data=javascript:__xss({n})>",
    "<embed src=javascript:__xss({n})>",
    "<video><source onerror=__xss({n})></video>",
    "<audio src=x onerror=__xss({n})>",
    "<marquee onstart=__xss({n})>",
    "<isindex action=javascript:__xss({n}) type=image>",
    "<form><button formaction=javascript:__xss({n})>go</button></form>",
    "<base href=javascript:__xss({n})//>",
    "<link rel=stylesheet href=javascript:__xss({n})>",
    "<meta http-equiv=refresh content='0;url=javascript:__xss({n})'>",
    "<style>@import 'javascript:__xss({n})';</style>",
    '<div style="background:url(javascript:__xss({n}))">',
    "&lt;script&gt;__xss({n})&lt;/script&gt;",
    "&#60;img src=x onerror=__xss({n})&#62;",
    "%3Cscript%3E__xss({n})%3C/script%3E",
    "\\u003cscript\\u003e__xss({n})\\u003c/script\\u003e",
    "<scr<script>ipt>__xss({n})</scr</script>ipt>",
    "<SCRIPT SRC=//x/{n}.js></SCRIPT>",
    '<img src="x` `<script>__xss({n})</script>"` `>',
    "<svg><animate onbegin=__xss({n}) attributeName=x dur=1s>",
    "<template><img src=x onerror=__xss({n})></template>",
    "<select autofocus onfocus=__xss({n})>",
    "<textarea autofocus onfocus=__xss({n})>",
    "<keygen autofocus onfocus=__xss({n})>",
    '"onmouseover="__xss({n})" x="',
    "' onmouseover='__xss({n})' x='",
    "</script><script>__xss({n})</script>",
    "<!--<img src=x onerror=__xss({n})>-->",
    "]]><script>__xss({n})</script>",
    '=HYPERLINK("javascript:__xss({n})")',
]
PAYLOADS = [t.format(n=i) for i, t in enumerate(TEMPLATES)]
assert len(PAYLOADS) >= 50


def cut(text: str, limit: int) -> str:
    return text[:limit]


def build_lab(server: Server, make_lab: Callable[..., Lab]) -> Lab:
    """One session with a payload in every kind of field: title, challenge titles, briefs and
    questions, categories, title-page details, names, contributions, cluster titles and
    descriptions; in the scoring phase with ratings, so every page has something to show."""
    lab = make_lab(
        title=cut(PAYLOADS[0], 200),
        categories=[cut(p, 80) for p in PAYLOADS[1:13]],
        place=cut(PAYLOADS[13], 200),
        organiser=cut(PAYLOADS[14], 200),
        lab_date=cut(PAYLOADS[15], 40),
        show_names=True,
    )
    lab.call(
        "PATCH",
        "",
        json={"title": cut(PAYLOADS[0], 200)},
    )
    for i in range(3):
        lab.join(cut(PAYLOADS[16 + i], 60))
    lab.phase("brainstorm")
    notes = []
    for i, payload in enumerate(PAYLOADS):
        notes.append(lab.contribute(i % 3, i % 2, payload))
    lab.phase("clustering")
    clusters = []
    for i in range(0, len(PAYLOADS), 4):
        challenge = i % 2
        ids = [n for j, n in enumerate(notes[i : i + 4]) if (i + j) % 2 == challenge]
        clusters.append(
            lab.call(
                "POST",
                "/clusters",
                json={
                    "challenge_id": lab.challenges[challenge]["id"],
                    "title": cut(PAYLOADS[i], 200),
                    "description": PAYLOADS[(i + 1) % len(PAYLOADS)],
                    "category": cut(PAYLOADS[1 + i % 12], 80),
                    "contribution_ids": ids,
                },
            )["id"]
        )
    lab.phase("scoring")
    for who in range(3):
        for k, cluster in enumerate(clusters):
            lab.rate(who, cluster, 1 + (who + k) % 5, ["eu", "national", "local_regional"][k % 3])
    return lab


class Watch:
    """What a page did that it should not: calls of __xss, dialogs, policy violations."""

    def __init__(self, page: Page) -> None:
        self.calls: list[str] = []
        self.problems: list[str] = []
        page.expose_function("__xss", lambda n: self.calls.append(f"payload {n}"))
        page.on("dialog", lambda d: (self.problems.append(f"dialog: {d.message}"), d.dismiss()))
        page.on(
            "console",
            lambda m: (
                self.problems.append(m.text)
                if "Content Security Policy" in m.text or "Refused to" in m.text
                else None
            ),
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))


def visit(context: BrowserContext, paths: list[str]) -> list[tuple[str, str]]:
    """Open every page, let its scripts run; what ran or was refused, and each page's text."""
    texts = []
    for path in paths:
        page = context.new_page()
        watch = Watch(page)
        page.goto(path)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)  # autofocus, onload, htmx triggers
        assert watch.calls == [], (path, watch.calls)
        assert watch.problems == [], (path, watch.problems)
        texts.append((path, page.inner_text("body")))
        page.close()
    return texts


def test_no_payload_runs_on_any_page_and_every_export_keeps_it_as_text(
    server: Server,
    make_lab: Callable[..., Lab],
    new_context: Callable[..., BrowserContext],
) -> None:
    lab = build_lab(server, make_lab)
    code = lab.code
    challenge = lab.challenges[0]["id"]
    facilitator = lab.sign_in(new_context())
    facilitator_pages = [
        "/",
        f"/s/{code}/facilitate",
        f"/s/{code}/facilitate/brainstorm",
        f"/s/{code}/facilitate/clustering?challenge={challenge}",
        f"/s/{code}/facilitate/matrix",
        f"/s/{code}/facilitate/report",
        f"/s/{code}/projector",
        f"/s/{code}/facilitate/phase?to=brainstorm",
    ]
    texts = visit(facilitator, facilitator_pages)
    participant = lab.sign_in(new_context(), lab.tokens[0])
    texts += visit(participant, [f"/s/{code}", f"/join/{code}", f"/s/{code}/clusters"])
    lab.phase("report")
    texts += visit(participant, [f"/s/{code}"])
    texts += visit(facilitator, [f"/s/{code}/facilitate/report", f"/s/{code}/projector"])
    lab.phase("brainstorm")
    texts += visit(participant, [f"/s/{code}", f"/s/{code}/others"])

    # Shown literally: the contributions' payloads are there as text on the board.
    board = dict(texts)[f"/s/{code}/facilitate/brainstorm"]
    shown = [p for p in PAYLOADS if p.strip() in board]
    assert len(shown) >= 40, len(shown)

    # Every export opens and holds the payloads as text.
    def export(fmt: str) -> bytes:
        answer = server.api(
            "GET", f"/api/v1/sessions/{code}/report?format={fmt}", lab.facilitator_token
        )
        assert answer.status_code == 200, (fmt, answer.text[:200])
        return answer.content

    data = json.loads(export("json"))
    assert sorted(c["text"] for c in data["contributions"]) == sorted(PAYLOADS)

    class Scripts(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.scripts = 0
            self.handlers: list[str] = []
            self.text = ""

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            self.scripts += tag == "script"
            self.handlers += [name for name, _ in attrs if name.startswith("on")]

        def handle_data(self, data: str) -> None:
            self.text += data

    html = Scripts()
    html.feed(export("html").decode())
    assert html.scripts == 0 and html.handlers == []
    assert sum(p.strip() in html.text for p in PAYLOADS) >= 40

    rows = list(csv.reader(io.StringIO(export("csv").decode("utf-8-sig"))))
    cells = {cell for row in rows for cell in row}
    missing = [p for p in PAYLOADS if p not in cells and "'" + p not in cells]
    assert missing == []
    assert '\'=HYPERLINK("javascript:__xss(51)")' in cells  # neutralised, not a formula

    workbook = load_workbook(io.BytesIO(export("xlsx")))
    values = {c for row in workbook["Contributions"].iter_rows(values_only=True) for c in row}
    assert all(p in values for p in PAYLOADS)
    assert not any(
        cell.data_type == "f" for row in workbook["Contributions"].iter_rows() for cell in row
    )

    document = Document(io.BytesIO(export("docx")))
    words = "\n".join(p.text for p in document.paragraphs) + "\n".join(
        cell.text for table in document.tables for row in table.rows for cell in row.cells
    )
    assert sum(p in words for p in PAYLOADS) >= 40

    markdown = export("md").decode()
    assert "<script>" not in markdown  # raw HTML in Markdown would run where it is shown
    pdf = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(export("pdf"))).pages)
    flat = re.sub(r"\s+", "", pdf)
    assert sum(re.sub(r"\s+", "", p) in flat for p in PAYLOADS) >= 25
