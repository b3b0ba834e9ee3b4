"""What the scoring and matrix screens show, built from the services.

The facilitator's matrix page (`#scoring-progress`, `#matrix-results`), the participant's
scoring cards (`#cluster-N`, `#scoring-progress`), the ranked results (`#results`) and the
projector's live matrix. Live fragments render the same partials from these functions.
"""

from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.clustering.models import Cluster
from app.clustering.service import list_clusters
from app.clustering.views import cluster_overview
from app.matrix import service
from app.matrix.service import MatrixRow
from app.sessions.auth import Actor
from app.sessions.models import Challenge, WorkshopSession
from app.sessions.service import list_challenges
from app.vocabulary import MATRIX_LEVELS, POLICY_LEVELS, RELEVANCE_LABELS, relevance_band

# --- the matrix ------------------------------------------------------------------------------


def challenge_results(rows: list[MatrixRow]) -> dict[str, Any]:
    """One challenge's rated and unrated clusters, and the rated ones placed in the grid of
    policy level × relevance band."""
    rated = [r for r in rows if r.ratings]
    grid: dict[str, dict[int, list[MatrixRow]]] = {
        level: {band: [] for band in range(1, 6)} for level in MATRIX_LEVELS
    }
    for row in rated:
        if row.policy_level in grid and row.relevance_mean is not None:
            grid[row.policy_level][relevance_band(row.relevance_mean)].append(row)
    return {"rated": rated, "unrated": [r for r in rows if not r.ratings], "grid": grid}


def matrix_context(db: Session, session: WorkshopSession) -> dict[str, Any]:
    """The facilitator's matrix page: scoring progress and the ranked matrix of every
    challenge."""
    rows = service.compute_matrix(db, session)
    progress = service.scoring_progress(db, session)
    challenges = []
    for challenge in list_challenges(db, session):
        own = [r for r in rows if r.challenge_id == challenge.id]
        challenges.append({"challenge": challenge, **challenge_results(own)})
    return {
        **reveal_context(session),
        "session": session,
        "nav_active": "matrix",
        "progress": progress,
        "participants": progress[0].participants if progress else 0,
        "challenges": challenges,
        "clusters_total": len(rows),
        "matrix_levels": MATRIX_LEVELS,
        "level_order": POLICY_LEVELS,
        "relevance_labels": RELEVANCE_LABELS,
    }


# --- the projector: the top recommendations, a few at a time ---------------------------------

# Per challenge, the projector pages through the best-ranked rated clusters, this many to a
# slide (read from the back of the room: a few lines of large type each).
PROJECTOR_TOP = 6
PROJECTOR_PER_SLIDE = 3


@dataclass
class ResultSlide:
    """One page of the projector's results: a few ranked clusters of one challenge, or
    (`grid` set) the challenge's relevance × policy-level matrix by rank number."""

    key: str
    challenge: Challenge
    rows: list[MatrixRow]
    rated: int
    grid: dict[str, dict[int, list[MatrixRow]]] | None = None
    number: int = 0
    total: int = 0


def projector_slides(db: Session, session: WorkshopSession) -> list[ResultSlide]:
    """The projector's results, challenge by challenge: the top rated clusters, a few to a
    slide, then the matrix; a challenge with nothing rated yet has one slide that says so."""
    rows = service.compute_matrix(db, session)
    slides: list[ResultSlide] = []
    for challenge in list_challenges(db, session):
        rated = [r for r in rows if r.challenge_id == challenge.id and r.ratings]
        top = rated[:PROJECTOR_TOP]
        chunks = [
            top[i : i + PROJECTOR_PER_SLIDE] for i in range(0, len(top), PROJECTOR_PER_SLIDE)
        ] or [[]]
        for page, chunk in enumerate(chunks):
            slides.append(ResultSlide(f"c{challenge.id}-{page}", challenge, chunk, len(rated)))
        if rated:
            grid = challenge_results(rated)["grid"]
            slides.append(ResultSlide(f"c{challenge.id}-matrix", challenge, [], len(rated), grid))
    for number, slide in enumerate(slides, start=1):
        slide.number, slide.total = number, len(slides)
    return slides


# --- results (participants in the report phase, projector) -----------------------------------


@dataclass
class ChallengeResults:
    challenge: Challenge
    rows: list[MatrixRow]


def results_context(
    db: Session, session: WorkshopSession, actor: Actor | None = None
) -> dict[str, Any]:
    """Partial `participant/_results.html`: the ranked matrix rows per challenge, for `actor`
    (None: any participant, the room); nothing until the results may be shown to them."""
    visible = service.results_visible(session, actor)
    rows = service.compute_matrix(db, session) if visible else []
    return {
        "session": session,
        "results_visible": visible,
        "results": [
            ChallengeResults(c, [r for r in rows if r.challenge_id == c.id])
            for c in list_challenges(db, session)
        ]
        if visible
        else [],
    }


def reveal_context(session: WorkshopSession) -> dict[str, Any]:
    """Partial `matrix/_reveal.html` (#results-reveal): whether the room and the
    participants see the results, and the facilitator's button to change it."""
    return {
        "session": session,
        "results_shown": service.results_visible(session),
        "always_shown": session.phase == "report",
    }


