"""The report as Markdown (CommonMark with GitHub tables)."""

from app.i18n import _, format_integer, ngettext
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


def md_escape(text: str) -> str:
    """Text that Markdown shows as written (no accidental emphasis, links or tables)."""
    text = " ".join(text.split())
    for char in "\\`*_[]<>|#":
        text = text.replace(char, "\\" + char)
    return text


def _challenge_heading(c: ChallengeSection) -> str:
    return _("Challenge %(number)s: %(title)s", number=c.number, title=md_escape(c.title))


def render_markdown(report: Report) -> str:
    """The whole report as one Markdown document."""
    out: list[str] = []
    add = out.append
    p = report.participation
    add(f"# {md_escape(report.title)}\n")
    add("**" + _("Policy lab report — prioritised policy recommendations") + "**\n")
    add("- **" + _("Date:") + f"** {md_escape(report.date_label)}")
    if report.place:
        add("- **" + _("Place:") + f"** {md_escape(report.place)}")
    if report.organiser:
        add("- **" + _("Organiser:") + f"** {md_escape(report.organiser)}")
    figures = " · ".join(
        (
            ngettext("%(num)s participant", "%(num)s participants", p.participants),
            ngettext("%(num)s contribution", "%(num)s contributions", p.contributions),
            ngettext("%(num)s recommendation", "%(num)s recommendations", p.clusters),
            ngettext("%(num)s rating", "%(num)s ratings", p.ratings),
        )
    )
    add("- **" + _("Participation:") + f"** {figures}")
    add(
        ("- **" + _("Session:") + "** ")
        + _("%(code)s, generated %(when)s", code=report.code, when=report.generated_label)
        + "\n"
    )
    if report.status_note:
        add(f"> **{report.status_note}**\n")

    add("## " + _("Executive summary") + "\n")
    if not report.has_ratings:
        add(
            _("Nothing has been rated yet, so there are no prioritised recommendations so far.")
            + "\n"
        )
    for c in report.challenges:
        add(f"### {_challenge_heading(c)}\n")
        if not c.top:
            add("_" + _("Nothing rated yet.") + "_\n")
            continue
        for i, rec in enumerate(c.top, start=1):
            contested = f" — *{contested_label()}*" if rec.contested else ""
            figures = _(
                "relevance %(mean)s · agreement %(agreement)s",
                mean=fmt_num(rec.relevance_mean),
                agreement=fmt_pct(rec.agreement),
            )
            add(f"{i}. **{md_escape(rec.title)}** — {rec.level_label}; {figures}{contested}")
        add("")

    add("## " + _("Methodology") + "\n")
    for paragraph in methodology(report):
        add(paragraph + "\n")
    headers = (_("Challenge"), _("Contributions"), _("Recommendations"), _("Ratings"))
    add("| " + " | ".join(headers) + " |")
    add("| --- | ---: | ---: | ---: |")
    for f in p.per_challenge:
        add(
            f"| {md_escape(f.title)} | {format_integer(f.contributions)} | "
            f"{format_integer(f.clusters)} | {format_integer(f.ratings)} |"
        )
    add(
        "| **"
        + _("All challenges")
        + f"** | **{format_integer(p.contributions)}** | "
        + f"**{format_integer(p.clusters)}** | **{format_integer(p.ratings)}** |\n"
    )

    for c in report.challenges:
        _challenge(add, c)

    add("## " + _("Appendix: all contributions") + "\n")
    if not report.contributions:
        add(_("No contributions have been collected yet.") + "\n")
    recs = {r.id: r for r in report.recommendations}
    numbers = {item.id: item.number for item in report.contributions}
    for c in report.challenges:
        if not c.contributions:
            continue
        add(f"### {_challenge_heading(c)}\n")
        header = ("| # | " + _("Contribution") + (" | " + _("Recommendation") + " |")) + (
            (" " + _("Author") + " |") if report.show_names else ""
        )
        add(header)
        add("| ---: | --- | --- |" + (" --- |" if report.show_names else ""))
        for item in c.contributions:
            home = recs.get(item.cluster_id or 0)
            where = (
                f"{home.label} {md_escape(home.title)}"
                if home
                else ("*" + _("not clustered") + "*")
            )
            text = md_escape(item.text)
            if item.duplicate_of_id:
                duplicate = _(
                    "(duplicate of #%(number)s)", number=numbers.get(item.duplicate_of_id, "?")
                )
                text += f" *{duplicate}*"
            row = f"| {item.number} | {text} | {where} |"
            if report.show_names:
                row += f" {md_escape(item.author or '')} |"
            add(row)
        add("")
    return "\n".join(out).rstrip() + "\n"


