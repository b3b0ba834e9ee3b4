"""The report model: one set of dataclasses, built once, that every export format renders.

Nothing in here knows about a file format. Participant names are copied into the model only
when the facilitator turned names on for the session, so no renderer can leak them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, col, select

from app.clustering.models import Cluster
from app.clustering.service import list_clusters
from app.i18n import (
    N_,
    NO_VALUE,
    _,
    format_date,
    format_integer,
    format_number,
    format_pct,
    format_time,
    ngettext,
)
from app.limits import xml_safe
from app.matrix.models import Rating
from app.matrix.service import MAX_SD, MatrixRow, matrix_rows
from app.models_base import utcnow
from app.sessions.models import Contribution, Participant, WorkshopSession
from app.sessions.service import list_challenges, list_contributions
from app.vocabulary import (
    CONTESTED_BELOW,
    CONTESTED_MIN_RATINGS,
    LEVEL_LABELS,
    MATRIX_LEVELS,
    POLICY_LEVELS,
    RELEVANCE_SCORES,
    contested_label,
    level_label,
    phase_name,
    relevance_band,
)

TOP_PER_CHALLENGE = 3
# A recommendation lists this many of its contributions in full; the others are named by
# their number in the appendix, which lists every contribution.
SOURCES_SHOWN = 6
# Translators: the heading of recommendations filed under no category.
UNCATEGORISED = N_("Uncategorised")
# Translators: the author of a contribution the facilitator wrote (reports with names).
FACILITATOR_AUTHOR = N_("Facilitator")


@dataclass(slots=True)
class ContributionItem:
    """One contribution as the report shows it; merged duplicates hang under their original."""

    id: int
    number: int
    challenge_id: int
    text: str
    cluster_id: int | None
    participant_id: int | None
    author: str | None
    duplicate_of_id: int | None
    position: int
    created_at: datetime
    duplicates: list[ContributionItem] = field(default_factory=list)


@dataclass(slots=True)
class Recommendation:
    """A cluster with its scores: one proposed policy solution."""

    id: int
    challenge_id: int
    challenge_number: int
    rank: int
    title: str
    description: str
    category: str
    position: int
    ratings: int
    relevance_mean: float | None
    relevance_median: float | None
    relevance_sd: float | None
    agreement: float | None
    policy_levels: dict[str, int]
    policy_level: str | None
    relevance_counts: dict[int, int]
    contested: bool
    minority_view: str | None
    level_note: str | None
    contributions: list[ContributionItem]
    contribution_count: int
    origin: str
    edited: bool | None
    suggested_title: str | None
    suggested_contribution_ids: list[int] | None
    accepted_at: datetime | None

    @property
    def label(self) -> str:
        """Short reference used in the chart and the appendix, e.g. “2.3”."""
        return f"{self.challenge_number}.{self.rank}"

    @property
    def level_label(self) -> str:
        return level_label(self.policy_level)

    @property
    def rated(self) -> bool:
        return self.ratings > 0

    @property
    def origin_label(self) -> str:
        """Who made the cluster, as the exports say it."""
        if self.origin == "manual":
            return _("By hand")
        if self.edited or self.origin == "edited":
            return _("Suggested, then edited")
        return _("Suggested by the assistant")

    @property
    def band(self) -> int | None:
        """The matrix column (1–5) of its mean relevance (`vocabulary.relevance_band`), or
        None when not rated: the same column in every format."""
        if not self.rated or self.relevance_mean is None:
            return None
        return relevance_band(self.relevance_mean)

    @property
    def sources_shown(self) -> list[ContributionItem]:
        """The contributions printed under the recommendation."""
        return self.contributions[:SOURCES_SHOWN]

    @property
    def sources_more(self) -> list[ContributionItem]:
        """The others (with their duplicates), referred to by number."""
        more: list[ContributionItem] = []
        for item in self.contributions[SOURCES_SHOWN:]:
            more.append(item)
            more.extend(item.duplicates)
        return more

    @property
    def contribution_ids(self) -> list[int]:
        """Ids of every contribution in the cluster, duplicates after their original."""
        ids: list[int] = []
        for item in self.contributions:
            ids.append(item.id)
            ids.extend(d.id for d in item.duplicates)
        return ids


@dataclass(slots=True)
class CategorySection:
    name: str
    recommendations: list[Recommendation]


@dataclass(slots=True)
class ChallengeSection:
    id: int
    number: int
    position: int
    title: str
    description: str
    questions: list[str]
    recommendations: list[Recommendation]
    categories: list[CategorySection]
    contributions: list[ContributionItem]
    unclustered: list[ContributionItem]
    contribution_count: int
    rating_count: int

    @property
    def rated(self) -> list[Recommendation]:
        return [r for r in self.recommendations if r.rated]

    @property
    def top(self) -> list[Recommendation]:
        """The best-ranked rated recommendations, for the executive summary."""
        return self.rated[:TOP_PER_CHALLENGE]

    @property
    def unrated_count(self) -> int:
        return sum(1 for r in self.recommendations if not r.rated)

    @property
    def matrix(self) -> list[MatrixRowCells]:
        """The rated recommendations placed in the matrix: a row per policy level (EU at the
        top), a cell per relevance band 1–5 (`Recommendation.band`), ranks in each cell. The
        web matrix, the chart's table and every export place a recommendation this way."""
        rows = []
        for level in MATRIX_LEVELS:
            cells: list[list[Recommendation]] = [[] for _score in RELEVANCE_SCORES]
            for rec in self.rated:
                if rec.policy_level == level and rec.band is not None:
                    cells[rec.band - 1].append(rec)
            rows.append(MatrixRowCells(level, cells))
        return rows


