"""HTML fragments that live page streams push: each one re-renders a page region from the
same partial template and context function the page itself uses, marked for an
out-of-band swap (`hx-swap-oob`), so htmx — or static/js/live.js — swaps it by id.

Regions come in two kinds:

- shared: the same HTML for everyone watching the view (the cluster list, the projector,
  results, a facilitator board), rendered once per event and reused by every stream;
- personal: depends on who watches (a participant's own contribution or score card),
  rendered per stream. Personal regions are rare events by design.

Participants' regions never carry author names or anything that says whose a contribution
is: "others" notes are shared by everyone, and each browser drops its own ones (it knows
them: they are in its "Your contributions" list). Author names appear only in facilitator
regions, which only facilitator streams can ask for.

Every function here runs in a worker thread with a short read-only database session.
"""

import re
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from jinja2 import Environment
from jinja2_fragments import render_block
from markupsafe import escape
from sqlmodel import Session

from app.clustering.models import Cluster
from app.clustering.views import board_context, clusters_context
from app.matrix.views import (
    matrix_context,
    results_context,
    reveal_context,
    score_card,
    scoring_context,
    scoring_progress_context,
)
from app.sessions import service
from app.sessions.auth import FACILITATOR, PARTICIPANT, Actor
from app.sessions.models import Contribution, Participant, WorkshopSession
from app.sessions.views import (
    PHASE_HELP,
    brainstorm_board_context,
    contribution_item_context,
    dash_counts_context,
    phase_context,
    projector_context,
)

_ROOT_TAG = re.compile(r"^\s*<([a-zA-Z][a-zA-Z0-9-]*)")
# Nobody has this participant id: a viewer who owns no contribution.
_NOBODY = 0


@dataclass(frozen=True)
class Fragment:
    """Rendered HTML for one region. `author_id` stays on the server: streams use it to
    leave a participant's own contribution out of what they receive."""

    html: str
    author_id: int | None = None


EMPTY = Fragment("")


def oob(html: str, swap: str = "true") -> str:
    """Mark the fragment's root element for an out-of-band swap."""
    match = _ROOT_TAG.match(html)
    if match is None:
        raise ValueError("a live fragment must start with its root element")
    return f'{html[: match.end()]} hx-swap-oob="{escape(swap)}"{html[match.end() :]}'


def wrapped(html: str, swap: str) -> str:
    """Children to insert somewhere (`afterbegin:#list`, `beforeend:#list`)."""
    return f'<div hx-swap-oob="{escape(swap)}">{html}</div>'


def deleted(element_id: str) -> str:
    """Remove the element with this id, wherever it is on the page."""
    return f'<div id="{escape(element_id)}" hx-swap-oob="delete"></div>'


