"""The report as CSV: a table of recommendations (one row per cluster), a blank line, then a
table of contributions (one row per contribution). UTF-8 with a byte-order mark, so
spreadsheet programs read accents correctly."""

import csv
import io

from app.i18n import N_, _
from app.report.model import Report, yes_no
from app.vocabulary import CONTESTED_LABEL, level_label

# The headers people read, in the report's language (the JSON export has the stable,
# English keys for programs).
RECOMMENDATION_COLUMNS = [
    N_("Challenge #"),
    N_("Challenge"),
    N_("Category"),
    N_("Rank"),
    N_("Cluster id"),
    N_("Recommendation"),
    N_("Description"),
    N_("Policy level"),
    N_("Relevance mean"),
    N_("Relevance median"),
    N_("Relevance SD"),
    # Translators: a column: the matrix column (1–5) of the mean relevance, rounded.
    N_("Matrix column (relevance)"),
    N_("Agreement"),
    N_("Ratings"),
    N_("EU"),
    N_("National"),
    N_("Local & regional"),
    CONTESTED_LABEL,
    N_("Minority view"),
    N_("Contributions"),
    N_("Origin"),
]
CONTRIBUTION_COLUMNS = [
    N_("Contribution #"),
    N_("Contribution id"),
    N_("Challenge #"),
    N_("Challenge"),
    N_("Contribution"),
    N_("Cluster id"),
    N_("Recommendation ref"),
    N_("Recommendation"),
    N_("Duplicate of id"),
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
    writer.writerow([_(name) for name in RECOMMENDATION_COLUMNS])
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
                        level_label(rec.policy_level, "") if rec.policy_level else "",
                        _round(rec.relevance_mean),
                        _round(rec.relevance_median),
                        _round(rec.relevance_sd),
                        rec.band or "",
                        _round(rec.agreement),
                        rec.ratings,
                        rec.policy_levels.get("eu", 0),
                        rec.policy_levels.get("national", 0),
                        rec.policy_levels.get("local_regional", 0),
                        yes_no(rec.contested),
                        rec.minority_view or "",
                        rec.contribution_count,
                        rec.origin_label,
                    )
                ]
            )
    writer.writerow([])
    columns = [_(name) for name in CONTRIBUTION_COLUMNS]
    writer.writerow(columns + ([_("Author")] if report.show_names else []))
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