@dataclass(slots=True)
class MatrixRowCells:
    """One policy level's row of the matrix: the recommendations of each relevance band."""

    level: str
    cells: list[list[Recommendation]]

    @property
    def label(self) -> str:
        return LEVEL_LABELS[self.level]


@dataclass(slots=True)
class ParticipantItem:
    id: int
    number: int
    name: str | None
    joined_at: datetime


@dataclass(slots=True)
class RatingItem:
    cluster_id: int
    participant_id: int
    participant_number: int
    relevance: int
    policy_level: str


@dataclass(slots=True)
class ChallengeFigures:
    title: str
    contributions: int
    clusters: int
    ratings: int


@dataclass(slots=True)
class Participation:
    participants: int
    contributors: int
    raters: int
    contributions: int
    duplicates: int
    clustered: int
    unclustered: int
    clusters: int
    rated_clusters: int
    ratings: int
    per_challenge: list[ChallengeFigures]


@dataclass(slots=True)
class Provenance:
    """Who made the clusters: the facilitator by hand, or the tool's suggestions."""

    clusters: int
    manual: int
    suggested: int
    suggested_edited: int

    @property
    def suggested_unchanged(self) -> int:
        return self.suggested - self.suggested_edited


@dataclass(slots=True)
class Report:
    code: str
    title: str
    phase: str
    lab_date: str
    place: str
    organiser: str
    show_names: bool
    show_contributions: bool
    categories: list[str]
    created_at: datetime
    generated_at: datetime
    challenges: list[ChallengeSection]
    participants: list[ParticipantItem]
    ratings: list[RatingItem]
    participation: Participation
    provenance: Provenance

    @property
    def phase_label(self) -> str:
        return phase_name(self.phase)

    @property
    def is_final(self) -> bool:
        return self.phase == "report"

    @property
    def has_ratings(self) -> bool:
        return self.participation.ratings > 0

    @property
    def recommendations(self) -> list[Recommendation]:
        return [r for c in self.challenges for r in c.recommendations]

    @property
    def contributions(self) -> list[ContributionItem]:
        """Every contribution (duplicates included), by challenge, in writing order."""
        return [item for c in self.challenges for item in c.contributions]

    @property
    def status_note(self) -> str | None:
        """Said on the title page when the workshop is still running."""
        if self.is_final:
            return None
        return _(
            "Provisional: exported during the %(phase)s phase. Figures may still change.",
            phase=self.phase_label,
        )

    @property
    def date_label(self) -> str:
        return self.lab_date or format_date(self.created_at)

    @property
    def generated_label(self) -> str:
        """When the file was made, in the report's language (times are UTC)."""
        return _(
            "%(date)s, %(time)s UTC",
            date=format_date(self.generated_at),
            time=format_time(self.generated_at),
        )


