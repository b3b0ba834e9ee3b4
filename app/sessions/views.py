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
from app.errors import NotFound
from app.i18n import N_, _, ngettext
from app.matrix import service as matrix_service
from app.matrix.views import (
    SavedNote,
    ScoreCard,
    projector_slides,
    results_context,
    scoring_context,
)
from app.sessions import service
from app.sessions.auth import Actor
from app.sessions.forms import SettingsForm
from app.sessions.links import join_link
from app.sessions.models import Challenge, Contribution, WorkshopSession
from app.sessions.qr import qr_svg
from app.vocabulary import MATRIX_LEVELS, PHASES, RELEVANCE_LABELS, Translated

# The newest notes sent to the projector's wall; it shows as many of them as fit the screen.
PROJECTOR_WALL_SIZE = 48


def join_context(request: Request, session: WorkshopSession) -> dict[str, Any]:
    """Join code, link and QR code: nothing secret, nothing user-made but the URL. On a
    loopback address the link is the machine's network address when the server answers
    there (`join_link.reach` says which, for the notice beside it)."""
    link = join_link(request, session.code)
    return {
        "join_url": link.url,
        "join_link": link,
        "qr": qr_svg(link.url, _("QR code to join: %(url)s", url=link.url)),
    }


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
    return {
        "session": session,
        "counts": counts,
        "activity": rows,
        "people": [PersonRow(a) for a in service.participant_activity(db, session)],
    }


@dataclass
class PersonRow:
    """A participant in the dashboard's list: who, what they did, what removing them takes."""

    activity: service.ParticipantActivity

    @property
    def id(self) -> int:
        return self.activity.participant.id  # type: ignore[return-value]

    @property
    def named(self) -> bool:
        return bool(self.activity.participant.name)

    @property
    def label(self) -> str:
        """Their name, or “Participant 3” (their joining number) when they gave none."""
        return self.activity.participant.name or _(
            "Participant %(number)s", number=self.activity.number
        )

    @property
    def contributions(self) -> int:
        return self.activity.contributions

    @property
    def ratings(self) -> int:
        return self.activity.ratings

    @property
    def removal_warning(self) -> str:
        """What removing them takes away, said before it happens."""
        return " ".join(
            [
                ngettext(
                    "Their %(num)s contribution is removed.",
                    "Their %(num)s contributions are removed.",
                    self.contributions,
                )
                if self.contributions
                else _("They have not written any contribution."),
                ngettext(
                    "Their %(num)s score is removed.",
                    "Their %(num)s scores are removed.",
                    self.ratings,
                )
                if self.ratings
                else _("They have not scored anything."),
                _(
                    "Their screen stops working. This cannot be undone. To keep people out, "
                    "also close the session to new joins."
                ),
            ]
        )

    @property
    def removed_message(self) -> str:
        """What removing them took away, for the result toast."""
        return ngettext(
            "%(name)s was removed, with %(num)s contribution and their scores.",
            "%(name)s was removed, with %(num)s contributions and their scores.",
            self.contributions,
            name=self.label,
        )


def participant_row(db: Session, session: WorkshopSession, participant_id: int) -> PersonRow:
    """One participant of the session with their counts (for a removal's confirmation and
    its message); 404 when the session has no such participant."""
    for activity in service.participant_activity(db, session):
        if activity.participant.id == participant_id:
            return PersonRow(activity)
    raise NotFound(_("This session has no participant %(id)s.", id=participant_id))


# What participants see in each phase, for the facilitator (translated when read).
PHASE_HELP: Translated[str] = Translated(
    {
        "setup": N_("Participants who join see a waiting screen with the challenges."),
        "brainstorm": N_("Participants write down gaps and missing interventions, per challenge."),
        "clustering": N_("Participants watch the clusters form while you group the contributions."),
        "scoring": N_("Participants score every cluster on relevance and policy level."),
        "report": N_("Participants see the ranked results; export the report."),
    }
)


def dashboard_context(
    request: Request,
    db: Session,
    session: WorkshopSession,
    *,
    settings_form: SettingsForm | None = None,
    settings_errors: dict[str, str] | None = None,
    settings_saved: bool = False,
    phase_error: str | None = None,
    removed: int | None = None,
) -> dict[str, Any]:
    """Everything on the dashboard; each region also renders alone from its partial.
    `removed`: a participant was just removed with that many contributions (a page without
    JavaScript says so in the participants panel)."""
    return {
        "removed": removed,
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


def bulk_removal_context(db: Session, actor: Actor, contribution_ids: list[int]) -> dict[str, Any]:
    """The bulk-removal bar (#bulk-bar) asking to confirm: the selected contributions (404
    when one is not of this session: nothing is removed then)."""
    session = actor.session
    chosen = [service.get_contribution(db, session, cid) for cid in dict.fromkeys(contribution_ids)]
    names = service.author_names(db, session)
    return {
        "session": session,
        "confirm": chosen,
        "authors": {c.id: service.author_label(c, names) for c in chosen},
        "shown_max": BULK_CONFIRM_SHOWN,
    }


BULK_CONFIRM_SHOWN = 5


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
        context.update(results_context(db, session, actor))
    elif shown == "report":
        context.update(results_context(db, session, actor))
    return context


# --- projector -------------------------------------------------------------------------------


def projector_context(request: Request, db: Session, session: WorkshopSession) -> dict[str, Any]:
    """The projector region (#projector-body): what the room sees in this phase; no secrets
    and no names. Results only once the room may see them (`results_visible`)."""
    challenges = service.list_challenges(db, session)
    context: dict[str, Any] = {
        "session": session,
        "counts": service.counts(db, session),
        "challenges": challenges,
        "results_shown": False,
        # Closed to new joins: the room should not be shown a code that no longer works.
        "joins_open": session.joins_open,
        **phase_context(session),
        **join_context(request, session),
    }
    phase = session.phase
    if phase == "brainstorm":
        per_challenge = service.contribution_counts(db, session)
        context["challenge_counts"] = [(c, per_challenge.get(c.id, 0)) for c in challenges]  # type: ignore[arg-type]
        if session.show_contributions:
            titles = {c.id: c.title for c in challenges}
            latest = service.list_contributions(db, session)[-PROJECTOR_WALL_SIZE:]
            context["wall"] = [(c, titles.get(c.challenge_id, "")) for c in reversed(latest)]
    elif phase == "clustering":
        context.update(clusters_context(db, session))
    elif phase in ("scoring", "report"):
        context["progress"] = dash_counts_context(db, session)["activity"]
        if matrix_service.results_visible(session):
            context["results_shown"] = True
            context["slides"] = projector_slides(db, session)
            context["matrix_levels"] = MATRIX_LEVELS
            context["relevance_labels"] = RELEVANCE_LABELS
    return context
