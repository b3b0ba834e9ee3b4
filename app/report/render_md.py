"""The report as Markdown (CommonMark with GitHub tables)."""

from app.report.chart import ROWS
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
from app.vocabulary import LEVEL_LABELS

BANDS = [(1.0, 2.0, "1–2"), (2.0, 3.0, "2–3"), (3.0, 4.0, "3–4"), (4.0, 5.01, "4–5")]


def md_escape(text: str) -> str:
    """Text that Markdown shows as written (no accidental emphasis, links or tables)."""
    text = " ".join(text.split())
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return text


def render_markdown(report: Report) -> str:
    """The whole report as one Markdown document."""
    out: list[str] = []
    add = out.append
    p = report.participation
    add(f"# {md_escape(report.title)}\n")
    add("**Policy lab report — prioritised policy recommendations**\n")
    add(f"- **Date:** {md_escape(report.date_label)}")
    if report.place:
        add(f"- **Place:** {md_escape(report.place)}")
    if report.organiser:
        add(f"- **Organiser:** {md_escape(report.organiser)}")
    add(
        f"- **Participation:** {p.participants} participants, {p.contributions} contributions, "
        f"{p.clusters} recommendations, {p.ratings} ratings"
    )
    add(f"- **Session:** {report.code}, generated {report.generated_at:%Y-%m-%d %H:%M} UTC\n")
    if report.status_note:
        add(f"> **{report.status_note}**\n")

    add("## Executive summary\n")
    if not report.has_ratings:
        add("Nothing has been rated yet, so there are no prioritised recommendations so far.\n")
    for c in report.challenges:
        add(f"### Challenge {c.number}: {md_escape(c.title)}\n")
        if not c.top:
            add("_Nothing rated yet._\n")
            continue
        for i, rec in enumerate(c.top, start=1):
            contested = " — *contested*" if rec.contested else ""
            add(
                f"{i}. **{md_escape(rec.title)}** — {rec.level_label}; relevance "
                f"{fmt_num(rec.relevance_mean)}, agreement {fmt_pct(rec.agreement)}{contested}"
            )
        add("")

    add("## Methodology\n")
    for paragraph in methodology(report):
        add(paragraph + "\n")
    add("| Challenge | Contributions | Recommendations | Ratings |")
    add("| --- | ---: | ---: | ---: |")
    for f in p.per_challenge:
        add(f"| {md_escape(f.title)} | {f.contributions} | {f.clusters} | {f.ratings} |")
    add(f"| **All challenges** | **{p.contributions}** | **{p.clusters}** | **{p.ratings}** |\n")

    for c in report.challenges:
        _challenge(add, c)

    add("## Appendix: all contributions\n")
    if not report.contributions:
        add("No contributions have been collected yet.\n")
    recs = {r.id: r for r in report.recommendations}
    numbers = {item.id: item.number for item in report.contributions}
    for c in report.challenges:
        if not c.contributions:
            continue
        add(f"### Challenge {c.number}: {md_escape(c.title)}\n")
        header = "| # | Contribution | Recommendation |" + (
            " Author |" if report.show_names else ""
        )
        add(header)
        add("| ---: | --- | --- |" + (" --- |" if report.show_names else ""))
        for item in c.contributions:
            home = recs.get(item.cluster_id or 0)
            where = f"{home.label} {md_escape(home.title)}" if home else "*not clustered*"
            text = md_escape(item.text)
            if item.duplicate_of_id:
                text += f" *(duplicate of #{numbers.get(item.duplicate_of_id, '?')})*"
            row = f"| {item.number} | {text} | {where} |"
            if report.show_names:
                row += f" {md_escape(item.author or '')} |"
            add(row)
        add("")
    return "\n".join(out).rstrip() + "\n"


def _challenge(add, c: ChallengeSection) -> None:  # type: ignore[no-untyped-def]
    add(f"## Challenge {c.number}: {md_escape(c.title)}\n")
    if c.description:
        add(f"> {md_escape(c.description)}\n")
    if c.questions:
        add("Guiding questions:\n")
        for q in c.questions:
            add(f"- {md_escape(q)}")
        add("")
    add(
        f"{c.contribution_count} contributions · {len(c.recommendations)} recommendations · "
        f"{c.rating_count} ratings\n"
    )
    if c.rated:
        add("**Matrix** (rank numbers by most chosen policy level and mean relevance):\n")
        add("| Policy level | " + " | ".join(label for _, _, label in BANDS) + " |")
        add("| --- |" + " :---: |" * len(BANDS))
        for level in ROWS:
            cells = []
            for lo, hi, _ in BANDS:
                ranks = [
                    str(r.rank)
                    for r in c.rated
                    if r.policy_level == level and lo <= (r.relevance_mean or 0) < hi
                ]
                cells.append(", ".join(ranks) or " ")
            add(f"| {LEVEL_LABELS[level]} | " + " | ".join(cells) + " |")
        add("")
    elif c.recommendations:
        add("_No recommendation of this challenge has been rated yet._\n")
    else:
        add("_No contributions of this challenge have been clustered into recommendations yet._\n")
    for category in c.categories:
        if not category.recommendations:
            continue
        add(f"### {md_escape(category.name)}\n")
        for rec in category.recommendations:
            _recommendation(add, rec)


def _recommendation(add, rec: Recommendation) -> None:  # type: ignore[no-untyped-def]
    add(f"#### {rec.rank}. {md_escape(rec.title)} — {rec.level_label}\n")
    if rec.description:
        add(md_escape(rec.description) + "\n")
    if rec.rated:
        add(
            f"- Relevance: **{fmt_num(rec.relevance_mean)}** "
            f"(median {fmt_num(rec.relevance_median)})"
        )
    else:
        add("- Relevance: not rated yet")
    add(f"- Agreement: {fmt_pct(rec.agreement)}")
    add(f"- Policy level: {level_distribution(rec)}")
    add(f"- Ratings: {rec.ratings}\n")
    if rec.minority_view:
        add(f"> **Participants disagreed strongly.** {rec.minority_view}\n")
    if rec.level_note:
        add(f"> {rec.level_note}\n")
    if rec.contributions:
        add(f"Contributions behind it ({rec.contribution_count}):\n")
        for item in rec.sources_shown:
            add(f"- {_item(item)}")
            for d in item.duplicates:
                add(f"  - *Merged duplicate:* {_item(d)}")
        if rec.sources_more:
            add(f"\n*{more_sources(rec)}*")
        add("")


def _item(item: ContributionItem) -> str:
    text = md_escape(item.text)
    return f"{text} — *{md_escape(item.author)}*" if item.author else text