# --- building -----------------------------------------------------------------------------


def minority_view(row: MatrixRow) -> str | None:
    """A sentence naming the minority when participants disagreed strongly."""
    if not row.contested:
        return None
    counts = row.relevance_counts
    low = counts.get(1, 0) + counts.get(2, 0)
    high = counts.get(4, 0) + counts.get(5, 0)
    if low <= high:
        return ngettext(
            "Minority view: %(low)s of %(num)s participant rated this of low relevance (1–2), "
            "while %(high)s rated it high (4–5).",
            "Minority view: %(low)s of %(num)s participants rated this of low relevance (1–2), "
            "while %(high)s rated it high (4–5).",
            row.ratings,
            low=low,
            high=high,
        )
    return ngettext(
        "Minority view: %(high)s of %(num)s participant rated this highly relevant (4–5), "
        "while %(low)s rated it low (1–2).",
        "Minority view: %(high)s of %(num)s participants rated this highly relevant (4–5), "
        "while %(low)s rated it low (1–2).",
        row.ratings,
        low=low,
        high=high,
    )


def level_note(row: MatrixRow) -> str | None:
    """A sentence when no policy level won a majority of three or more ratings."""
    if row.ratings < 3 or row.policy_level is None:
        return None
    if row.policy_levels[row.policy_level] * 2 > row.ratings:
        return None
    split = ", ".join(
        f"{LEVEL_LABELS[level]} {row.policy_levels[level]}"
        for level in reversed(POLICY_LEVELS)
        if row.policy_levels[level]
    )
    return _(
        "No majority on the policy level (%(split)s); the more local level wins a tie.",
        split=split,
    )


def _is_edited(cluster: Cluster) -> bool | None:
    """Whether a cluster accepted from the assistant was rebuilt since (the rule:
    `app.clustering.service.mark_edited`); None for a cluster made by hand."""
    if cluster.origin == "manual":
        return None
    return cluster.origin == "edited"


def _contribution_items(
    contributions: list[Contribution], authors: dict[int, str] | None
) -> dict[int, ContributionItem]:
    items: dict[int, ContributionItem] = {}
    for number, c in enumerate(contributions, start=1):
        author = None
        if authors is not None:
            author = (
                _(FACILITATOR_AUTHOR)
                if c.participant_id is None
                else authors.get(c.participant_id, _("Participant"))
            )
        items[c.id] = ContributionItem(  # type: ignore[index]
            id=c.id,  # type: ignore[arg-type]
            number=number,
            challenge_id=c.challenge_id,
            text=c.text,
            cluster_id=c.cluster_id,
            participant_id=c.participant_id,
            author=author,
            duplicate_of_id=c.duplicate_of_id,
            position=c.position,
            created_at=c.created_at,
        )
    return items


def _nest_duplicates(items: list[ContributionItem]) -> list[ContributionItem]:
    """Originals in order; each duplicate listed under its original when both are here."""
    for item in items:
        item.duplicates = []
    present = {item.id: item for item in items}
    top: list[ContributionItem] = []
    for item in items:
        original = present.get(item.duplicate_of_id) if item.duplicate_of_id else None
        if original is not None and original is not item:
            original.duplicates.append(item)
        else:
            top.append(item)
    return top


