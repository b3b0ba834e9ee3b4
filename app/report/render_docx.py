"""The report as an editable Word document: real headings, list and table styles, a table
of contents field, page numbers in the footer and the matrix charts as pictures."""

import io
import re

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from app.i18n import _, format_integer, ngettext
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
from app.vocabulary import RELEVANCE_LABELS, RELEVANCE_SCORES, contested_label

ACCENT = RGBColor(0x16, 0x3F, 0x6E)
MUTED = RGBColor(0x5B, 0x61, 0x69)
APPENDIX_ENTRY = "Appendix entry"
APPENDIX_KEY = "Appendix key"
CHART_KEY = "Chart key"
# Unicode's first-strong isolate and its end: the bidi isolation of a <bdi> in plain text.
FSI = "\u2068"
PDI = "\u2069"
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
    hanging_styles = ((APPENDIX_ENTRY, 9.0, 1.0, 2), (CHART_KEY, 9.5, 0.8, 1))
    for style_name, font_pt, indent_cm, after_pt in hanging_styles:
        # A number hanging in the margin, then a tab to the text (appendix, chart key).
        hanging = styles.add_style(style_name, WD_STYLE_TYPE.PARAGRAPH)
        hanging.base_style = normal
        hanging.font.size = Pt(font_pt)
        hanging.paragraph_format.left_indent = Cm(indent_cm)
        hanging.paragraph_format.first_line_indent = Cm(-indent_cm)
        hanging.paragraph_format.tab_stops.add_tab_stop(Cm(indent_cm))
        hanging.paragraph_format.space_after = Pt(after_pt)
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
    # “Policy lab report · Page %(page)s of %(pages)s”, the numbers as Word fields.
    words = _("Page %(page)s of %(pages)s")
    footer.add_run(_("Policy lab report") + " · ").font.size = Pt(8)
    for index, piece in enumerate(re.split(r"%\((pages?)\)s", words)):
        if index % 2:
            _field(footer, "PAGE" if piece == "page" else "NUMPAGES", "1")
        elif piece:
            footer.add_run(piece).font.size = Pt(8)


def _cover(document: DocumentType, report: Report) -> None:
    eyebrow = document.add_paragraph()
    eyebrow.paragraph_format.space_before = Pt(120)
    run = eyebrow.add_run(_("Policy lab report").upper())
    run.bold = True
    run.font.color.rgb = MUTED
    _para(document, report.title, "Title")
    _para(document, _("Prioritised policy recommendations from a co-creation workshop"), "Subtitle")
    meta = [(_("Date:"), report.date_label)]
    if report.place:
        meta.append((_("Place:"), report.place))
    if report.organiser:
        meta.append((_("Organiser:"), report.organiser))
    meta.append((_("Challenges:"), "; ".join(c.title for c in report.challenges)))
    p = report.participation
    meta.append(
        (
            _("Participation:"),
            " · ".join(
                (
                    ngettext("%(num)s participant", "%(num)s participants", p.participants),
                    ngettext("%(num)s contribution", "%(num)s contributions", p.contributions),
                    ngettext("%(num)s recommendation", "%(num)s recommendations", p.clusters),
                    ngettext("%(num)s rating", "%(num)s ratings", p.ratings),
                )
            ),
        )
    )
    for label, value in meta:
        line = document.add_paragraph()
        head = line.add_run(f"{label} ")
        head.bold = True
        line.add_run(value)
    if report.status_note:
        note = _para(document, "", "Intense Quote")
        note.add_run(report.status_note).bold = True
    footer = document.add_paragraph()
    small = footer.add_run(
        _(
            "Session %(code)s · generated %(when)s with Policy Lab",
            code=report.code,
            when=report.generated_label,
        )
    )
    small.font.size = Pt(8)
    small.font.color.rgb = MUTED