# --- participant: scoring, one proposed solution at a time ----------------------------------


@dataclass
class ScoreCard:
    """One cluster to score, with the saved rating and what was last submitted, and where it
    stands in the participant's run through every cluster ("3 of 9")."""

    cluster: Cluster
    size: int
    texts: list[str]
    relevance: int | None = None
    policy_level: str | None = None
    saved_relevance: int | None = None
    saved_level: str | None = None
    error: str | None = None
    error_field: str | None = None
    just_saved: bool = False
    challenge: Challenge | None = None
    position: int = 0
    total: int = 0
    previous_id: int | None = None
    next_id: int | None = None

    @property
    def saved(self) -> bool:
        return self.saved_relevance is not None


@dataclass
class ChallengeScoring:
    challenge: Challenge
    cards: list[ScoreCard]


@dataclass
class SavedNote:
    """The score just saved, said once on the next screen."""

    title: str
    relevance: int
    level: str


def scoring_progress_context(db: Session, actor: Actor) -> dict[str, Any]:
    """Partial `participant/_scoring_progress.html` (#scoring-progress): n of N scored."""
    clusters = list_clusters(db, actor.session)
    mine = service.my_ratings(db, actor)
    return {
        "scored": sum(1 for c in clusters if c.id in mine),
        "to_score": len(clusters),
    }


def score_cards(db: Session, actor: Actor) -> list[ChallengeScoring]:
    """Every cluster of every challenge in board order, each with this participant's score
    and its place in the run (position, previous and next cluster)."""
    ratings = service.my_ratings(db, actor)
    groups = []
    for group in cluster_overview(db, actor.session, with_texts=True):
        cards = []
        for summary in group.clusters:
            rating = ratings.get(summary.cluster.id)  # type: ignore[arg-type]
            cards.append(
                ScoreCard(
                    cluster=summary.cluster,
                    size=summary.size,
                    texts=summary.texts,
                    relevance=rating.relevance if rating else None,
                    policy_level=rating.policy_level if rating else None,
                    saved_relevance=rating.relevance if rating else None,
                    saved_level=rating.policy_level if rating else None,
                    challenge=group.challenge,
                )
            )
        groups.append(ChallengeScoring(group.challenge, cards))
    run = [card for group in groups for card in group.cards]
    for index, card in enumerate(run):
        card.position, card.total = index + 1, len(run)
        card.previous_id = run[index - 1].cluster.id if index > 0 else None
        card.next_id = run[index + 1].cluster.id if index + 1 < len(run) else None
    return groups


def next_to_score(groups: list[ChallengeScoring], after: int | None = None) -> int | None:
    """The first cluster not scored yet after cluster `after` (from the start when none is
    left after it, or when `after` is None); None when every cluster is scored."""
    run = [card for group in groups for card in group.cards]
    start = next((i + 1 for i, c in enumerate(run) if c.cluster.id == after), 0)
    for card in run[start:] + run[:start]:
        if not card.saved:
            return card.cluster.id
    return None


def scoring_context(
    db: Session,
    actor: Actor,
    *,
    cluster_id: int | None = None,
    summary: bool = False,
    override: ScoreCard | None = None,
    saved_note: SavedNote | None = None,
) -> dict[str, Any]:
    """The scoring region: one cluster to score (`cluster_id`, else the first not scored
    yet), or the summary of every score (asked for, or when everything is scored)."""
    groups = score_cards(db, actor)
    run = [card for group in groups for card in group.cards]
    if override is not None:
        cluster_id = override.cluster.id
    card = None
    if not summary:
        # A cluster that is not (or no longer) there: the first one not scored yet.
        card = next((c for c in run if c.cluster.id == cluster_id), None)
        if card is None:
            wanted = next_to_score(groups)
            card = next((c for c in run if c.cluster.id == wanted), None)
    if card is not None and override is not None:
        for name in ("relevance", "policy_level", "error", "error_field"):
            setattr(card, name, getattr(override, name))
    return {
        "scoring_groups": groups,
        "card": card,
        "scoring_summary": card is None and bool(run),
        "saved_note": saved_note,
        "first_cluster_id": run[0].cluster.id if run else None,
        **scoring_progress_context(db, actor),
    }


def score_card(db: Session, actor: Actor, cluster: Cluster) -> ScoreCard:
    """Partial `participant/_score_card.html` (#cluster-<id>) for one cluster."""
    cards = (c for g in score_cards(db, actor) for c in g.cards)
    return next((c for c in cards if c.cluster.id == cluster.id), ScoreCard(cluster, 0, []))


def saved_note(db: Session, actor: Actor, cluster_id: int | None) -> SavedNote | None:
    """What the participant just saved for cluster `cluster_id`, if it is theirs to say."""
    if cluster_id is None:
        return None
    rating = service.my_ratings(db, actor).get(cluster_id)
    cluster = db.get(Cluster, cluster_id)
    if rating is None or cluster is None or cluster.session_id != actor.session.id:
        return None
    return SavedNote(cluster.title, rating.relevance, rating.policy_level)
