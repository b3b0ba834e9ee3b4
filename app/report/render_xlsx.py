"""The report as an Excel workbook: sheets Recommendations, Ratings, Contributions and
Participation, with typed cells, frozen header rows and filters."""

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from app.report.model import Report
from app.vocabulary import LEVEL_LABELS

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="163F6E")
WRAP = Alignment(wrap_text=True, vertical="top")
NUMBER_FORMATS = {"score": "0.00", "pct": "0%"}

# (header, width, number format or None)
Columns = list[tuple[str, int, str | None]]

RECOMMENDATION_COLUMNS: Columns = [
    ("Challenge #", 11, None),
    ("Challenge", 28, None),
    ("Category", 24, None),
    ("Rank", 7, None),
    ("Recommendation", 44, None),
    ("Description", 40, None),
    ("Policy level", 16, None),
    ("Relevance mean", 10, "score"),
    ("Relevance median", 10, "score"),
    ("Relevance SD", 10, "score"),
    ("Agreement", 11, "pct"),
    ("Ratings", 9, None),
    ("EU", 7, None),
    ("National", 9, None),
    ("Local & regional", 10, None),
    ("Contested", 10, None),
    ("Minority view", 40, None),
    ("Contributions", 12, None),
    ("Origin", 11, None),
    ("Cluster id", 10, None),
]
RATING_COLUMNS: Columns = [
    ("Challenge #", 11, None),
    ("Rank", 7, None),
    ("Recommendation", 44, None),
    ("Participant", 12, None),
    ("Relevance", 10, None),
    ("Policy level", 16, None),
    ("Cluster id", 10, None),
]
CONTRIBUTION_COLUMNS: Columns = [
    ("#", 7, None),
    ("Challenge #", 11, None),
    ("Challenge", 28, None),
    ("Contribution", 60, None),
    ("Recommendation ref", 14, None),
    ("Recommendation", 44, None),
    ("Duplicate of #", 12, None),
    ("Contribution id", 14, None),
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


def _sheet(
    workbook: Workbook,
    title: str,
    columns: Sequence[tuple[str, int, str | None]],
    rows: list[list[Any]],
) -> None:
    sheet = workbook.create_sheet(title)
    for index, (_, width, _) in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    last = get_column_letter(len(columns))
    sheet.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
    header = []
    for name, _, _ in columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = WRAP
        header.append(cell)
    sheet.append(header)
    formats = [fmt for _, _, fmt in columns]
    for row in rows:
        sheet.append([_cell(sheet, v, f) for v, f in zip(row, formats, strict=True)])


def render_xlsx(report: Report) -> bytes:
    """The workbook."""
    workbook = Workbook(write_only=True)
    recs = {r.id: r for r in report.recommendations}
    _sheet(
        workbook,
        "Recommendations",
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
                r.agreement,
                r.ratings,
                r.policy_levels.get("eu", 0),
                r.policy_levels.get("national", 0),
                r.policy_levels.get("local_regional", 0),
                "yes" if r.contested else "no",
                r.minority_view,
                r.contribution_count,
                r.origin,
                r.id,
            ]
            for c in report.challenges
            for r in c.recommendations
        ],
    )
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
                f"P{rating.participant_number}",
                rating.relevance,
                LEVEL_LABELS.get(rating.policy_level, rating.policy_level),
                rec.id,
            ]
        )
    ratings.sort(key=lambda row: (row[0], row[1], row[3]))
    _sheet(workbook, "Ratings", RATING_COLUMNS, ratings)

    numbers = {item.id: item.number for item in report.contributions}
    contribution_columns = CONTRIBUTION_COLUMNS + (
        [("Author", 20, None)] if report.show_names else []
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
    _sheet(workbook, "Contributions", contribution_columns, contributions)

    p = report.participation
    figures: list[list[Any]] = [
        ["All challenges", "Participants", p.participants],
        ["All challenges", "Participants who contributed", p.contributors],
        ["All challenges", "Participants who rated", p.raters],
        ["All challenges", "Contributions", p.contributions],
        ["All challenges", "Contributions not clustered", p.unclustered],
        ["All challenges", "Merged duplicates", p.duplicates],
        ["All challenges", "Recommendations (clusters)", p.clusters],
        ["All challenges", "Recommendations rated", p.rated_clusters],
        ["All challenges", "Ratings", p.ratings],
        ["All challenges", "Clusters suggested by the tool", report.provenance.suggested],
        ["All challenges", "… of which edited", report.provenance.suggested_edited],
    ]
    for f in p.per_challenge:
        figures += [
            [f.title, "Contributions", f.contributions],
            [f.title, "Recommendations (clusters)", f.clusters],
            [f.title, "Ratings", f.ratings],
        ]
    _sheet(
        workbook,
        "Participation",
        [("Scope", 36, None), ("Figure", 34, None), ("Value", 10, None)],
        figures,
    )
    workbook.properties.title = ILLEGAL_CHARACTERS_RE.sub("", report.title)
    workbook.properties.subject = "Policy lab report"
    workbook.properties.creator = "Policy Lab"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