class Renderer:
    """Renders regions with the app's template environment."""

    def __init__(self, env: Environment) -> None:
        self.env = env

    def template(self, name: str, context: dict[str, Any]) -> str:
        return self.env.get_template(name).render(context)

    def block(self, name: str, block: str, context: dict[str, Any]) -> str:
        return render_block(self.env, name, block, context)

    # --- participant regions (shared) ------------------------------------------------------

    def other_note(self, session: WorkshopSession, contribution: Contribution) -> str:
        return self.template("live/_other_note.html", {"session": session, "c": contribution})

    def others_added(self, db: Session, session: WorkshopSession, cid: int) -> Fragment:
        """A new note for "What others wrote" (newest first), if participants may see it."""
        contribution = _contribution(db, session, cid)
        if contribution is None:
            return EMPTY
        if not _others_visible(db, session, contribution):
            return Fragment("", contribution.participant_id)
        note = self.other_note(session, contribution)
        html = wrapped(note, f"afterbegin:#others-list-{contribution.challenge_id}")
        return Fragment(html, contribution.participant_id)

    def others_updated(self, db: Session, session: WorkshopSession, cid: int) -> Fragment:
        """The rewritten note, where a page shows it."""
        contribution = _contribution(db, session, cid)
        if contribution is None:
            return EMPTY
        if not _others_visible(db, session, contribution):
            return Fragment("", contribution.participant_id)
        return Fragment(oob(self.other_note(session, contribution)), contribution.participant_id)

    def others_sections(self, db: Session, session: WorkshopSession) -> Fragment:
        """Every challenge's "What others wrote", as a viewer who wrote none of them sees it
        (each browser then drops its own notes); after the settings changed."""
        nobody = _nobody(session)
        parts = []
        for challenge in service.list_challenges(db, session):
            visible = service.visible_contributions(db, nobody, challenge.id)
            context = {
                "session": session,
                "others_challenge_id": challenge.id,
                "others": list(reversed(visible)),
            }
            parts.append(oob(self.template("participant/_others.html", context)))
        return Fragment("".join(parts))

    def participant_clusters(self, db: Session, session: WorkshopSession) -> Fragment:
        """The clusters forming (#participant-clusters)."""
        html = self.template("participant/_clusters.html", clusters_context(db, session))
        return Fragment(oob(html))

    def results(self, db: Session, session: WorkshopSession) -> Fragment:
        """Ranked results as cards (#results)."""
        context = results_context(db, session)
        return Fragment(oob(self.template("participant/_results.html", context)))

    def privacy_note(self, session: WorkshopSession) -> Fragment:
        """What the report shows of participants (#privacy-note, #privacy-flag): open pages
        learn at once when the facilitator turns names on or off."""
        context = {"session": session}
        note = self.template("participant/_privacy_note.html", context)
        flag = self.template("participant/_privacy_flag.html", context)
        return Fragment(oob(note) + oob(flag))

    def score_card_removed(self, session: WorkshopSession, cluster_id: int) -> Fragment:
        """A cluster removed while someone may be scoring it (#cluster-N): a notice with the
        way on, in place of the card."""
        context = {"session": session, "cluster_id": cluster_id}
        html = self.template("participant/_score_removed.html", context)
        return Fragment(oob(html) + deleted(f"summary-{cluster_id}"))

    def revealed_results(
        self, db: Session, session: WorkshopSession, *, only_if_shown: bool = False
    ) -> Fragment:
        """The results under the scoring cards (#revealed-results): shown once the
        facilitator reveals them, an empty placeholder while hidden."""
        context = results_context(db, session)
        if only_if_shown and not context["results_visible"]:
            return EMPTY
        return Fragment(oob(self.template("matrix/_revealed.html", context)))

    # --- participant regions (personal) ----------------------------------------------------

    def my_contribution(self, db: Session, actor: Actor, cid: int) -> str:
        """One of the viewer's own contributions (#contribution-N), after the facilitator
        edited it."""
        contribution = _contribution(db, actor.session, cid)
        if contribution is None or contribution.participant_id != actor.participant_id:
            return ""
        context = contribution_item_context(actor, contribution)
        context["focus_edit"] = False  # a live copy never takes the viewer's focus
        return oob(self.template("participant/_contribution_item.html", context))

    def score_card(self, db: Session, actor: Actor, cluster_id: int) -> str:
        """The cluster being scored (#cluster-N), where a page shows it, and the summary of
        every score (#score-summary), where a page shows that; live.js keeps what the
        participant has chosen but not saved yet."""
        cluster = db.get(Cluster, cluster_id)
        if cluster is None or cluster.session_id != actor.session.id:
            return ""
        card = score_card(db, actor, cluster)
        html = self.template(
            "participant/_score_card.html", {"session": actor.session, "card": card}
        )
        context = {"session": actor.session, **scoring_context(db, actor, summary=True)}
        summary = self.template("participant/_score_summary.html", context)
        return oob(html) + oob(summary)

    def my_scoring_progress(self, db: Session, actor: Actor) -> str:
        """ "n of N scored" (#scoring-progress)."""
        html = self.template(
            "participant/_scoring_progress.html", scoring_progress_context(db, actor)
        )
        return oob(html)

    # --- facilitator regions (shared among the facilitator's screens) ----------------------

    def dash_counts(self, db: Session, session: WorkshopSession) -> Fragment:
        html = self.template("facilitator/_dash_counts.html", dash_counts_context(db, session))
        return Fragment(oob(html))

    def dash_phase(self, db: Session, session: WorkshopSession) -> Fragment:
        context = {
            "session": session,
            "phase_help": PHASE_HELP,
            "phase_error": None,
            **phase_context(session),
        }
        return Fragment(oob(self.template("facilitator/_dash_phase.html", context)))

    def brainstorm_board(self, db: Session, session: WorkshopSession) -> Fragment:
        """The whole brainstorm board (#brainstorm-board); live.js swaps only the columns and
        notes nobody is editing."""
        context = brainstorm_board_context(db, _facilitator(session))
        context["seen"] = context["total"]
        return Fragment(oob(self.template("facilitator/_board_brainstorm.html", context)))

    def clustering_board(
        self, db: Session, session: WorkshopSession, challenge_id: int
    ) -> Fragment:
        """One challenge's clustering board (#board); live.js swaps only the columns nobody
        is working in."""
        context = board_context(db, _facilitator(session), challenge_id)
        return Fragment(oob(self.template("clustering/_board.html", context)))

    def matrix(self, db: Session, session: WorkshopSession) -> Fragment:
        """Scoring progress and the matrix of every challenge (#scoring-progress,
        #matrix-results)."""
        context = matrix_context(db, session)
        progress = self.template("matrix/_progress.html", context)
        results = self.template("matrix/_results.html", context)
        return Fragment(oob(progress) + oob(results))

    def matrix_reveal(self, session: WorkshopSession) -> Fragment:
        """Whether the room sees the results, and the button (#results-reveal)."""
        return Fragment(oob(self.template("matrix/_reveal.html", reveal_context(session))))

    def projector(self, db: Session, session: WorkshopSession, request: Request) -> Fragment:
        """What the room sees (#projector-body)."""
        context = projector_context(request, db, session)
        html = self.block("projector/projector.html", "projector_body", context)
        return Fragment(oob(html))


def _nobody(session: WorkshopSession) -> Actor:
    """A participant who wrote nothing: sees what every other participant sees."""
    return Actor(
        session=session, role=PARTICIPANT, participant=Participant.model_construct(id=_NOBODY)
    )


def _facilitator(session: WorkshopSession) -> Actor:
    return Actor(session=session, role=FACILITATOR)


def _contribution(db: Session, session: WorkshopSession, cid: int) -> Contribution | None:
    contribution = db.get(Contribution, cid)
    if contribution is None or contribution.session_id != session.id:
        return None
    return contribution


def _others_visible(db: Session, session: WorkshopSession, contribution: Contribution) -> bool:
    """Whether participants other than its author may read this contribution now."""
    visible = service.visible_contributions(db, _nobody(session), contribution.challenge_id)
    return any(c.id == contribution.id for c in visible)
