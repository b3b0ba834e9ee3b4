"""What the session pages show, built from the services.

Each region that other people's actions change (counts, contribution lists, clusters,
scoring progress, results) has a context function here and its own partial template whose
root element carries a stable id, so a live stream can render the same partial and swap it.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlmodel import Session

from app.clustering.models import Cluster
from app.clustering.service import list_clusters, members_by_cluster
from app.config import get_settings
from app.matrix import service as matrix_service
from app.matrix.service import MatrixRow
from app.sessions import service
from app.sessions.api import join_url
from app.sessions.auth import Actor
from app.sessions.models import Challenge, Contribution, WorkshopSession
from app.sessions.qr import qr_svg
from app.vocabulary import PHASES

PROJECTOR_WALL_SIZE = 12


def join_context(request: Request, session: WorkshopSession) -> dict[str, Any]:
    """Join code, link and QR code: nothing secret, nothing user-made but the URL."""
    url = join_url(request, session.code)
    return {"join_url": url, "qr": qr_svg(url, f"QR code to join: {url}")}


def phase_context(session: WorkshopSession) -> dict[str, Any]:
    """The current phase and its neighbours, for steppers and phase buttons."""
    index = PHASES.index(session.phase)  # type: ignore[arg-type]
    return {
        "phase": session.phase,
        "phases": [str(p) for p in PHASES],
        "phase_index": index,
        "next_phase": str(PHASES[index + 1]) if index + 1 < len(PHASES) else None,
    }


# --- facilitator dashboard -------------------------------------------------------------------


@dataclass
class ChallengeActivity:
    challenge: Challenge
    contributions: int
    clusters: int
    ratings: int
    expected: int
    participants_done: int

    @property
    def percent_rated(self) -> int:
        return round(100 * self.ratings / self.expected) if self.expected else 0


def dash_counts_context(db: Session, session: WorkshopSession) -> dict[str, Any]:
    """Partial `facilitator/_dash_counts.html` (#dash-counts): totals and per-challenge work."""
    counts = service.counts(db, session)
    contributions = service.contribution_counts(db, session)
    progress = {p.challenge_id: p for p in matrix_service.scoring_progress(db, session)}
    rows = []
    for challenge in service.list_challenges(db, session):
        p = progress.get(challenge.id)  # type: ignore[arg-type]
        rows.append(
            ChallengeActivity(
                challenge=challenge,
                contributions=contributions.get(challenge.id, 0),  # type: ignore[arg-type]
                clusters=p.clusters if p else 0,
                ratings=p.ratings if p else 0,
                expected=p.expected if p else 0,
                participants_done=p.participants_done if p else 0,
            )
        )
    return {"session": session, "counts": counts, "activity": rows}


# --- clusters forming (participants during clustering, projector) ----------------------------


@dataclass
class ClusterSummary:
    cluster: Cluster
    size: int
    texts: list[str] = field(default_factory=list)


@dataclass
class ChallengeClusters:
    challenge: Challenge
    clusters: list[ClusterSummary]
    unclustered: int


def cluster_overview(
    db: Session, session: WorkshopSession, *, with_texts: bool = False
) -> list[ChallengeClusters]:
    """Per challenge: its clusters with sizes (and member texts, never authors)."""
    members = members_by_cluster(db, session)
    contributions = service.list_contributions(db, session)
    texts = {c.id: c.text for c in contributions} if with_texts else {}
    clusters = list_clusters(db, session)
    overview = []
    for challenge in service.list_challenges(db, session):
        own = [c for c in clusters if c.challenge_id == challenge.id]
        summaries = [
            ClusterSummary(
                cluster=c,
                size=len(members.get(c.id, [])),  # type: ignore[arg-type]
                texts=[texts[i] for i in members.get(c.id, []) if i in texts],  # type: ignore[arg-type]
            )
            for c in own
        ]
        unclustered = sum(
            1 for c in contributions if c.challenge_id == challenge.id and c.cluster_id is None
        )
        overview.append(ChallengeClusters(challenge, summaries, unclustered))
    return overview


def clusters_context(db: Session, session: WorkshopSession) -> dict[str, Any]:
    """Partial `participant/_clusters.html` (#participant-clusters)."""
    return {"session": session, "cluster_groups": cluster_overview(db, session)}


# --- results (participants in the report phase, projector) -----------------------------------


@dataclass
class ChallengeResults:
    challenge: Challenge
    rows: list[MatrixRow]


def results_context(db: Session, session: WorkshopSession) -> dict[str, Any]:
    """Partial `sessions/_results.html`: the ranked matrix rows per challenge."""
    rows = matrix_service.compute_matrix(db, session)
    return {
        "session": session,
        "results": [
            ChallengeResults(c, [r for r in rows if r.challenge_id == c.id])
            for c in service.list_challenges(db, session)
        ],
    }


# --- participant: brainstorm -----------------------------------------------------------------


def others_context(db: Session, actor: Actor, challenge_id: int) -> dict[str, Any]:
    """Partial `participant/_others.html` (#others-<challenge id>): others' contributions,
    newest first, never with names; empty unless the facilitator shares them."""
    visible = service.visible_contributions(db, actor, challenge_id)
    others = [c for c in visible if c.participant_id != actor.participant_id]
    return {
        "session": actor.session,
        "others_challenge_id": challenge_id,
        "others": list(reversed(others)),
    }


@dataclass
class ContributionForm:
    """The new-contribution form: kept as typed when sending fails."""

    text: str = ""
    error: str | None = None
    client_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    just_sent: bool = False
    focus: bool = False


@dataclass
class EditState:
    """A contribution being edited in place."""

    contribution_id: int
    text: str
    error: str | None = None


def brainstorm_context(
    db: Session,
    actor: Actor,
    challenge_id: int | None,
    *,
    form: ContributionForm | None = None,
    editing: EditState | None = None,
    panel_error: str | None = None,
) -> dict[str, Any]:
    """The brainstorm region of the participant page (#phase-content)."""
    session = actor.session
    challenges = service.list_challenges(db, session)
    challenge = next((c for c in challenges if c.id == challenge_id), None) or (
        challenges[0] if challenges else None
    )
    mine: list[Contribution] = []
    if challenge is not None:
        mine = [
            c
            for c in service.list_contributions(db, session, challenge.id)
            if c.participant_id == actor.participant_id
        ]
    settings = get_settings()
    context = {
        "challenge": challenge,
        "my_counts": service.my_contribution_counts(db, actor),
        "mine": list(reversed(mine)),
        "form": form or ContributionForm(),
        "editing": editing,
        "panel_error": panel_error,
        "max_chars": settings.contribution_max_chars,
        "per_challenge_limit": settings.contributions_per_challenge,
    }
    if challenge is not None:
        context.update(others_context(db, actor, challenge.id))  # type: ignore[arg-type]
    return context


# --- participant: scoring --------------------------------------------------------------------


@dataclass
class ScoreCard:
    """One cluster to score, with the saved rating and what was last submitted."""

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

    @property
    def saved(self) -> bool:
        return self.saved_relevance is not None


@dataclass
class ChallengeScoring:
    challenge: Challenge
    cards: list[ScoreCard]


def scoring_progress_context(db: Session, actor: Actor) -> dict[str, Any]:
    """Partial `participant/_scoring_progress.html` (#scoring-progress): n of N scored."""
    clusters = list_clusters(db, actor.session)
    mine = matrix_service.my_ratings(db, actor)
    return {
        "scored": sum(1 for c in clusters if c.id in mine),
        "to_score": len(clusters),
    }


def score_card(db: Session, actor: Actor, cluster: Cluster) -> ScoreCard:
    """Partial `participant/_score_card.html` (#cluster-<id>) for one cluster."""
    overview = cluster_overview(db, actor.session, with_texts=True)
    summary = next(
        (s for group in overview for s in group.clusters if s.cluster.id == cluster.id), None
    )
    rating = matrix_service.my_ratings(db, actor).get(cluster.id)  # type: ignore[arg-type]
    return ScoreCard(
        cluster=cluster,
        size=summary.size if summary else 0,
        texts=summary.texts if summary else [],
        relevance=rating.relevance if rating else None,
        policy_level=rating.policy_level if rating else None,
        saved_relevance=rating.relevance if rating else None,
        saved_level=rating.policy_level if rating else None,
    )


def scoring_context(
    db: Session, actor: Actor, *, override: ScoreCard | None = None
) -> dict[str, Any]:
    """The scoring region: every cluster of every challenge as its own small form."""
    ratings = matrix_service.my_ratings(db, actor)
    groups = []
    for group in cluster_overview(db, actor.session, with_texts=True):
        cards = []
        for summary in group.clusters:
            if override is not None and override.cluster.id == summary.cluster.id:
                cards.append(override)
                continue
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
                )
            )
        groups.append(ChallengeScoring(group.challenge, cards))
    return {"scoring_groups": groups, **scoring_progress_context(db, actor)}


