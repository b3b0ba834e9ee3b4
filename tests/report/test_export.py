"""Every export format, opened with a reader: titles, ranking order, figures, anonymity."""

import csv
import io
import json

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.conftest import create_workshop
from tests.report.helpers import NAMES, docx_text, export, pdf_text, scored_workshop

FORMATS = ["html", "md", "csv", "json", "pdf", "docx", "xlsx"]
TEXT_FORMATS = ["html", "md", "csv", "json"]


def csv_tables(content: bytes) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The two tables of the CSV export (separated by an empty row)."""
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    split = rows.index([])
    first, second = rows[:split], rows[split + 1 :]
    return (
        [dict(zip(first[0], r, strict=True)) for r in first[1:]],
        [dict(zip(second[0], r, strict=True)) for r in second[1:]],
    )


def test_every_format_is_a_download_named_after_the_session(client: TestClient) -> None:
    s = scored_workshop(client)
    for fmt in [f for f in FORMATS if f != "pdf"]:  # the PDF has its own tests
        response = client.get(s.w.url("/report"), params={"format": fmt}, headers=s.w.f)
        assert response.status_code == 200, (fmt, response.text)
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert f'-report-{s.w.code}.{fmt}"' in disposition
        assert len(response.content) > 500


def test_report_is_for_the_facilitator_only(client: TestClient) -> None:
    w = create_workshop(client, participants=1)
    assert client.get(w.url("/report"), headers=w.p(0)).status_code == 403
    assert client.get(w.url("/report")).status_code == 401
    refused = client.get(w.url("/report"), params={"format": "odt"}, headers=w.f)
    assert refused.status_code == 422


def test_html_lists_recommendations_ranked_with_figures(client: TestClient) -> None:
    s = scored_workshop(client)
    html = export(s.w, "html").decode()
    assert "<title>AI in the cultural and creative industries — Policy lab report</title>" in html
    assert html.index("Regional AI hubs") < html.index("Training vouchers")
    assert "Brussels" in html and "Creative Policy Network" in html
    assert "<svg" in html and "Mean relevance (1 = not relevant, 5 = essential)" in html
    assert "Contested: participants disagreed strongly." in html
    assert "Minority view: 2 of 4 participants" in html
    # The merged duplicate is kept, under its original.
    assert "Merged duplicate:</span> <bdi>No regional hub advises creative firms on AI" in html
    assert "Nobody clustered this stray idea" in html  # appendix: unclustered too
    assert "Of the 4 clusters, 1 started as suggestions made by the tool" in html
    assert "the facilitator edited 1 of those" in html


def test_markdown_has_the_structure_of_a_brief(client: TestClient) -> None:
    s = scored_workshop(client)
    md = export(s.w, "md").decode()
    headings = [line for line in md.splitlines() if line.startswith("#")]
    assert headings[0] == "# AI in the cultural and creative industries"
    assert "## Executive summary" in headings and "## Methodology" in headings
    assert "## Challenge 1: Challenge 1" in headings
    assert "#### 1. Regional AI hubs — Local & regional" in headings
    assert "#### 2. Training vouchers — National" in headings
    assert "- Relevance: **4.5** (median 4.5)" in md
    assert "- Policy level: EU 1 · National 1 · Local & regional 2" in md
    assert "## Appendix: all contributions" in md


def test_csv_has_a_row_per_cluster_and_a_row_per_contribution(client: TestClient) -> None:
    s = scored_workshop(client)
    recommendations, contributions = csv_tables(export(s.w, "csv"))
    assert [(r["Challenge #"], r["Rank"], r["Recommendation"]) for r in recommendations] == [
        ("1", "1", "Regional AI hubs"),
        ("1", "2", "Training vouchers"),
        ("2", "1", "Remuneration for AI training"),
        ("2", "2", "Open cultural data spaces"),
    ]
    hubs = recommendations[0]
    assert (hubs["Relevance mean"], hubs["Relevance median"], hubs["Agreement"]) == (
        "4.5",
        "4.5",
        "0.75",
    )
    assert (hubs["EU"], hubs["National"], hubs["Local & regional"]) == (
        "1",
        "1",
        "2",
    )
    assert recommendations[2]["Contested"] == "yes"
    assert hubs["Policy level"] == "Local & regional" and hubs["Matrix column (relevance)"] == "5"
    assert len(contributions) == 7
    stray = next(c for c in contributions if c["Contribution"].startswith("Nobody"))
    assert stray["Cluster id"] == "" and stray["Recommendation"] == ""
    assert "Author" not in contributions[0]


def test_json_has_everything_with_ids(client: TestClient) -> None:
    s = scored_workshop(client)
    data = json.loads(export(s.w, "json"))
    assert data["schema_version"] == 1
    assert data["session"]["title"] == "AI in the cultural and creative industries"
    clusters = {c["id"]: c for c in data["clusters"]}
    hubs = clusters[s.clusters["hubs"]]
    assert (hubs["rank"], hubs["relevance_mean"], hubs["policy_level"]) == (
        1,
        4.5,
        "local_regional",
    )
    assert sorted(hubs["contribution_ids"]) == sorted([s.notes["hubs"], s.notes["hubs2"]])
    assert clusters[s.clusters["pay"]]["origin"] == "edited"  # renamed after accepting
    assert clusters[s.clusters["pay"]]["edited"] is True
    assert len(data["ratings"]) == 11 and len(data["contributions"]) == 7
    assert data["participation"]["participants"] == 4
    assert all(p["name"] is None for p in data["participants"])
    assert all(c["author"] is None for c in data["contributions"])


def test_pdf_reads_like_a_brief(client: TestClient) -> None:
    s = scored_workshop(client)
    response = client.get(s.w.url("/report"), params={"format": "pdf"}, headers=s.w.f)
    assert response.headers["content-type"] == "application/pdf"
    assert f'-report-{s.w.code}.pdf"' in response.headers["content-disposition"]
    content = response.content
    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    for heading in ("Contents", "Executive summary", "Methodology", "Appendix: all contributions"):
        assert heading in text
    assert "Page 2 of" in text  # running footer with page numbers
    assert text.index("Regional AI hubs") < text.index("Training vouchers")
    assert "relevance 4.5 · agreement 75%" in text
    assert "Figure 1. Relevance × policy-level matrix" in text
    reader = PdfReader(io.BytesIO(content))
    chart_page = next(p for p in reader.pages if "Figure 1." in (p.extract_text() or ""))
    assert "/XObject" in chart_page["/Resources"]  # the chart, drawn as an image
    assert "Challenge 1: Challenge 1" in text  # running header of the challenge pages
    for name in NAMES:
        assert name not in text


def test_docx_has_real_headings_and_the_chart(client: TestClient) -> None:
    from docx import Document

    s = scored_workshop(client)
    content = export(s.w, "docx")
    paragraphs, text = docx_text(content)
    for style, heading in [
        ("Title", "AI in the cultural and creative industries"),
        ("Heading 1", "Executive summary"),
        ("Heading 1", "Methodology"),
        ("Heading 1", "Challenge 1: Challenge 1"),
        ("Heading 2", "Ecosystem structure"),
        ("Heading 1", "Appendix: all contributions"),
    ]:
        assert (style, heading) in paragraphs
    headings = [t for style, t in paragraphs if style == "Heading 4"]
    assert headings == [
        "2. Training vouchers  [National]",  # by category, then rank
        "1. Regional AI hubs  [Local & regional]",
        "1. Remuneration for AI training  [EU]  [Contested]",
        "2. Open cultural data spaces  [No level yet]",
    ]
    assert "Relevance: 4.5 (median 4.5)" in text
    document = Document(io.BytesIO(content))
    assert len(document.inline_shapes) == 2  # one matrix chart per rated challenge
    for name in NAMES:
        assert name not in text


def test_xlsx_has_typed_sheets_with_filters(client: TestClient) -> None:
    s = scored_workshop(client)
    book = load_workbook(io.BytesIO(export(s.w, "xlsx")))
    assert book.sheetnames == [
        "Recommendations",
        "Matrix",
        "Ratings",
        "Contributions",
        "Participation",
    ]
    sheet = book["Recommendations"]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:U5"
    header = [c.value for c in sheet[1]]
    row = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert row["Recommendation"] == "Regional AI hubs" and row["Rank"] == 1
    assert row["Relevance mean"] == 4.5 and isinstance(row["Relevance mean"], float)
    assert (
        row["Agreement"] == 0.75
        and sheet.cell(2, header.index("Agreement") + 1).number_format == "0%"
    )
    assert row["Policy level"] == "Local & regional"
    ratings = book["Ratings"]
    assert ratings.max_row == 12 and ratings.freeze_panes == "A2"
    assert {ratings.cell(r, 5).value for r in range(2, 13)} <= {1, 2, 4, 5}
    participation = {
        (r[0], r[1]): r[2] for r in book["Participation"].iter_rows(min_row=2, values_only=True)
    }
    assert participation[("All challenges", "Participants")] == 4
    assert participation[("All challenges", "Ratings")] == 11
    assert participation[("Challenge 2", "Ratings")] == 4
    values = [str(c) for ws in book for r in ws.iter_rows(values_only=True) for c in r]
    for name in NAMES:
        assert not any(name in v for v in values)


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_no_participant_name_leaks(client: TestClient, fmt: str) -> None:
    s = scored_workshop(client)
    content = export(s.w, fmt).decode("utf-8-sig")
    for name in NAMES:
        assert name not in content


def test_names_appear_when_the_session_shows_them(client: TestClient) -> None:
    s = scored_workshop(client, show_names=True)
    for fmt in TEXT_FORMATS:
        content = export(s.w, fmt).decode("utf-8-sig")
        assert NAMES[0] in content, fmt
    _, recommendations = csv_tables(export(s.w, "csv"))
    assert {row["Author"] for row in recommendations} == set(NAMES)
    _, docx = docx_text(export(s.w, "docx"))
    assert NAMES[1] in docx
    book = load_workbook(io.BytesIO(export(s.w, "xlsx")))
    sheet = book["Contributions"]
    assert sheet.cell(1, sheet.max_column).value == "Author"
    assert NAMES[2] in [sheet.cell(r, sheet.max_column).value for r in range(2, sheet.max_row + 1)]
    # Ratings stay anonymous even then.
    ratings = [str(v) for r in book["Ratings"].iter_rows(values_only=True) for v in r]
    assert not any(name in v for name in NAMES for v in ratings)
    assert NAMES[3] in pdf_text(export(s.w, "pdf"))


def test_empty_session_still_gives_a_useful_document(client: TestClient) -> None:
    w = create_workshop(client)
    for fmt in ("html", "md", "docx"):
        content = export(w, fmt)
        text = docx_text(content)[1] if fmt == "docx" else content.decode()
        assert "Nothing has been rated yet" in text, fmt
        assert "Challenge 2" in text
    text = pdf_text(export(w, "pdf"))
    assert "Nothing has been rated yet" in text
    assert "Provisional: exported during the set-up phase" in text
    recommendations, contributions = csv_tables(export(w, "csv"))
    assert recommendations == [] and contributions == []
    book = load_workbook(io.BytesIO(export(w, "xlsx")))
    assert book["Recommendations"].max_row == 1


def test_export_mid_workshop_shows_what_exists(client: TestClient) -> None:
    w = create_workshop(client, participants=2)
    w.phase("brainstorm")
    w.contribute(0, 0, "Compute is too expensive for small studios")
    w.contribute(1, 1, "Nobody teaches prompt design in art schools")
    md = export(w, "md").decode()
    assert "Provisional: exported during the brainstorm phase" in md
    assert "Compute is too expensive for small studios" in md
    assert "not clustered" in md
    assert "_No contributions of this challenge have been clustered" in md


def test_markdown_escapes_participant_text(client: TestClient) -> None:
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    w.contribute(0, 0, "Use *AI* | [link](http://x) <b>now</b>")
    md = export(w, "md").decode()
    assert r"Use \*AI\* \| \[link\](http://x) \<b\>now\</b\>" in md


def test_spreadsheets_do_not_run_participant_formulas(client: TestClient) -> None:
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    w.contribute(0, 0, '=HYPERLINK("http://evil.example","click")')
    _, contributions = csv_tables(export(w, "csv"))
    assert contributions[0]["Contribution"].startswith("'=HYPERLINK")
    book = load_workbook(io.BytesIO(export(w, "xlsx")))
    cell = book["Contributions"].cell(2, 4)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_long_clusters_name_the_rest_by_their_appendix_number(client: TestClient) -> None:
    from app.report.model import SOURCES_SHOWN

    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    ids = [w.contribute(0, 0, f"Gap number {i}")["id"] for i in range(SOURCES_SHOWN + 2)]
    w.phase("clustering")
    w.cluster(0, "Everything at once", "Ecosystem structure", ids)
    hidden = [f"Gap number {i}" for i in (SOURCES_SHOWN, SOURCES_SHOWN + 1)]
    more = f"… and 2 more in the appendix: #{SOURCES_SHOWN + 1}, #{SOURCES_SHOWN + 2}."
    for fmt in ("html", "md", "docx"):
        content = export(w, fmt)
        text = docx_text(content)[1] if fmt == "docx" else content.decode()
        assert more in text, fmt
        body, appendix = text.rsplit("Appendix: all contributions", 1)
        assert all(h not in body for h in hidden), fmt  # not under the recommendation …
        assert all(h in appendix for h in hidden), fmt  # … but in the appendix


def test_every_phase_exports(client: TestClient) -> None:
    w = create_workshop(client, participants=2)
    w.phase("brainstorm")
    note = w.contribute(0, 0, "Compute is too expensive for small studios")["id"]
    for phase, provisional in [
        ("brainstorm", True),
        ("clustering", True),
        ("scoring", True),
        ("report", False),
    ]:
        w.phase(phase)
        if phase == "clustering":
            cluster = w.cluster(0, "Shared compute", "AI and sector players", [note])
        if phase == "scoring":
            w.rate(0, cluster["id"], 4, "eu")
        for fmt in ("md", "json", "csv"):
            assert export(w, fmt), (phase, fmt)
        md = export(w, "md").decode()
        assert ("Provisional: exported during the" in md) is provisional, phase
        assert "Compute is too expensive for small studios" in md