def matrix_table(c: ChallengeSection) -> list[str]:
    """The challenge's matrix as a Markdown table: a row per policy level, a column per
    relevance band (`Recommendation.band`, as on the matrix page), ranks in the cells."""
    lines = [
        ("| " + _("Policy level") + " | ")
        + " | ".join(f"{score} {RELEVANCE_LABELS[score]}" for score in RELEVANCE_SCORES)
        + " |",
        "| --- |" + " :---: |" * len(RELEVANCE_SCORES),
    ]
    for row in c.matrix:
        cells = [", ".join(str(rec.rank) for rec in cell) or " " for cell in row.cells]
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return lines


def _challenge(add, c: ChallengeSection) -> None:  # type: ignore[no-untyped-def]
    add(f"## {_challenge_heading(c)}\n")
    if c.description:
        add(f"> {md_escape(c.description)}\n")
    if c.questions:
        add(_("Guiding questions:") + "\n")
        for q in c.questions:
            add(f"- {md_escape(q)}")
        add("")
    add(
        " · ".join(
            (
                ngettext("%(num)s contribution", "%(num)s contributions", c.contribution_count),
                ngettext(
                    "%(num)s recommendation", "%(num)s recommendations", len(c.recommendations)
                ),
                ngettext("%(num)s rating", "%(num)s ratings", c.rating_count),
            )
        )
        + "\n"
    )
    if c.rated:
        intro = _(
            "Matrix (ranks by most chosen policy level and mean relevance, rounded to a whole "
            "score):"
        )
        add(f"**{intro}**\n")
        for line in matrix_table(c):
            add(line)
        add("")
        add(_("Key:") + "\n")
        for rec in c.rated:
            contested = f" ({contested_label()})" if rec.contested else ""
            add(f"- **{rec.rank}** {md_escape(rec.title)}{contested}")
        add("")
    elif c.recommendations:
        add("_" + _("No recommendation of this challenge has been rated yet.") + "_\n")
    else:
        no_clusters = _(
            "No contributions of this challenge have been clustered into recommendations yet."
        )
        add(f"_{no_clusters}_\n")
    for category in c.categories:
        if not category.recommendations:
            continue
        add(f"### {md_escape(category.name)}\n")
        for rec in category.recommendations:
            _recommendation(add, rec)


def _recommendation(add, rec: Recommendation) -> None:  # type: ignore[no-untyped-def]
    contested = f" — {contested_label()}" if rec.contested else ""
    add(f"#### {rec.rank}. {md_escape(rec.title)} — {rec.level_label}{contested}\n")
    if rec.description:
        add(md_escape(rec.description) + "\n")
    if rec.rated:
        relevance = _(
            "**%(mean)s** (median %(median)s)",
            mean=fmt_num(rec.relevance_mean),
            median=fmt_num(rec.relevance_median),
        )
    else:
        relevance = _("not rated yet")
    add("- " + _("Relevance:") + f" {relevance}")
    add("- " + _("Agreement:") + f" {fmt_pct(rec.agreement)}")
    add("- " + _("Policy level:") + f" {level_distribution(rec)}")
    add("- " + _("Ratings:") + f" {format_integer(rec.ratings)}\n")
    if rec.minority_view:
        heading = _("%(contested)s: participants disagreed strongly.", contested=contested_label())
        add(f"> **{heading}** {rec.minority_view}\n")
    if rec.level_note:
        add(f"> {rec.level_note}\n")
    if rec.contributions:
        add(_("Contributions behind it (%(count)s):", count=rec.contribution_count) + "\n")
        for item in rec.sources_shown:
            add(f"- {_item(item)}")
            for d in item.duplicates:
                add("  - *" + _("Merged duplicate:") + f"* {_item(d)}")
        if rec.sources_more:
            add(f"\n*{more_sources(rec)}*")
        add("")


def _item(item: ContributionItem) -> str:
    text = md_escape(item.text)
    return f"{text} — *{md_escape(item.author)}*" if item.author else text