# --- participant page ------------------------------------------------------------------------


def participant_context(
    request: Request,
    db: Session,
    actor: Actor,
    *,
    view_phase: str | None = None,
    challenge_id: int | None = None,
    form: ContributionForm | None = None,
    editing: EditState | None = None,
    panel_error: str | None = None,
    score_override: ScoreCard | None = None,
    name_value: str | None = None,
    name_error: str | None = None,
    name_saved: bool = False,
) -> dict[str, Any]:
    """Everything the participant page shows for the phase it is showing."""
    session = actor.session
    shown = view_phase or session.phase
    context: dict[str, Any] = {
        "session": session,
        "actor": actor,
        "participant": actor.participant,
        "challenges": service.list_challenges(db, session),
        "view_phase": shown,
        "name_value": actor.participant.name if name_value is None else name_value,  # type: ignore[union-attr]
        "name_error": name_error,
        "name_saved": name_saved,
        "name_max": get_settings().name_max_chars,
        **phase_context(session),
    }
    if shown == "brainstorm":
        context.update(
            brainstorm_context(
                db, actor, challenge_id, form=form, editing=editing, panel_error=panel_error
            )
        )
    elif shown == "clustering":
        context.update(clusters_context(db, session))
    elif shown == "scoring":
        context.update(scoring_context(db, actor, override=score_override))
    elif shown == "report":
        context.update(results_context(db, session))
    return context