def build_report(db: Session, session: WorkshopSession) -> Report:
    """Gather everything about `session` into one `Report`, in any phase."""
    challenges = list_challenges(db, session)
    contributions = list_contributions(db, session)
    participants = list(
        db.exec(
            select(Participant)
            .where(Participant.session_id == session.id)
            .order_by(col(Participant.id))
        )
    )
    clusters = {c.id: c for c in list_clusters(db, session)}
    rating_rows = db.exec(
        select(Rating.cluster_id, Rating.participant_id, Rating.relevance, Rating.policy_level)
        .where(Rating.session_id == session.id)
        .order_by(col(Rating.id))
    ).all()
    rows = matrix_rows(challenges, list(clusters.values()), rating_rows)

    numbers = {p.id: i for i, p in enumerate(participants, start=1)}
    authors: dict[int, str] | None = (
        {p.id: (p.name or _("Participant %(number)s", number=numbers[p.id])) for p in participants}  # type: ignore[misc]
        if session.show_names
        else None
    )
    items = _contribution_items(contributions, authors)
    by_cluster: dict[int, list[ContributionItem]] = {}
    by_challenge: dict[int, list[ContributionItem]] = {}
    for item in items.values():
        by_challenge.setdefault(item.challenge_id, []).append(item)
        if item.cluster_id is not None:
            by_cluster.setdefault(item.cluster_id, []).append(item)

    challenge_numbers = {c.id: i for i, c in enumerate(challenges, start=1)}
    recommendations: dict[int, list[Recommendation]] = {}
    for row in rows:
        cluster = clusters[row.id]
        members = sorted(by_cluster.get(row.id, []), key=lambda i: (i.position, i.id))
        recommendations.setdefault(row.challenge_id, []).append(
            Recommendation(
                id=row.id,
                challenge_id=row.challenge_id,
                challenge_number=challenge_numbers.get(row.challenge_id, 0),
                rank=row.rank,
                title=row.title,
                description=row.description,
                category=row.category,
                position=cluster.position,
                ratings=row.ratings,
                relevance_mean=row.relevance_mean,
                relevance_median=row.relevance_median,
                relevance_sd=row.relevance_sd,
                agreement=row.agreement,
                policy_levels=dict(row.policy_levels),
                policy_level=row.policy_level,
                relevance_counts=dict(row.relevance_counts),
                contested=row.contested,
                minority_view=minority_view(row),
                level_note=level_note(row),
                contributions=_nest_duplicates(members),
                contribution_count=len(members),
                origin=cluster.origin,
                edited=_is_edited(cluster),
                suggested_title=cluster.suggested_title,
                suggested_contribution_ids=cluster.suggested_contribution_ids,
                accepted_at=cluster.accepted_at,
            )
        )

    ratings_by_challenge: Counter[int] = Counter()
    for cluster_id, *_rest in rating_rows:
        rated = clusters.get(cluster_id)
        if rated is not None:
            ratings_by_challenge[rated.challenge_id] += 1

    sections: list[ChallengeSection] = []
    for challenge in challenges:
        ranked = recommendations.get(challenge.id, [])  # type: ignore[arg-type]
        own = by_challenge.get(challenge.id, [])  # type: ignore[arg-type]
        sections.append(
            ChallengeSection(
                id=challenge.id,  # type: ignore[arg-type]
                number=challenge_numbers[challenge.id],
                position=challenge.position,
                title=challenge.title,
                description=challenge.description,
                questions=list(challenge.questions),
                recommendations=ranked,
                categories=_by_category(ranked, session.categories),
                contributions=own,
                unclustered=_nest_duplicates([i for i in own if i.cluster_id is None]),
                contribution_count=len(own),
                rating_count=ratings_by_challenge[challenge.id],  # type: ignore[index]
            )
        )

    all_recs = [r for s in sections for r in s.recommendations]
    suggested = [r for r in all_recs if r.origin in ("suggested", "edited")]
    provenance = Provenance(
        clusters=len(all_recs),
        manual=len(all_recs) - len(suggested),
        suggested=len(suggested),
        suggested_edited=sum(1 for r in suggested if r.edited),
    )
    participation = Participation(
        participants=len(participants),
        contributors=len({c.participant_id for c in contributions if c.participant_id}),
        raters=len({row[1] for row in rating_rows}),
        contributions=len(contributions),
        duplicates=sum(1 for c in contributions if c.duplicate_of_id is not None),
        clustered=sum(1 for c in contributions if c.cluster_id is not None),
        unclustered=sum(1 for c in contributions if c.cluster_id is None),
        clusters=len(all_recs),
        rated_clusters=sum(1 for r in all_recs if r.rated),
        ratings=len(rating_rows),
        per_challenge=[
            ChallengeFigures(s.title, s.contribution_count, len(s.recommendations), s.rating_count)
            for s in sections
        ],
    )
    report = Report(
        code=session.code,
        title=session.title,
        phase=session.phase,
        lab_date=session.lab_date,
        place=session.place,
        organiser=session.organiser,
        show_names=session.show_names,
        show_contributions=session.show_contributions,
        categories=list(session.categories),
        created_at=session.created_at,
        generated_at=utcnow(),
        challenges=sections,
        participants=[
            ParticipantItem(
                id=p.id,  # type: ignore[arg-type]
                number=numbers[p.id],
                name=(p.name or None) if session.show_names else None,
                joined_at=p.created_at,
            )
            for p in participants
        ],
        ratings=[
            RatingItem(
                cluster_id=cluster_id,
                participant_id=participant_id,
                participant_number=numbers.get(participant_id, 0),
                relevance=relevance,
                policy_level=policy_level,
            )
            for cluster_id, participant_id, relevance, policy_level in rating_rows
        ],
        participation=participation,
        provenance=provenance,
    )
    return strip_unwritable(report)


