"""The report as an editable Word document: real headings, list and table styles, a table
of contents field, page numbers in the footer and the matrix charts as pictures."""

import io

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from app.report.chart import chart_png
from app.report.model import (
    ChallengeSection,
    ContributionItem,
    Recommendation,
    Report,
    fmt_num,
    fmt_pct,
    level_distribution,
    methodology,
    more_sources,
)

ACCENT = RGBColor(0x16, 0x3F, 0x6E)
MUTED = RGBColor(0x5B, 0x61, 0x69)
APPENDIX_ENTRY = "Appendix entry"
APPENDIX_KEY = "Appendix key"
CHART_WIDTH = Cm(16.5)


def _field(paragraph, instruction: str, placeholder: str = "") -> None:  # type: ignore[no-untyped-def]
    """A Word field (PAGE, NUMPAGES, TOC …) that Word fills in when it lays out the page."""
    run = paragraph.add_run()
    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f" {instruction} "
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run._r.append(begin)
    run._r.append(code)
    run._r.append(separate)
    shown = paragraph.add_run(placeholder)
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    shown._r.append(end)


# Style ids of python-docx's default template, looked up once: resolving a style by name
# scans every style and costs seconds over a few thousand paragraphs.
_STYLE_IDS: dict[str, str] = {}


def _para(document: DocumentType, text: str = "", style: str | None = None):  # type: ignore[no-untyped-def]
    """A paragraph in `style` (a style name of the document)."""
    paragraph = document.add_paragraph(text)
    if style is not None:
        style_id = _STYLE_IDS.get(style)
        if style_id is None:
            style_id = _STYLE_IDS[style] = document.styles[style].style_id
        paragraph._p.style = style_id
    return paragraph


def _setup_styles(document: DocumentType) -> None:
    styles = document.styles
    normal = styles["Normal"]
    normal.font.name = "Calibri"
    # A font named for every script: Calibri covers Latin, Greek and Cyrillic; complex
    # scripts (Arabic, Hebrew) and East Asian text get their own; viewers add emoji.
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:cs"), "Arial")
    fonts.set(qn("w:eastAsia"), "Noto Sans CJK SC")
    normal.font.size = Pt(10.5)
    normal.paragraph_format.space_after = Pt(4)
    for name, size in (("Title", 30), ("Heading 1", 20), ("Heading 2", 14), ("Heading 3", 12)):
        style = styles[name]
        style.font.color.rgb = ACCENT
        style.font.size = Pt(size)
    styles["Heading 1"].paragraph_format.page_break_before = True
    styles["Heading 3"].paragraph_format.space_before = Pt(10)
    for name in ("List Bullet", "List Bullet 2"):
        styles[name].paragraph_format.space_after = Pt(1)
    # Editable styles of the appendix: a hanging number, compact lines.
    entry = styles.add_style(APPENDIX_ENTRY, WD_STYLE_TYPE.PARAGRAPH)
    entry.base_style = normal
    entry.font.size = Pt(9)
    entry.paragraph_format.left_indent = Cm(1)
    entry.paragraph_format.first_line_indent = Cm(-1)
    entry.paragraph_format.tab_stops.add_tab_stop(Cm(1))
    entry.paragraph_format.space_after = Pt(2)
    key = styles.add_style(APPENDIX_KEY, WD_STYLE_TYPE.PARAGRAPH)
    key.base_style = normal
    key.font.size = Pt(8.5)
    key.font.color.rgb = MUTED
    key.paragraph_format.space_after = Pt(0)
    # Ask Word to refresh fields (table of contents, page count) when the file opens.
    settings = document.settings.element
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    settings.append(update)


def _header_footer(document: DocumentType, report: Report) -> None:
    section = document.sections[0]
    section.different_first_page_header_footer = True
    section.left_margin = section.right_margin = Cm(2.2)
    header = section.header.paragraphs[0]
    header.text = report.title
    header.style = document.styles["Header"]
    for run in header.runs:
        run.font.size = Pt(8)
        run.font.color.rgb = MUTED
    footer = section.footer.paragraphs[0]
    footer.style = document.styles["Footer"]
    label = footer.add_run("Policy lab report · Page ")
    label.font.size = Pt(8)
    _field(footer, "PAGE", "1")
    footer.add_run(" of ").font.size = Pt(8)
    _field(footer, "NUMPAGES", "1")