# --- projector -------------------------------------------------------------------------------


def projector_context(request: Request, db: Session, session: WorkshopSession) -> dict[str, Any]:
    """The projector region (#projector-body): what the room sees in this phase; no secrets
    and no names."""
    context: dict[str, Any] = {
        "session": session,
        "counts": service.counts(db, session),
        "challenges": service.list_challenges(db, session),
        **phase_context(session),
        **join_context(request, session),
    }
    phase = session.phase
    if phase == "brainstorm" and session.show_contributions:
        titles = {c.id: c.title for c in context["challenges"]}
        latest = service.list_contributions(db, session)[-PROJECTOR_WALL_SIZE:]
        context["wall"] = [(c, titles.get(c.challenge_id, "")) for c in reversed(latest)]
    elif phase == "clustering":
        context.update(clusters_context(db, session))
    elif phase == "scoring":
        context["progress"] = dash_counts_context(db, session)["activity"]
    elif phase == "report":
        context.update(results_context(db, session))
    if phase in ("scoring", "report"):
        context.update(projector_matrix_context(db, session))
    return context


def projector_matrix_context(db: Session, session: WorkshopSession) -> dict[str, Any]:
    """The live matrix on the projector (partial `live/_projector_matrix.html`): per challenge,
    the rated clusters placed by policy level × mean relevance, as on the matrix page."""
    from app.matrix.pages import MATRIX_LEVELS, RELEVANCE_LABELS, _challenge_results

    rows = matrix_service.compute_matrix(db, session)
    return {
        "projector_matrix": [
            {"challenge": c, **_challenge_results([r for r in rows if r.challenge_id == c.id])}
            for c in service.list_challenges(db, session)
        ],
        "matrix_levels": MATRIX_LEVELS,
        "relevance_labels": RELEVANCE_LABELS,
    }
