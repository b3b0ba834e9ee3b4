"""The report as an Excel workbook: sheets Recommendations, Matrix, Ratings, Contributions
and Participation (named in the report's language), with typed cells, frozen header rows and
filters."""

import io
import re
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.i18n import N_, _
from app.report.model import Report, yes_no
from app.vocabulary import CONTESTED_LABEL, LEVEL_LABELS, RELEVANCE_LABELS, RELEVANCE_SCORES

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="163F6E")
WRAP = Alignment(wrap_text=True, vertical="top")
NUMBER_FORMATS = {"score": "0.00", "pct": "0%"}

# (header marked with N_, width, number format or None)
Columns = list[tuple[str, int, str | None]]

RECOMMENDATION_COLUMNS: Columns = [
    (N_("Challenge #"), 11, None),
    (N_("Challenge"), 28, None),
    (N_("Category"), 24, None),
    (N_("Rank"), 7, None),
    (N_("Recommendation"), 44, None),
    (N_("Description"), 40, None),
    (N_("Policy level"), 16, None),
    (N_("Relevance mean"), 10, "score"),
    (N_("Relevance median"), 10, "score"),
    (N_("Relevance SD"), 10, "score"),
    # Translators: a column: the matrix column (1–5) of the mean relevance, rounded.
    (N_("Matrix column (relevance)"), 12, None),
    (N_("Agreement"), 11, "pct"),
    (N_("Ratings"), 9, None),
    (N_("EU"), 7, None),
    (N_("National"), 9, None),
    (N_("Local & regional"), 10, None),
    (CONTESTED_LABEL, 10, None),
    (N_("Minority view"), 40, None),
    (N_("Contributions"), 12, None),
    (N_("Origin"), 11, None),
    (N_("Cluster id"), 10, None),
]
RATING_COLUMNS: Columns = [
    (N_("Challenge #"), 11, None),
    (N_("Rank"), 7, None),
    (N_("Recommendation"), 44, None),
    (N_("Participant"), 12, None),
    (N_("Relevance"), 10, None),
    (N_("Policy level"), 16, None),
    (N_("Cluster id"), 10, None),
]
MATRIX_COLUMNS: Columns = [
    (N_("Challenge #"), 11, None),
    (N_("Challenge"), 28, None),
    (N_("Policy level"), 16, None),
]
CONTRIBUTION_COLUMNS: Columns = [
    (N_("#"), 7, None),
    (N_("Challenge #"), 11, None),
    (N_("Challenge"), 28, None),
    (N_("Contribution"), 60, None),
    (N_("Recommendation ref"), 14, None),
    (N_("Recommendation"), 44, None),
    (N_("Duplicate of #"), 12, None),
    (N_("Contribution id"), 14, None),
]


def _cell(sheet: WriteOnlyWorksheet, value: Any, number_format: str | None) -> Any:
    """The value as written: plain where openpyxl's defaults are right (fast), else a cell."""
    if isinstance(value, str):
        # The report's text is writable already (`strip_unwritable`); openpyxl's own rule is
        # applied again so that no text can make the workbook fail to save.
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if not value.startswith("="):
            return value  # stored as a string cell: a spreadsheet never runs it
        # openpyxl takes a string starting with “=” for a formula: participants' text never is.
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    if number_format is None or value is None:
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = NUMBER_FORMATS[number_format]
    return cell