def _toc(document: DocumentType) -> None:
    heading = _para(document, _("Contents"), "TOC Heading")
    heading.paragraph_format.page_break_before = True
    _field(
        document.add_paragraph(),
        'TOC \\o "1-2" \\h \\z \\u',
        _("Right-click and choose “Update field” to show the table of contents."),
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
    _para(document, _("Executive summary"), "Heading 1")
    p = report.participation
    if report.has_ratings:
        document.add_paragraph(
            ngettext(
                "%(num)s participant turned %(contributions)s contributions into %(clusters)s "
                "proposed policy solutions and scored them. The highest-ranked recommendations "
                "per challenge:",
                "%(num)s participants turned %(contributions)s contributions into %(clusters)s "
                "proposed policy solutions and scored them. The highest-ranked recommendations "
                "per challenge:",
                p.participants,
                contributions=format_integer(p.contributions),
                clusters=format_integer(p.clusters),
            )
        )
    else:
        document.add_paragraph(
            _("Nothing has been rated yet, so there are no prioritised recommendations so far.")
        )
    for c in report.challenges:
        _para(document, _challenge_title(c), "Heading 3")
        if not c.top:
            document.add_paragraph(_("Nothing rated yet."))
            continue
        for rec in c.top:
            # Numbered by rank in text: Word would continue one list across the challenges.
            item = _para(document, f"{rec.rank}. ", "List Paragraph")
            item.add_run(rec.title).bold = True
            figures = _(
                "relevance %(mean)s · agreement %(agreement)s",
                mean=fmt_num(rec.relevance_mean),
                agreement=fmt_pct(rec.agreement),
            )
            item.add_run(
                f" — {rec.level_label}; {figures}"
                + (f"; {contested_label()}" if rec.contested else "")
            )


def _methodology(document: DocumentType, report: Report) -> None:
    _para(document, _("Methodology"), "Heading 1")
    for paragraph in methodology(report):
        document.add_paragraph(paragraph)
    p = report.participation
    n = format_integer
    rows = [[f.title, n(f.contributions), n(f.clusters), n(f.ratings)] for f in p.per_challenge]
    rows.append([_("All challenges"), n(p.contributions), n(p.clusters), n(p.ratings)])
    _table(document, [_("Challenge"), _("Contributions"), _("Recommendations"), _("Ratings")], rows)


def _sources(document: DocumentType, items: list[ContributionItem]) -> None:
    for item in items:
        line = _para(document, "", "List Bullet")
        line.add_run(item.text)
        if item.author:
            author = line.add_run(f" — {item.author}")
            author.italic = True
        for d in item.duplicates:
            sub = _para(document, "", "List Bullet 2")
            sub.add_run(_("Merged duplicate:") + " ").italic = True
            sub.add_run(d.text + (f" — {d.author}" if d.author else ""))


def _recommendation(document: DocumentType, rec: Recommendation) -> None:
    heading = _para(document, "", "Heading 4")
    heading.add_run(f"{rec.rank}. {rec.title}")
    heading.add_run(f"  [{rec.level_label}]").font.color.rgb = MUTED
    if rec.contested:
        heading.add_run(f"  [{contested_label()}]").font.color.rgb = MUTED
    if rec.description:
        document.add_paragraph(rec.description)
    figures = document.add_paragraph()
    relevance = (
        _(
            "%(mean)s (median %(median)s)",
            mean=fmt_num(rec.relevance_mean),
            median=fmt_num(rec.relevance_median),
        )
        if rec.rated
        else _("not rated yet")
    )
    parts = (
        (_("Relevance:"), relevance),
        (_("Agreement:"), fmt_pct(rec.agreement)),
        (_("Ratings:"), format_integer(rec.ratings)),
        (_("Level:"), level_distribution(rec)),
    )
    for index, (label, value) in enumerate(parts):
        figures.add_run(f"{label} ").bold = True
        figures.add_run(value)
        if index < len(parts) - 1:
            figures.add_run("    ")
    if rec.minority_view:
        note = _para(document, "", "Intense Quote")
        heading_text = _(
            "%(contested)s: participants disagreed strongly.", contested=contested_label()
        )
        note.add_run(heading_text + " ").bold = True
        note.add_run(rec.minority_view)
    if rec.level_note:
        _para(document, rec.level_note, "Quote")
    if rec.contributions:
        sources = document.add_paragraph()
        sources.add_run(
            _("Contributions behind it (%(count)s)", count=rec.contribution_count)
        ).bold = True
        _sources(document, rec.sources_shown)
        if rec.sources_more:
            more = document.add_paragraph()
            more.add_run(more_sources(rec)).italic = True


def _challenge_title(c: ChallengeSection) -> str:
    return _("Challenge %(number)s: %(title)s", number=c.number, title=c.title)


def _chart_key(document: DocumentType, c: ChallengeSection) -> None:
    """Each number drawn on the chart with the recommendation's full title."""
    _para(document, "", "Normal").add_run(
        _("Key to the numbers in the chart of challenge %(number)s", number=c.number)
    ).bold = True
    for rec in c.rated:
        if not rec.policy_level:
            continue
        line = _para(document, "", CHART_KEY)
        line.add_run(f"{rec.rank}\t").bold = True
        line.add_run(rec.title)
        if rec.contested:
            line.add_run(f" ({contested_label()})").italic = True


def _matrix_table(document: DocumentType, c: ChallengeSection) -> None:
    """The matrix as a table: ranks by policy level (rows) and relevance band (columns)."""
    caption = _para(document, "", "Caption")
    caption.add_run(
        _(
            "Matrix of challenge %(number)s: ranks by policy level and mean relevance",
            number=c.number,
        )
    )
    header = [_("Policy level")] + [
        f"{score} {RELEVANCE_LABELS[score]}" for score in RELEVANCE_SCORES
    ]
    rows = [
        [row.label] + [", ".join(str(rec.rank) for rec in cell) for cell in row.cells]
        for row in c.matrix
    ]
    _table(document, header, rows)
    document.add_paragraph(
        _(
            "Columns: the mean relevance rounded to a whole score (2.5 goes to 3), as on the "
            "matrix page and in every format of this report."
        )
    )


def _challenge(document: DocumentType, c: ChallengeSection, report: Report) -> None:
    _para(document, _challenge_title(c), "Heading 1")
    if c.description:
        _para(document, c.description, "Quote")
    if c.questions:
        document.add_paragraph().add_run(_("Guiding questions")).bold = True
        for q in c.questions:
            _para(document, q, "List Bullet")
    document.add_paragraph(
        " · ".join(
            (
                ngettext("%(num)s contribution", "%(num)s contributions", c.contribution_count),
                ngettext(
                    "%(num)s recommendation", "%(num)s recommendations", len(c.recommendations)
                ),
                ngettext("%(num)s rating", "%(num)s ratings", c.rating_count),
            )
        )
    )
    png = chart_png(c, report.categories)
    if png is not None:
        document.add_picture(io.BytesIO(png), width=CHART_WIDTH)
        caption = _para(document, "", "Caption")
        caption.add_run(
            _("Figure %(number)s.", number=c.number)
            + " "
            + _(
                "Relevance × policy-level matrix: each recommendation at its mean relevance, in "
                "the row of its most chosen policy level. The number is its rank in this "
                "challenge; the key below gives each title in full."
            )
        )
        _chart_key(document, c)
        _matrix_table(document, c)
    elif c.recommendations:
        document.add_paragraph(_("No recommendation of this challenge has been rated yet."))
    else:
        document.add_paragraph(
            _("No contributions of this challenge have been clustered into recommendations yet.")
        )
    for category in c.categories:
        if not category.recommendations:
            continue
        _para(document, category.name, "Heading 2")
        for rec in category.recommendations:
            _recommendation(document, rec)


def _appendix(document: DocumentType, report: Report) -> None:
    _para(document, _("Appendix: all contributions"), "Heading 1")
    document.add_paragraph(
        _(
            "Every contribution of the reverse brainstorm, clustered or not, in the order it "
            "was written. The arrow points to the recommendation it went into, numbered "
            "challenge.rank."
        )
    )
    if not report.contributions:
        document.add_paragraph(_("No contributions have been collected yet."))
    recs = {r.id: r for r in report.recommendations}
    numbers = {item.id: item.number for item in report.contributions}
    for c in report.challenges:
        if not c.contributions:
            continue
        _para(document, _challenge_title(c), "Heading 3")
        for listed in c.recommendations:
            _para(document, f"{listed.label}  {listed.title}", APPENDIX_KEY)
        for item in c.contributions:
            rec = recs.get(item.cluster_id or 0)
            # The participant's text is isolated (FSI … PDI), so text in Arabic or Hebrew
            # leaves the arrow and the reference at the end of the line.
            text = f"{item.number}.\t{FSI}{item.text}{PDI}"
            if item.author:
                text += f" — {FSI}{item.author}{PDI}"
            if item.duplicate_of_id:
                duplicate = _(
                    "(duplicate of #%(number)s)", number=numbers.get(item.duplicate_of_id, "?")
                )
                text += f" {duplicate}"
            text += f"  → {rec.label}" if rec else ("  → " + _("not clustered"))
            _para(document, text, APPENDIX_ENTRY)


def render_docx(report: Report) -> bytes:
    """The Word file."""
    document = Document()
    _setup_styles(document)
    _header_footer(document, report)
    properties = document.core_properties
    properties.title = report.title
    properties.subject = _("Policy lab report")
    properties.author = report.organiser or "Policy Lab"
    properties.keywords = _("policy lab; recommendations")
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
