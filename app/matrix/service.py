"""Ratings and the relevance × policy-level matrix computed from them."""

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.clustering.models import Cluster
from app.clustering.service import get_cluster, list_clusters
from app.errors import Forbidden
from app.i18n import N_, _
from app.live.service import record_event
from app.matrix.models import Rating, RatingIn
from app.models_base import utcnow
from app.sessions.auth import Actor, require_participant
from app.sessions.models import Challenge, WorkshopSession
from app.sessions.service import list_challenges, list_participants, require_phase
from app.vocabulary import POLICY_LEVELS, is_contested

# Translators: %(phase)s is a phase inside a sentence (“set-up”, “clustering”, …).
SCORING = N_(
    "Scoring is only possible during the scoring phase; the session is in the %(phase)s phase."
)

# Population standard deviation of scores on a 1–5 scale is at most 2 (half the votes at
# each end), so agreement = 1 − sd / 2 runs from 0 (a split room) to 1 (everyone agrees).
MAX_SD = 2.0


def rate(db: Session, actor: Actor, cluster_id: int, data: RatingIn) -> Rating:
    """Store this participant's score of a cluster, replacing an earlier one.

    One statement inserts or replaces (an upsert on the one-rating-per-person-and-cluster
    constraint), so simultaneous first ratings by one person — a double tap, a retry, two
    tabs — end as one rating and never as a unique-constraint error.
    """
    require_participant(actor)
    session = actor.session
    cluster = get_cluster(db, session, cluster_id)
    require_phase(session, ["scoring"], SCORING)
    now = utcnow()
    insert = postgresql_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Rating).values(
        session_id=session.id,
        cluster_id=cluster.id,
        participant_id=actor.participant_id,
        relevance=data.relevance,
        policy_level=data.policy_level.value,
        created_at=now,
        updated_at=now,
    )
    db.execute(
        statement.on_conflict_do_update(
            index_elements=["cluster_id", "participant_id"],
            set_={
                "relevance": statement.excluded.relevance,
                "policy_level": statement.excluded.policy_level,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )
    rating = db.exec(
        select(Rating)
        .where(Rating.cluster_id == cluster.id, Rating.participant_id == actor.participant_id)
        .execution_options(populate_existing=True)
    ).one()
    record_event(
        db, session, "rating_changed", cluster_id=cluster.id, challenge_id=cluster.challenge_id
    )
    return rating


# --- who may see the results ----------------------------------------------------------------


def results_visible(session: WorkshopSession, actor: Actor | None = None) -> bool:
    """Whether the aggregated scores (matrix, ranking) may be shown: always to the
    facilitator; to participants and the room (`actor` None: the projector) once the
    facilitator has revealed them, or in the report phase. Live results would bias those
    who have not scored yet. The one rule for pages, the API and live fragments."""
    if actor is not None and actor.is_facilitator:
        return True
    return session.results_revealed or session.phase == "report"


def require_results(actor: Actor) -> None:
    """Refuse the aggregated scores to a participant until they are revealed."""
    if not results_visible(actor.session, actor):
        raise Forbidden(
            _(
                "The results are hidden until the facilitator reveals them, so that scores "
                "given later are not swayed by earlier ones."
            )
        )


def my_ratings(db: Session, actor: Actor) -> dict[int, Rating]:
    """Cluster id → this participant's rating."""
    if actor.participant is None:
        return {}
    ratings = db.exec(select(Rating).where(Rating.participant_id == actor.participant_id))
    return {r.cluster_id: r for r in ratings}


def list_ratings(db: Session, session: WorkshopSession) -> list[Rating]:
    """Every rating of the session."""
    return list(
        db.exec(select(Rating).where(Rating.session_id == session.id).order_by(col(Rating.id)))
    )


@dataclass
class MatrixRow:
    id: int
    challenge_id: int
    title: str
    category: str
    description: str
    ratings: int
    relevance_mean: float | None
    relevance_median: float | None
    relevance_sd: float | None
    policy_levels: dict[str, int]
    policy_level: str | None
    agreement: float | None
    rank: int
    relevance_counts: dict[int, int] = field(default_factory=dict)

    @property
    def contested(self) -> bool:
        """Scores split strongly enough that the report names a minority view."""
        return is_contested(self.agreement, self.ratings)

    def public(self) -> dict[str, object]:
        """The API shape of a matrix row."""
        data = asdict(self)
        data["relevance_counts"] = {str(k): v for k, v in self.relevance_counts.items()}
        return data


def summarise(cluster: Cluster, ratings: Sequence[Any]) -> MatrixRow:
    """Aggregate one cluster's ratings (rank is filled in by `compute_matrix`)."""
    scores = [r.relevance for r in ratings]
    levels = Counter(r.policy_level for r in ratings)
    level_counts = {level.value: levels.get(level.value, 0) for level in POLICY_LEVELS}
    top_level = None
    if ratings:
        best = max(level_counts.values())
        # POLICY_LEVELS runs from most local to EU, so the first maximum is the more local one.
        top_level = next(level for level, n in level_counts.items() if n == best)
    sd = statistics.pstdev(scores) if scores else None
    return MatrixRow(
        id=cluster.id,  # type: ignore[arg-type]
        challenge_id=cluster.challenge_id,
        title=cluster.title,
        category=cluster.category,
        description=cluster.description,
        ratings=len(scores),
        relevance_mean=statistics.fmean(scores) if scores else None,
        relevance_median=float(statistics.median(scores)) if scores else None,
        relevance_sd=sd,
        policy_levels=level_counts,
        policy_level=top_level,
        agreement=(1 - sd / MAX_SD) if sd is not None else None,
        rank=0,
        relevance_counts={score: scores.count(score) for score in range(1, 6)},
    )


def compute_matrix(db: Session, session: WorkshopSession) -> list[MatrixRow]:
    """Every cluster's aggregated scores, ranked within its challenge."""
    # Plain columns, not Rating objects: loading thousands of ORM objects costs more than
    # the whole aggregation.
    ratings = db.exec(
        select(Rating.cluster_id, Rating.relevance, Rating.policy_level)
        .where(Rating.session_id == session.id)
        .order_by(col(Rating.id))
    ).all()
    return matrix_rows(list_challenges(db, session), list_clusters(db, session), ratings)


def matrix_rows(
    challenges: Sequence[Challenge], clusters: Sequence[Cluster], ratings: Sequence[Any]
) -> list[MatrixRow]:
    """Aggregate ratings (anything with cluster_id, relevance, policy_level) per cluster and
    rank the clusters within their challenge: by mean relevance, then by number of ratings,
    unrated last, then in board order."""
    by_cluster: dict[int, list[Any]] = {}
    for rating in ratings:
        by_cluster.setdefault(rating.cluster_id, []).append(rating)
    challenge_order = {c.id: i for i, c in enumerate(challenges)}
    rows = [summarise(c, by_cluster.get(c.id, [])) for c in clusters]  # type: ignore[arg-type]
    rows.sort(
        key=lambda r: (
            challenge_order.get(r.challenge_id, 0),
            r.relevance_mean is None,
            -(r.relevance_mean or 0.0),
            -r.ratings,
        )
    )
    rank_in_challenge: Counter[int] = Counter()
    for row in rows:
        rank_in_challenge[row.challenge_id] += 1
        row.rank = rank_in_challenge[row.challenge_id]
    return rows


@dataclass
class ScoringProgress:
    challenge_id: int
    title: str
    clusters: int
    participants: int
    participants_done: int
    ratings: int

    @property
    def expected(self) -> int:
        """Ratings needed for every participant to score every cluster of the challenge."""
        return self.clusters * self.participants


def scoring_progress(db: Session, session: WorkshopSession) -> list[ScoringProgress]:
    """Per challenge: ratings given against expected, and who has scored every cluster."""
    participants = [p.id for p in list_participants(db, session)]
    clusters = list_clusters(db, session)
    ratings = list_ratings(db, session)
    progress = []
    for challenge in list_challenges(db, session):
        ids = {c.id for c in clusters if c.challenge_id == challenge.id}
        given = [r for r in ratings if r.cluster_id in ids]
        per_participant = Counter(r.participant_id for r in given)
        done = sum(1 for p in participants if ids and per_participant.get(p or 0, 0) >= len(ids))
        progress.append(
            ScoringProgress(
                challenge_id=challenge.id,  # type: ignore[arg-type]
                title=challenge.title,
                clusters=len(ids),
                participants=len(participants),
                participants_done=done,
                ratings=len(given),
            )
        )
    return progress
