"""Scoring and the matrix: a participant's score of one cluster, and the facilitator's
scoring monitor with the relevance × policy-level matrix.

Live regions, built by `app.matrix.views`: `#scoring-progress` (polled until the live
stream replaces the poll) and `#matrix-results` (one `#matrix-challenge-N` per challenge);
on the participant page, `#cluster-N` and the participant's own `#scoring-progress`.
"""

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session

from app.clustering.models import Cluster
from app.clustering.service import get_cluster
from app.db import DbDep
from app.errors import AppError, InvalidInput, WrongPhase, on_refusal
from app.i18n import _
from app.matrix import service
from app.matrix.models import RatingIn
from app.matrix.views import (
    matrix_context,
    next_to_score,
    reveal_context,
    saved_note,
    score_card,
    score_cards,
    scoring_progress_context,
)
from app.models_base import PathId
from app.sessions import service as sessions_service
from app.sessions.auth import FacilitatorPageDep, ParticipantPageDep, reload_actor
from app.sessions.views import participant_context
from app.web import FormDep, form_flag, form_text, is_htmx, parse_int, render, toast

router = APIRouter(include_in_schema=False)

REGIONS = {"progress", "results"}
PARTICIPANT_PAGE = "participant/page.html"


@router.get("/s/{code}/facilitate/matrix")
def matrix_page(
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    region: str | None = None,
    seq: int | None = None,
) -> Response:
    """Scoring progress per challenge, then each challenge's matrix and ranking."""
    if is_htmx(request) and region == "progress" and seq == actor.session.last_event_seq:
        return Response(status_code=204)
    block = region if region in REGIONS else "results"
    return render(request, "matrix/matrix.html", matrix_context(db, actor.session), block=block)


@router.post("/s/{code}/facilitate/results")
def reveal_results(
    request: Request, db: DbDep, actor: FacilitatorPageDep, form: FormDep
) -> Response:
    """Reveal the results to the room and the participants, or hide them again."""
    session = actor.session
    revealed = sessions_service.reveal_results(db, session, form_flag(form, "revealed"))
    if not is_htmx(request):
        return RedirectResponse(
            f"/s/{session.code}/facilitate/matrix#results-reveal", status_code=303
        )
    message = (
        _("Results revealed: the projector and the participants see them now.")
        if revealed
        else _("Results hidden from the projector and the participants.")
    )
    return render(request, "matrix/_reveal.html", reveal_context(session), headers=toast(message))


def rating_input(relevance: str, policy_level: str) -> RatingIn:
    """The submitted score, with a message per missing or invalid choice."""
    try:
        return RatingIn.model_validate({"relevance": relevance, "policy_level": policy_level})
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
        if "relevance" in fields:
            raise InvalidInput(
                _("Choose how relevant this solution is, from 1 to 5."), field="relevance"
            ) from None
        raise InvalidInput(
            _("Choose the policy level this solution should be addressed at."),
            field="policy_level",
        ) from None


def after_saving_url(code: str, next_id: int | None, saved: int | None = None) -> str:
    """The participant page on the next cluster to score, or on the summary."""
    step = f"cluster={next_id}" if next_id is not None else "step=summary"
    return f"/s/{code}?{step}" + (f"&saved={saved}" if saved is not None else "")


@router.post("/s/{code}/clusters/{cluster_id}/rating")
def rate(
    cluster_id: PathId, request: Request, db: DbDep, actor: ParticipantPageDep, form: FormDep
) -> Response:
    """Save this participant's score of one cluster (a second save replaces it).

    With `advance` (the plain form always sends it; the page's script when a first score is
    complete by a tap) the answer is the next cluster not scored yet, or the summary; without
    it only the card's status and the progress change, so the person stays where they are.
    """
    relevance = form_text(form, "relevance")
    level = form_text(form, "policy_level")
    advance = form_text(form, "advance") == "1"

    def refused(db: Session, error: AppError) -> Response | None:
        again = reload_actor(db, actor)
        cluster = db.get(Cluster, cluster_id)
        if cluster is None or cluster.session_id != again.session.id:
            return None
        card = score_card(db, again, cluster)
        card.relevance = parse_int(relevance)
        card.policy_level = level or None
        card.error, card.error_field = error.message, error.field
        if is_htmx(request):
            context = {"session": again.session, "card": card, "focus_card": True}
            return render(
                request,
                "participant/_score_card.html",
                context,
                status_code=error.status_code,
                headers={"HX-Retarget": f"#cluster-{cluster_id}", "HX-Reswap": "outerHTML"},
            )
        view = "scoring" if isinstance(error, WrongPhase) else None
        context = participant_context(request, db, again, view_phase=view, score_override=card)
        return render(request, PARTICIPANT_PAGE, context, status_code=error.status_code)

    on_refusal(request, refused)
    service.rate(db, actor, cluster_id, rating_input(relevance, level))
    session = actor.session
    if not advance:
        if not is_htmx(request):
            url = f"/s/{session.code}?cluster={cluster_id}&saved={cluster_id}"
            return RedirectResponse(url, status_code=303)
        card = score_card(db, actor, get_cluster(db, session, cluster_id))
        card.just_saved = True
        context = {"session": session, "card": card, **scoring_progress_context(db, actor)}
        return render(request, "participant/_score_saved.html", context)
    next_id = next_to_score(score_cards(db, actor), after=cluster_id)
    if not is_htmx(request):
        url = after_saving_url(session.code, next_id, saved=cluster_id)
        return RedirectResponse(url, status_code=303)
    context = participant_context(
        request,
        db,
        actor,
        score_cluster=next_id,
        score_summary=next_id is None,
        saved_note=saved_note(db, actor, cluster_id),
    )
    headers = {
        "HX-Retarget": "#phase-content",
        "HX-Reswap": "outerHTML show:top",
        "HX-Push-Url": after_saving_url(session.code, next_id),
    }
    return render(request, PARTICIPANT_PAGE, context, block="phase_content", headers=headers)