def _by_category(ranked: list[Recommendation], categories: list[str]) -> list[CategorySection]:
    """The session's categories in their order (empty ones too), then any others found."""
    names = list(categories)
    for rec in ranked:
        if rec.category not in names:
            names.append(rec.category)
    return [
        CategorySection(name or _(UNCATEGORISED), [r for r in ranked if r.category == name])
        for name in names
    ]


# --- wording shared by every format --------------------------------------------------------


def agreement_note() -> str:
    """How agreement is computed and when a recommendation is contested (every format)."""
    return _(
        "Agreement is 1 − σ/%(max_sd)s, where σ is the population standard deviation of the "
        "relevance scores. On a 1–5 scale σ is at most 2, so agreement runs from %(none)s (the "
        "room split between 1 and 5) to %(all)s (everyone gave the same score). Below "
        "%(threshold)s, with at least %(min)s ratings, the report marks a recommendation as "
        "“%(contested)s” and names the minority view.",
        max_sd=format_number(MAX_SD, 0),
        none=format_pct(0),
        all=format_pct(1),
        threshold=format_pct(CONTESTED_BELOW),
        min=CONTESTED_MIN_RATINGS,
        contested=contested_label(),
    )


def methodology(report: Report) -> list[str]:
    """The methodology section as paragraphs of plain text."""
    p = report.participation
    prov = report.provenance
    paragraphs = [
        _(
            "The lab followed the policy-lab method in three phases. In the reverse "
            "brainstorm, participants wrote down, per challenge, the gaps in today's policies "
            "and the interventions that are missing. In the clustering phase these "
            "contributions were grouped into an affinity diagram: each cluster of similar "
            "contributions was named as a proposed policy solution and filed under a category. "
            "In the matrix phase every participant scored each proposed solution on its "
            "relevance (1 = not relevant, 5 = essential) and on the policy level it targets: "
            "%(local)s, %(national)s or %(eu)s.",
            local=LEVEL_LABELS["local_regional"],
            national=LEVEL_LABELS["national"],
            eu=LEVEL_LABELS["eu"],
        ),
        _(
            "Relevance is reported as the mean and the median of the scores. The policy level "
            "of a recommendation is the level chosen most often; a tie goes to the more local "
            "level. Within each challenge, recommendations are ranked by mean relevance, then "
            "by the number of ratings. In the matrix, a recommendation sits in the column of "
            "its mean relevance rounded to a whole score (half-way goes up: 2.5 is in column "
            "3), in every format of this report."
        )
        + " "
        + agreement_note(),
        " ".join(
            (
                ngettext(
                    "%(num)s participant joined the lab.",
                    "%(num)s participants joined the lab.",
                    p.participants,
                ),
                ngettext(
                    "%(writers)s of them wrote %(num)s contribution.",
                    "%(writers)s of them wrote %(num)s contributions.",
                    p.contributions,
                    writers=format_integer(p.contributors),
                ),
                ngettext(
                    "%(raters)s gave %(num)s rating of %(clusters)s proposed solutions.",
                    "%(raters)s gave %(num)s ratings of %(clusters)s proposed solutions.",
                    p.ratings,
                    raters=format_integer(p.raters),
                    clusters=format_integer(p.clusters),
                ),
            )
        ),
    ]
    if prov.clusters:
        if prov.suggested:
            paragraphs.append(
                ngettext(
                    "Of the %(num)s cluster, %(suggested)s started as a suggestion made by the "
                    "tool; the facilitator edited %(edited)s of those (title or contributions) "
                    "and created %(manual)s by hand.",
                    "Of the %(num)s clusters, %(suggested)s started as suggestions made by the "
                    "tool; the facilitator edited %(edited)s of those (title or contributions) "
                    "and created %(manual)s by hand.",
                    prov.clusters,
                    suggested=format_integer(prov.suggested),
                    edited=format_integer(prov.suggested_edited),
                    manual=format_integer(prov.manual),
                )
            )
        else:
            paragraphs.append(
                ngettext(
                    "The %(num)s cluster was formed by the facilitator by hand.",
                    "All %(num)s clusters were formed by the facilitator by hand.",
                    prov.clusters,
                )
            )
    if p.duplicates:
        paragraphs.append(
            ngettext(
                "%(num)s contribution saying the same as another was merged as a duplicate; it "
                "is kept in the report under the contribution it repeats.",
                "%(num)s contributions saying the same as another were merged as duplicates; "
                "they are kept in the report under the contribution they repeat.",
                p.duplicates,
            )
        )
    paragraphs.append(
        _("Contributions are shown with their authors' names, as agreed for this lab.")
        if report.show_names
        else _("Contributions and ratings are anonymous: no participant is named in this report.")
    )
    return paragraphs