def sheet_title(title: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", title)[:31].strip() or "Sheet"


def _sheet(
    workbook: Workbook,
    title: str,
    columns: Sequence[tuple[str, int, str | None]],
    rows: list[list[Any]],
) -> None:
    sheet = workbook.create_sheet(sheet_title(title))
    for index, (_name, width, _format) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    last = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
    header = []
    for name, _width, _format in columns:
        cell = WriteOnlyCell(sheet, value=_(name))
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = WRAP
        header.append(cell)
    sheet.append(header)
    formats = [fmt for _name, _width, fmt in columns]
    for row in rows:
        sheet.append([_cell(sheet, v, f) for v, f in zip(row, formats, strict=True)])


def render_xlsx(report: Report) -> bytes:
    """The workbook."""
    workbook = Workbook(write_only=True)
    recs = {r.id: r for r in report.recommendations}
    _sheet(
        workbook,
        _("Recommendations"),
        RECOMMENDATION_COLUMNS,
        [
            [
                c.number,
                c.title,
                r.category,
                r.rank,
                r.title,
                r.description,
                LEVEL_LABELS.get(r.policy_level or "", None),
                r.relevance_mean,
                r.relevance_median,
                r.relevance_sd,
                r.band,
                r.agreement,
                r.ratings,
                r.policy_levels.get("eu", 0),
                r.policy_levels.get("national", 0),
                r.policy_levels.get("local_regional", 0),
                yes_no(r.contested),
                r.minority_view,
                r.contribution_count,
                r.origin_label,
                r.id,
            ]
            for c in report.challenges
            for r in c.recommendations
        ],
    )
    matrix: list[list[Any]] = [
        [
            c.number,
            c.title,
            row.label,
            *(", ".join(str(r.rank) for r in cell) for cell in row.cells),
        ]
        for c in report.challenges
        if c.rated
        for row in c.matrix
    ]
    # A column per relevance band, as on the matrix page (“4 High”).
    bands: Columns = [
        (f"{score} {RELEVANCE_LABELS[score]}", 14, None) for score in RELEVANCE_SCORES
    ]
    _sheet(workbook, _("Matrix"), MATRIX_COLUMNS + bands, matrix)

    ratings = []
    for rating in report.ratings:
        rec = recs.get(rating.cluster_id)
        if rec is None:
            continue
        ratings.append(
            [
                rec.challenge_number,
                rec.rank,
                rec.title,
                _("P%(number)s", number=rating.participant_number),
                rating.relevance,
                LEVEL_LABELS.get(rating.policy_level, rating.policy_level),
                rec.id,
            ]
        )
    ratings.sort(key=lambda row: (row[0], row[1], row[3]))
    _sheet(workbook, _("Ratings"), RATING_COLUMNS, ratings)

    numbers = {item.id: item.number for item in report.contributions}
    contribution_columns = CONTRIBUTION_COLUMNS + (
        [(N_("Author"), 20, None)] if report.show_names else []
    )
    contributions = []
    for c in report.challenges:
        for item in c.contributions:
            rec = recs.get(item.cluster_id or 0)
            row: list[Any] = [
                item.number,
                c.number,
                c.title,
                item.text,
                rec.label if rec else None,
                rec.title if rec else None,
                numbers.get(item.duplicate_of_id) if item.duplicate_of_id else None,
                item.id,
            ]
            if report.show_names:
                row.append(item.author)
            contributions.append(row)
    _sheet(workbook, _("Contributions"), contribution_columns, contributions)

    p = report.participation
    everything = _("All challenges")
    figures: list[list[Any]] = [
        [everything, _("Participants"), p.participants],
        [everything, _("Participants who contributed"), p.contributors],
        [everything, _("Participants who rated"), p.raters],
        [everything, _("Contributions"), p.contributions],
        [everything, _("Contributions not clustered"), p.unclustered],
        [everything, _("Merged duplicates"), p.duplicates],
        [everything, _("Recommendations (clusters)"), p.clusters],
        [everything, _("Recommendations rated"), p.rated_clusters],
        [everything, _("Ratings"), p.ratings],
        [everything, _("Clusters suggested by the tool"), report.provenance.suggested],
        [everything, _("… of which edited"), report.provenance.suggested_edited],
    ]
    for f in p.per_challenge:
        figures += [
            [f.title, _("Contributions"), f.contributions],
            [f.title, _("Recommendations (clusters)"), f.clusters],
            [f.title, _("Ratings"), f.ratings],
        ]
    _sheet(
        workbook,
        _("Participation"),
        [(N_("Scope"), 36, None), (N_("Figure"), 34, None), (N_("Value"), 10, None)],
        figures,
    )
    workbook.properties.title = ILLEGAL_CHARACTERS_RE.sub("", report.title)
    workbook.properties.subject = _("Policy lab report")
    workbook.properties.creator = "Policy Lab"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
