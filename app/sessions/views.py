"""What the session's screens show, built from the services: the dashboard, the
participant page (which shows each phase with the clustering and matrix views), the
facilitator's brainstorm board and the projector.

Each region that other people's actions change (counts, contribution lists, clusters,
scoring progress, results) has a context function and its own partial template whose root
element carries a stable id, so a live stream renders the same partial and swaps it.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlmodel import Session

from app.clustering.views import clusters_context
from app.config import get_settings
from app.matrix import service as matrix_service
from app.matrix.views import (
    SavedNote,
    ScoreCard,
    projector_matrix_context,
    results_context,
    scoring_context,
)
from app.sessions import service
from app.sessions.auth import Actor
from app.sessions.forms import SettingsForm
from app.sessions.links import join_url
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


PHASE_HELP = {
    "setup": "Participants who join see a waiting screen with the challenges.",
    "brainstorm": "Participants write down gaps and missing interventions, per challenge.",
    "clustering": "Participants watch the clusters form while you group the contributions.",
    "scoring": "Participants score every cluster on relevance and policy level.",
    "report": "Participants see the ranked results; export the report.",
}


def dashboard_context(
    request: Request,
    db: Session,
    session: WorkshopSession,
    *,
    settings_form: SettingsForm | None = None,
    settings_errors: dict[str, str] | None = None,
    settings_saved: bool = False,
    phase_error: str | None = None,
) -> dict[str, Any]:
    """Everything on the dashboard; each region also renders alone from its partial."""
    return {
        "session": session,
        "nav_active": "dashboard",
        "challenges": service.list_challenges(db, session),
        "phase_help": PHASE_HELP,
        "phase_error": phase_error,
        "settings_form": settings_form or SettingsForm.from_session(session),
        "settings_errors": settings_errors or {},
        "settings_saved": settings_saved,
        **phase_context(session),
        **dash_counts_context(db, session),
        **join_context(request, session),
    }


# --- facilitator: brainstorm board -----------------------------------------------------------


def brainstorm_board_context(db: Session, actor: Actor) -> dict[str, Any]:
    """Everything the brainstorm board shows: contributions per challenge, newest first."""
    session = actor.session
    names = service.author_names(db, session)
    by_challenge: dict[int, list[Contribution]] = defaultdict(list)
    contributions = service.list_contributions(db, session)
    for contribution in contributions:
        by_challenge[contribution.challenge_id].append(contribution)
    challenges = [
        {
            "challenge": challenge,
            "contributions": list(reversed(by_challenge[challenge.id])),  # type: ignore[index]
        }
        for challenge in service.list_challenges(db, session)
    ]
    return {
        "session": session,
        "nav_active": "brainstorm",
        "challenges": challenges,
        "authors": {c.id: service.author_label(c, names) for c in contributions},
        "total": len(contributions),
        "participants": len(names),
        "seq": session.last_event_seq,
        "max_chars": get_settings().contribution_max_chars,
        "editing": None,
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


def contribution_item_context(
    actor: Actor, contribution: Contribution, editing: EditState | None = None
) -> dict[str, Any]:
    """Partial `participant/_contribution_item.html` (#contribution-N): one of my
    contributions, or its edit form."""
    return {
        "session": actor.session,
        "c": contribution,
        "editing": editing,
        "can_change": actor.session.phase == "brainstorm",
        "max_chars": get_settings().contribution_max_chars,
        "focus_edit": editing is None,
    }


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
    score_cluster: int | None = None,
    score_summary: bool = False,
    saved_note: SavedNote | None = None,
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
        context.update(
            scoring_context(
                db,
                actor,
                cluster_id=score_cluster,
                summary=score_summary,
                override=score_override,
                saved_note=saved_note,
            )
        )
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