def _cover(document: DocumentType, report: Report) -> None:
    eyebrow = document.add_paragraph()
    eyebrow.paragraph_format.space_before = Pt(120)
    run = eyebrow.add_run("POLICY LAB REPORT")
    run.bold = True
    run.font.color.rgb = MUTED
    _para(document, report.title, "Title")
    _para(document, "Prioritised policy recommendations from a co-creation workshop", "Subtitle")
    meta = [("Date", report.date_label)]
    if report.place:
        meta.append(("Place", report.place))
    if report.organiser:
        meta.append(("Organiser", report.organiser))
    meta.append(("Challenges", "; ".join(c.title for c in report.challenges)))
    p = report.participation
    meta.append(
        (
            "Participation",
            f"{p.participants} participants · {p.contributions} contributions · "
            f"{p.clusters} recommendations · {p.ratings} ratings",
        )
    )
    for label, value in meta:
        line = document.add_paragraph()
        head = line.add_run(f"{label}: ")
        head.bold = True
        line.add_run(value)
    if report.status_note:
        note = _para(document, "", "Intense Quote")
        note.add_run(report.status_note).bold = True
    footer = document.add_paragraph()
    small = footer.add_run(
        f"Session {report.code} · generated {report.generated_at:%d %B %Y, %H:%M} UTC "
        "with Policy Lab"
    )
    small.font.size = Pt(8)
    small.font.color.rgb = MUTED


def _toc(document: DocumentType) -> None:
    heading = _para(document, "Contents", "TOC Heading")
    heading.paragraph_format.page_break_before = True
    _field(
        document.add_paragraph(),
        'TOC \\o "1-2" \\h \\z \\u',
        "Right-click and choose “Update field” to show the table of contents.",
    )


def _table(document: DocumentType, header: list[str], rows: list[list[str]], widths=None):  # type: ignore[no-untyped-def]
    table = document.add_table(rows=1, cols=len(header))
    table.style = document.styles["Light List Accent 1"]
    for cell, text in zip(table.rows[0].cells, header, strict=True):
        cell.text = text
    for values in rows:
        cells = table.add_row().cells
        for cell, text in zip(cells, values, strict=True):
            cell.text = text
    if widths:
        for row in table.rows:
            for cell, width in zip(row.cells, widths, strict=True):
                cell.width = width
    return table


def _summary(document: DocumentType, report: Report) -> None:
    _para(document, "Executive summary", "Heading 1")
    p = report.participation
    if report.has_ratings:
        document.add_paragraph(
            f"{p.participants} participants turned {p.contributions} contributions into "
            f"{p.clusters} proposed policy solutions and scored them. The highest-ranked "
            "recommendations per challenge:"
        )
    else:
        document.add_paragraph(
            "Nothing has been rated yet, so there are no prioritised recommendations so far."
        )
    for c in report.challenges:
        _para(document, f"Challenge {c.number}: {c.title}", "Heading 3")
        if not c.top:
            document.add_paragraph("Nothing rated yet.")
            continue
        for rec in c.top:
            # Numbered by rank in text: Word would continue one list across the challenges.
            item = _para(document, f"{rec.rank}. ", "List Paragraph")
            item.add_run(rec.title).bold = True
            item.add_run(
                f" — {rec.level_label}; relevance {fmt_num(rec.relevance_mean)}, "
                f"agreement {fmt_pct(rec.agreement)}" + ("; contested" if rec.contested else "")
            )


def _methodology(document: DocumentType, report: Report) -> None:
    _para(document, "Methodology", "Heading 1")
    for paragraph in methodology(report):
        document.add_paragraph(paragraph)
    p = report.participation
    rows = [
        [f.title, str(f.contributions), str(f.clusters), str(f.ratings)] for f in p.per_challenge
    ]
    rows.append(["All challenges", str(p.contributions), str(p.clusters), str(p.ratings)])
    _table(document, ["Challenge", "Contributions", "Recommendations", "Ratings"], rows)


def _sources(document: DocumentType, items: list[ContributionItem]) -> None:
    for item in items:
        line = _para(document, "", "List Bullet")
        line.add_run(item.text)
        if item.author:
            author = line.add_run(f" — {item.author}")
            author.italic = True
        for d in item.duplicates:
            sub = _para(document, "", "List Bullet 2")
            sub.add_run("Merged duplicate: ").italic = True
            sub.add_run(d.text + (f" — {d.author}" if d.author else ""))