def yes_no(value: bool) -> str:
    """A yes/no cell of a table, in the report's language."""
    return _("yes") if value else _("no")


def fmt_num(value: float | None, digits: int = 1) -> str:
    """A score for people: one decimal in the report's language, or a dash when none."""
    return format_number(value, digits)


def fmt_pct(value: float | None) -> str:
    """A share (0–1) as a percentage in the report's language, or a dash when none."""
    return format_pct(value)


def more_sources(rec: Recommendation) -> str:
    """“… and 4 more in the appendix: #12, #31, #40, #57.” (empty when all are shown)"""
    more = rec.sources_more
    if not more:
        return ""
    numbers = ", ".join(f"#{item.number}" for item in sorted(more, key=lambda i: i.number))
    return ngettext(
        "… and %(num)s more in the appendix: %(numbers)s.",
        "… and %(num)s more in the appendix: %(numbers)s.",
        len(more),
        numbers=numbers,
    )


def level_distribution(rec: Recommendation) -> str:
    """“EU 5 · National 3 · Local & regional 1”."""
    if not rec.ratings:
        return NO_VALUE
    return " · ".join(
        f"{LEVEL_LABELS[level]} {rec.policy_levels.get(level, 0)}"
        for level in reversed(POLICY_LEVELS)
    )


def strip_unwritable(report: Report) -> Report:
    """The report with every text made writable in every format (`app.limits.xml_safe`):
    text stored before today's input rules, or by hand, may hold control characters that a
    Word or Excel file cannot contain. Changes the report in place; returns it."""
    seen: set[int] = set()
    pending: list[object] = [report]
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        for name in item.__slots__:  # type: ignore[attr-defined]
            value = getattr(item, name)
            if isinstance(value, str):
                setattr(item, name, xml_safe(value))
            elif isinstance(value, list):
                for index, element in enumerate(value):
                    if isinstance(element, str):
                        value[index] = xml_safe(element)
                    elif hasattr(element, "__slots__"):
                        pending.append(element)
            elif hasattr(value, "__slots__"):
                pending.append(value)
    return report
