"""The report as CSV: a table of recommendations (one row per cluster), a blank line, then a
table of contributions (one row per contribution). UTF-8 with a byte-order mark, so
spreadsheet programs read accents correctly."""

import csv
import io

from app.report.model import Report

RECOMMENDATION_COLUMNS = [
    "challenge_number",
    "challenge",
    "category",
    "rank",
    "cluster_id",
    "recommendation",
    "description",
    "policy_level",
    "relevance_mean",
    "relevance_median",
    "relevance_sd",
    "agreement",
    "ratings",
    "level_eu",
    "level_national",
    "level_local_regional",
    "contested",
    "minority_view",
    "contributions",
    "origin",
]
CONTRIBUTION_COLUMNS = [
    "contribution_number",
    "contribution_id",
    "challenge_number",
    "challenge",
    "text",
    "cluster_id",
    "recommendation_ref",
    "recommendation",
    "duplicate_of_id",
]
# OWASP's CSV-injection guidance: a cell a spreadsheet could read as a formula starts with one
# of these (also in their full-width forms, which some spreadsheets accept, and after leading
# blanks, which some trim).
FORMULA_STARTS = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    "\0",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)


def safe_cell(value: object) -> object:
    """Text that a spreadsheet will not run as a formula (CSV injection): prefixed with a
    single quote when it starts, or starts after blanks, like a formula. Numbers stay numbers."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _round(value: float | None, digits: int = 3) -> float | str:
    return "" if value is None else round(value, digits)


def render_csv(report: Report) -> bytes:
    """Both tables in one CSV file."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(RECOMMENDATION_COLUMNS)
    for c in report.challenges:
        for rec in c.recommendations:
            writer.writerow(
                [
                    safe_cell(x)
                    for x in (
                        c.number,
                        c.title,
                        rec.category,
                        rec.rank,
                        rec.id,
                        rec.title,
                        rec.description,
                        rec.policy_level or "",
                        _round(rec.relevance_mean),
                        _round(rec.relevance_median),
                        _round(rec.relevance_sd),
                        _round(rec.agreement),
                        rec.ratings,
                        rec.policy_levels.get("eu", 0),
                        rec.policy_levels.get("national", 0),
                        rec.policy_levels.get("local_regional", 0),
                        "yes" if rec.contested else "no",
                        rec.minority_view or "",
                        rec.contribution_count,
                        rec.origin,
                    )
                ]
            )
    writer.writerow([])
    columns = CONTRIBUTION_COLUMNS + (["author"] if report.show_names else [])
    writer.writerow(columns)
    recs = {r.id: r for r in report.recommendations}
    for c in report.challenges:
        for item in c.contributions:
            where = recs.get(item.cluster_id or 0)
            row = [
                item.number,
                item.id,
                c.number,
                c.title,
                item.text,
                item.cluster_id or "",
                where.label if where else "",
                where.title if where else "",
                item.duplicate_of_id or "",
            ]
            if report.show_names:
                row.append(item.author or "")
            writer.writerow([safe_cell(x) for x in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