def _recommendation(document: DocumentType, rec: Recommendation) -> None:
    heading = _para(document, "", "Heading 4")
    heading.add_run(f"{rec.rank}. {rec.title}")
    heading.add_run(f"  [{rec.level_label}]").font.color.rgb = MUTED
    if rec.description:
        document.add_paragraph(rec.description)
    figures = document.add_paragraph()
    relevance = (
        f"{fmt_num(rec.relevance_mean)} (median {fmt_num(rec.relevance_median)})"
        if rec.rated
        else "not rated yet"
    )
    for label, value in (
        ("Relevance", relevance),
        ("Agreement", fmt_pct(rec.agreement)),
        ("Ratings", str(rec.ratings)),
        ("Level", level_distribution(rec)),
    ):
        figures.add_run(f"{label}: ").bold = True
        figures.add_run(value)
        if label != "Level":
            figures.add_run("    ")
    if rec.minority_view:
        note = _para(document, "", "Intense Quote")
        note.add_run("Participants disagreed strongly. ").bold = True
        note.add_run(rec.minority_view)
    if rec.level_note:
        _para(document, rec.level_note, "Quote")
    if rec.contributions:
        sources = document.add_paragraph()
        sources.add_run(f"Contributions behind it ({rec.contribution_count})").bold = True
        _sources(document, rec.sources_shown)
        if rec.sources_more:
            more = document.add_paragraph()
            more.add_run(more_sources(rec)).italic = True


def _challenge(document: DocumentType, c: ChallengeSection, report: Report) -> None:
    _para(document, f"Challenge {c.number}: {c.title}", "Heading 1")
    if c.description:
        _para(document, c.description, "Quote")
    if c.questions:
        document.add_paragraph().add_run("Guiding questions").bold = True
        for q in c.questions:
            _para(document, q, "List Bullet")
    document.add_paragraph(
        f"{c.contribution_count} contributions · {len(c.recommendations)} recommendations · "
        f"{c.rating_count} ratings"
    )
    png = chart_png(c, report.categories)
    if png is not None:
        document.add_picture(io.BytesIO(png), width=CHART_WIDTH)
        caption = _para(document, "", "Caption")
        caption.add_run(
            f"Figure {c.number}. Relevance × policy-level matrix: each recommendation at its "
            "mean relevance, in the row of its most chosen policy level; the number is its "
            "rank in this challenge."
        )
    elif c.recommendations:
        document.add_paragraph("No recommendation of this challenge has been rated yet.")
    else:
        document.add_paragraph(
            "No contributions of this challenge have been clustered into recommendations yet."
        )
    for category in c.categories:
        if not category.recommendations:
            continue
        _para(document, category.name, "Heading 2")
        for rec in category.recommendations:
            _recommendation(document, rec)


def _appendix(document: DocumentType, report: Report) -> None:
    _para(document, "Appendix: all contributions", "Heading 1")
    document.add_paragraph(
        "Every contribution of the reverse brainstorm, clustered or not, in the order it was "
        "written. The arrow points to the recommendation it went into, numbered "
        "challenge.rank."
    )
    if not report.contributions:
        document.add_paragraph("No contributions have been collected yet.")
    recs = {r.id: r for r in report.recommendations}
    numbers = {item.id: item.number for item in report.contributions}
    for c in report.challenges:
        if not c.contributions:
            continue
        _para(document, f"Challenge {c.number}: {c.title}", "Heading 3")
        for listed in c.recommendations:
            _para(document, f"{listed.label}  {listed.title}", APPENDIX_KEY)
        for item in c.contributions:
            rec = recs.get(item.cluster_id or 0)
            text = f"{item.number}.\t{item.text}"
            if item.author:
                text += f" — {item.author}"
            if item.duplicate_of_id:
                text += f" (duplicate of #{numbers.get(item.duplicate_of_id, '?')})"
            text += f"  → {rec.label}" if rec else "  → not clustered"
            _para(document, text, APPENDIX_ENTRY)


def render_docx(report: Report) -> bytes:
    """The Word file."""
    document = Document()
    _setup_styles(document)
    _header_footer(document, report)
    properties = document.core_properties
    properties.title = report.title
    properties.subject = "Policy lab report"
    properties.author = report.organiser or "Policy Lab"
    properties.keywords = "policy lab; recommendations"
    _cover(document, report)
    _toc(document)
    _summary(document, report)
    _methodology(document, report)
    for c in report.challenges:
        _challenge(document, c, report)
    _appendix(document, report)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
