"""Every page and format says the same thing: one word for low agreement, one matrix column
per cluster (`vocabulary.relevance_band`), chart points numbered by rank with a key that
holds every full title, and the PDF's text in any script with the reference of a
right-to-left contribution kept at the end of its line."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from html import unescape

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from app.vocabulary import relevance_band
from tests.conftest import Workshop, create_workshop
from tests.report.helpers import docx_text, export, pdf_text

# Long titles: the chart once cut the first to “An…” and the second to “Continuous…”.
AMBITIOUS = "An ambitious programme of continuous training in AI for creative professionals"
HUBS = "Continuous funding for regional AI and culture hubs across Europe"
RULES = "Clear rules on data mining"
PAY = "Pay creators"
LEVEL_LABELS = {"eu": "EU", "national": "National", "local_regional": "Local & regional"}


@dataclass
class Banded:
    w: Workshop
    ids: dict[str, int]  # title → cluster id
    ranks: dict[str, int]  # title → rank
    expected: dict[str, tuple[str, int]]  # title → (level, band)


def banded_workshop(client: TestClient) -> Banded:
    """Means that sit on the half-way marks (2.5 → 3, 4.5 → 5, 1.5 → 2), where the formats
    once disagreed, and a contested cluster."""
    w = create_workshop(client, challenges=1, participants=4)
    w.phase("brainstorm")
    notes = [w.contribute(i % 4, 0, f"A gap numbered {i}")["id"] for i in range(4)]
    w.phase("clustering")
    plan = {
        AMBITIOUS: ([2, 3, 2, 3], "eu"),  # 2.5 → 3
        HUBS: ([4, 5, 4, 5], "national"),  # 4.5 → 5
        RULES: ([1, 2, 1, 2], "local_regional"),  # 1.5 → 2
        PAY: ([1, 5, 1, 5], "eu"),  # 3.0 → 3, agreement 0: contested
    }
    ids = {
        title: w.cluster(0, title, w.categories[i % 3], [notes[i]])["id"]
        for i, title in enumerate(plan)
    }
    w.phase("scoring")
    for title, (scores, level) in plan.items():
        for who, score in enumerate(scores):
            w.rate(who, ids[title], score, level)
    w.phase("report")
    matrix = client.get(w.url("/matrix"), headers=w.f).json()["clusters"]
    ranks = {c["title"]: c["rank"] for c in matrix}
    expected = {
        title: (level, relevance_band(sum(scores) / len(scores)))
        for title, (scores, level) in plan.items()
    }
    assert expected[AMBITIOUS] == ("eu", 3) and expected[HUBS] == ("national", 5)
    assert expected[RULES] == ("local_regional", 2)
    return Banded(w, ids, ranks, expected)


# --- reading the matrix back out of each format --------------------------------------------


def _rows(table_html: str) -> list[str]:
    return re.findall(r"<tr>(.*?)</tr>", table_html, flags=re.S)


def web_matrix(client: TestClient, b: Banded) -> dict[str, tuple[str, int]]:
    client.cookies.set(f"policylab_{b.w.code}", b.w.facilitator_token)
    html = client.get(f"/s/{b.w.code}/facilitate/matrix").text
    table = html.split('<table class="matrix">', 1)[1].split("</table>", 1)[0]
    found = {}
    for row in _rows(table.split("<tbody>", 1)[1]):
        level = next(k for k, label in LEVEL_LABELS.items() if f">{label}<" in unescape(row))
        for band, cell in re.findall(r'<td data-relevance="(\d)">(.*?)</td>', row, flags=re.S):
            for title in re.findall(r'<span class="chip__title">(.*?)</span>', cell):
                found[unescape(title)] = (level, int(band))
    return found


def html_matrix(html: str, b: Banded) -> dict[str, tuple[str, int]]:
    by_id = {cluster_id: title for title, cluster_id in b.ids.items()}
    table = html.split('class="data-table matrix-table"', 1)[1].split("</table>", 1)[0]
    found = {}
    for row in _rows(table.split("<tbody>", 1)[1]):
        label = unescape(re.search(r'<th scope="row">(.*?)</th>', row)[1])  # type: ignore[index]
        level = next(k for k, text in LEVEL_LABELS.items() if text == label)
        for band, cell in re.findall(r'<td data-band="(\d)">(.*?)</td>', row, flags=re.S):
            for cluster_id in re.findall(r'data-cluster="(\d+)"', cell):
                found[by_id[int(cluster_id)]] = (level, int(band))
    return found


def ranks_grid(rows: list[list[str]], b: Banded) -> dict[str, tuple[str, int]]:
    """[[level label, cell 1 … cell 5], …] with ranks in the cells → title → (level, band)."""
    by_rank = {rank: title for title, rank in b.ranks.items()}
    found = {}
    for label, *cells in rows:
        level = next(k for k, text in LEVEL_LABELS.items() if text == label.strip())
        assert len(cells) == 5
        for band, cell in enumerate(cells, start=1):
            for rank in re.findall(r"\d+", cell or ""):
                found[by_rank[int(rank)]] = (level, band)
    return found


def markdown_matrix(md: str, b: Banded) -> dict[str, tuple[str, int]]:
    lines = md.split("Policy level |", 1)[1].splitlines()[2:5]
    return ranks_grid([[c for c in line.strip().strip("|").split("|")] for line in lines], b)


def docx_matrix(content: bytes, b: Banded) -> dict[str, tuple[str, int]]:
    from docx import Document

    document = Document(io.BytesIO(content))
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "Policy level")
    assert [c.text for c in table.rows[0].cells][1:] == [
        "1 Not relevant",
        "2 Low",
        "3 Medium",
        "4 High",
        "5 Essential",
    ]
    return ranks_grid([[c.text for c in row.cells] for row in table.rows[1:]], b)


def xlsx_matrix(content: bytes, b: Banded) -> dict[str, tuple[str, int]]:
    book = load_workbook(io.BytesIO(content))
    rows = list(book["Matrix"].iter_rows(min_row=2, values_only=True))
    grid = ranks_grid([[str(r[2])] + [str(v or "") for v in r[3:]] for r in rows], b)
    sheet = list(book["Recommendations"].iter_rows(values_only=True))
    header = list(sheet[0])
    column = header.index("Matrix column (relevance)")
    level = header.index("Policy level")
    by_label = {text: key for key, text in LEVEL_LABELS.items()}
    listed = {r[header.index("Recommendation")]: (by_label[r[level]], r[column]) for r in sheet[1:]}
    assert listed == grid
    return grid


def csv_bands(content: bytes) -> dict[str, tuple[str, int]]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    table = rows[: rows.index([])]
    records = [dict(zip(table[0], r, strict=True)) for r in table[1:]]
    by_label = {text: key for key, text in LEVEL_LABELS.items()}
    return {
        r["Recommendation"]: (by_label[r["Policy level"]], int(r["Matrix column (relevance)"]))
        for r in records
    }


def json_bands(content: bytes) -> dict[str, tuple[str, int]]:
    clusters = json.loads(content)["clusters"]
    return {c["title"]: (c["policy_level"], c["relevance_band"]) for c in clusters}


@dataclass
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2


def pdf_pages_words(content: bytes) -> list[list[Word]]:
    """Every word of every page with its box (poppler's `pdftotext -bbox`)."""
    out = subprocess.run(
        ["pdftotext", "-bbox", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()
    pages = []
    for page in out.split("<page ")[1:]:
        words = []
        for x0, y0, x1, y1, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
            page,
        ):
            words.append(Word(unescape(text), float(x0), float(y0), float(x1), float(y1)))
        pages.append(words)
    return pages


def pdf_matrix(content: bytes, b: Banded) -> dict[str, tuple[str, int]]:
    """The matrix table read from the PDF's layout: each rank goes to the column whose
    heading (1 … 5) is nearest, in the row of its level's label."""
    page = next(p for p in pdf_pages_words(content) if any(w.text == "Matrix" for w in p))
    policy = next(w for w in page if w.text == "Policy" and any(v.text == "level" for v in page))
    header = {
        int(w.text): w.cx
        for w in page
        if w.text in "12345" and abs(w.cy - policy.cy) < 4 and w.x0 > policy.x1
    }
    assert sorted(header) == [1, 2, 3, 4, 5]
    firsts = {"EU": "eu", "National": "national", "Local": "local_regional"}
    labels = [w for w in page if w.text in firsts and w.y0 > policy.y1 and w.x0 < policy.x1]
    by_rank = {rank: title for title, rank in b.ranks.items()}
    found = {}
    for label in labels[:3]:
        for w in page:
            digits = w.text.strip(",")
            if digits.isdigit() and abs(w.cy - label.cy) < 4 and w.x0 > policy.x1:
                band = min(header, key=lambda k: abs(header[k] - w.cx))
                found[by_rank[int(digits)]] = (firsts[label.text], band)
    return found


needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdffonts") is None,
    reason="poppler-utils (pdftotext, pdffonts) is not installed",
)


@needs_poppler
def test_every_page_and_format_puts_each_cluster_in_the_same_matrix_column(
    client: TestClient,
) -> None:
    b = banded_workshop(client)
    w = b.w
    html = export(w, "html").decode()
    places = {
        "matrix page": web_matrix(client, b),
        "html": html_matrix(html, b),
        "md": markdown_matrix(export(w, "md").decode(), b),
        "docx": docx_matrix(export(w, "docx"), b),
        "xlsx": xlsx_matrix(export(w, "xlsx"), b),
        "csv": csv_bands(export(w, "csv")),
        "json": json_bands(export(w, "json")),
        "pdf": pdf_matrix(export(w, "pdf"), b),
    }
    for where, found in places.items():
        assert found == b.expected, where


def test_low_agreement_is_called_contested_everywhere(client: TestClient) -> None:
    b = banded_workshop(client)
    w = b.w
    client.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    texts = {
        "matrix page": client.get(f"/s/{w.code}/facilitate/matrix").text,
        "report page": client.get(f"/s/{w.code}/facilitate/report").text,
        "html": export(w, "html").decode(),
        "md": export(w, "md").decode(),
        "csv": export(w, "csv").decode("utf-8-sig"),
        "docx": docx_text(export(w, "docx"))[1],
        "pdf": pdf_text(export(w, "pdf")),
    }
    book = load_workbook(io.BytesIO(export(w, "xlsx")))
    texts["xlsx"] = " ".join(
        str(v) for s in book for r in s.iter_rows(values_only=True) for v in r if v
    )
    for where, text in texts.items():
        assert "Contested" in text, where
        for other in ("Participants disagreed", ">split<", ">contested<"):
            assert other not in text, (where, other)


# --- the chart's key -------------------------------------------------------------------------


def test_the_chart_numbers_its_points_and_the_key_holds_every_full_title(
    client: TestClient,
) -> None:
    b = banded_workshop(client)
    w = b.w
    titles = [AMBITIOUS, HUBS, RULES, PAY]
    client.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    page = client.get(f"/s/{w.code}/facilitate/report").text
    html = export(w, "html").decode()
    for where, source in (("report page", page), ("html", html)):
        svg = source.split("<svg", 1)[1].split("</svg>", 1)[0]
        assert "…" not in svg, where  # no title cut to fit
        drawn = re.findall(r'font-weight="bold" text-anchor="middle" fill="#1a1a1a">(\d+)<', svg)
        assert sorted(map(int, drawn)) == [1, 2, 3, 4], where
        key = source.split('<ol class="chart-key"', 1)[1].split("</ol>", 1)[0]
        entries = re.findall(
            r'chart-key__rank">(\d+)</span> <bdi class="chart-key__title">(.*?)</bdi>', key
        )
        assert {unescape(t): int(r) for r, t in entries} == b.ranks, where
    pdf = " ".join(pdf_text(export(w, "pdf")).split())
    for title in titles:
        assert f"{b.ranks[title]} {title}" in pdf
    assert "An…" not in pdf and "Continuous…" not in pdf
    paragraphs, docx = docx_text(export(w, "docx"))
    key = [text for style, text in paragraphs if style == "Chart key"]
    assert sorted(key) == sorted(
        f"{b.ranks[t]}\t{t}" + (" (Contested)" if t == PAY else "") for t in titles
    )
    assert "An…" not in docx and "Continuous…" not in docx


# --- text in any script in the PDF ---------------------------------------------------------------

MIXED = "Η πρόσβαση 🎨 χρειάζεται مرحبا بالعالم"
SCRIPTS = [
    "Недостиг на умения в творческите индустрии",
    "Žluťoučký kůň úpěl ďábelské ódy; Łódź, Øresund, Ærø, Şişli, Ħamrun, Ċirkewwa, Ğ ő ű ș ț",
    "Creative hubs 🤖 need funding 💶",
]


@needs_poppler
def test_the_pdf_prints_every_script_and_keeps_a_right_to_left_text_in_its_place(
    client: TestClient,
) -> None:
    w = create_workshop(client, challenges=1, participants=1)
    w.phase("brainstorm")
    mixed = w.contribute(0, 0, MIXED)["id"]
    others = [w.contribute(0, 0, text)["id"] for text in SCRIPTS]
    w.phase("clustering")
    w.cluster(0, "Πρόσβαση", w.categories[0], [mixed, *others])
    content = export(w, "pdf")

    fonts = subprocess.run(
        ["pdffonts", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()
    assert "Emoji" in fonts, fonts  # Noto Color Emoji, not empty boxes
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()
    flat = " ".join(text.split())
    for sample in SCRIPTS:
        assert sample in flat, sample
    assert "Η πρόσβαση" in flat and "🎨" in flat
    assert set("مرحبالعم") <= set(text)  # the Arabic letters are there

    # The appendix line of the mixed contribution: “1. Η πρόσβαση 🎨 χρειάζεται مرحبا
    # بالعالم → 1.1” — the arrow and the reference stay at the end, right of the Arabic.
    appendix = [p for p in pdf_pages_words(content) if any(w.text == "χρειάζεται" for w in p)][-1]
    greek = next(w for w in appendix if w.text == "χρειάζεται")
    line = sorted((w for w in appendix if abs(w.cy - greek.cy) < 3), key=lambda w: w.x0)
    assert [w.text for w in line[-2:]] == ["→", "1.1"], [w.text for w in line]
    arabic = [w for w in line if re.search("[\u0600-\u06ff]", w.text)]
    assert arabic and all(w.x1 < line[-2].x0 for w in arabic)


def test_the_image_installs_the_fonts_the_pdf_needs() -> None:
    """What the test above finds on this machine, the Docker image must have too."""
    from pathlib import Path

    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text()
    install = dockerfile.split("apt-get install", 1)[1].split("&& rm", 1)[0]
    for package in ("fonts-dejavu-core", "fonts-noto-core", "fonts-noto-color-emoji"):
        assert package in install, package
    assert "libpango-1.0-0" in install  # WeasyPrint lays text out with Pango


# --- the report in the session's language or the one asked for --------------------------------

HEADINGS = {
    "de": ("Zusammenfassung", "Methodik", "Anhang: alle Beiträge", "Seite 2 von"),
    "el": ("Σύνοψη", "Μεθοδολογία", "Παράρτημα: όλες οι συνεισφορές", "Σελίδα 2 από"),
}
COLUMNS = {
    "de": ("Empfehlung", "Politikebene", "Matrixspalte (Relevanz)", "Umstritten"),
    "el": ("Σύσταση", "Επίπεδο πολιτικής", "Στήλη του πίνακα (συνάφεια)", "Αμφιλεγόμενη"),
}


@pytest.mark.parametrize("language", ["de", "el"])
def test_every_format_speaks_the_language_asked_for(client: TestClient, language: str) -> None:
    from docx import Document

    b = banded_workshop(client)
    w = b.w

    def get(fmt: str) -> bytes:
        answer = client.get(w.url("/report"), params={"format": fmt, "lang": language}, headers=w.f)
        assert answer.status_code == 200 and answer.headers["content-language"] == language
        return answer.content

    summary, methodology, appendix, page = HEADINGS[language]
    html = get("html").decode()
    assert f'<html lang="{language}">' in html
    md = get("md").decode()
    for text in (html, md):
        assert summary in text and methodology in text and appendix in text
    assert f"## {summary}" in md
    # Numbers in the language's own form: 4,5 in German and Greek.
    assert "**4,5**" in md
    pdf = " ".join(pdf_text(get("pdf")).split())
    assert summary in pdf and appendix in pdf and page in pdf
    document = Document(io.BytesIO(get("docx")))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert summary in headings and methodology in headings and appendix in headings
    recommendation, level, band, contested = COLUMNS[language]
    rows = list(csv.reader(io.StringIO(get("csv").decode("utf-8-sig"))))
    assert {recommendation, level, band, contested} <= set(rows[0])
    book = load_workbook(io.BytesIO(get("xlsx")))
    header = [c.value for c in book.worksheets[0][1]]
    assert {recommendation, level, band, contested} <= set(header)
    # JSON keys stay English whatever the language.
    data = json.loads(get("json"))
    assert {"relevance_band", "contested", "policy_level"} <= set(data["clusters"][0])


def test_the_report_page_offers_the_files_in_another_language(client: TestClient) -> None:
    b = banded_workshop(client)
    w = b.w
    client.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    default = client.get(f"/s/{w.code}/facilitate/report").text
    assert f'href="/api/v1/sessions/{w.code}/report?format=pdf"' in default
    german = client.get(f"/s/{w.code}/facilitate/report", params={"lang": "de"}).text
    assert f'href="/api/v1/sessions/{w.code}/report?format=pdf&amp;lang=de"' in german
    assert 'value="de" lang="de" selected' in german
    unknown = client.get(f"/s/{w.code}/facilitate/report", params={"lang": "tlh"}).text
    assert f'href="/api/v1/sessions/{w.code}/report?format=pdf"' in unknown
