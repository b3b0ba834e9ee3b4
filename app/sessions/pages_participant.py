"""HTML pages of a participant: joining, and the page that follows the session's phase."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.clustering.service import get_cluster
from app.config import get_settings
from app.db import DbDep
from app.errors import AppError, Forbidden, InvalidInput, NotAuthenticated, NotFound, WrongPhase
from app.matrix import service as matrix_service
from app.matrix.models import RatingIn
from app.ratelimit import limit
from app.sessions import service
from app.sessions.auth import Actor, find_session, optional_actor, set_auth_cookie
from app.sessions.models import Contribution, WorkshopSession
from app.sessions.page_context import (
    ContributionForm,
    EditState,
    clusters_context,
    others_context,
    participant_context,
    score_card,
    scoring_progress_context,
)
from app.sessions.page_utils import FormDep, form_text, no_store, parse_int, see_other, toast
from app.templating import is_htmx, render

router = APIRouter(include_in_schema=False)

PAGE = "participant/page.html"
# htmx swaps these error statuses (see base.html), so the form comes back with its message;
# other refusals keep the page as it is and explain themselves in a toast.
SWAPPED_ERRORS = {409, 413, 422}
NOT_SIGNED_IN = (
    "This browser is no longer signed in to the session. Copy your text if you need it, "
    "then join again with the code."
)
FACILITATOR_HERE = (
    "This browser is signed in as the facilitator of this session. To join as a "
    "participant, use another browser or a private window."
)


def _error_headers(exc: AppError) -> dict[str, str] | None:
    return None if exc.status_code in SWAPPED_ERRORS else toast(exc.message, "error")


def participant_actor(request: Request, db: Session, code: str) -> Actor | Response:
    """The participant from the cookie; without one, off to the join page; the facilitator
    goes to the dashboard."""
    session = find_session(db, code)
    actor = optional_actor(db, session, request)
    if actor is None:
        if request.method != "GET" and is_htmx(request):
            # Redirecting would drop what they typed; the toast explains instead.
            raise NotAuthenticated(NOT_SIGNED_IN)
        return see_other(request, f"/join/{session.code}")
    if actor.is_facilitator:
        if request.method != "GET":
            raise Forbidden("This is the participants' page; you are signed in as facilitator.")
        return see_other(request, f"/s/{session.code}/facilitate")
    return actor


def _page_url(session: WorkshopSession, challenge_id: int | None = None, **extra: Any) -> str:
    query = [f"challenge={challenge_id}"] if challenge_id else []
    query += [f"{k}={v}" for k, v in extra.items()]
    return f"/s/{session.code}" + ("?" + "&".join(query) if query else "")


# --- joining ---------------------------------------------------------------------------------


def _code_form(request: Request, code: str, message: str | None, status_code: int) -> Response:
    context = {"session": None, "code": code, "code_error": message}
    return render(request, "participant/join.html", context, status_code=status_code)


@router.get("/join")
def join_by_code(request: Request, db: DbDep, code: str = "") -> Response:
    """The landing page's join form: find the session by its code (any case)."""
    if not code.strip():
        return _code_form(request, "", None, 200)
    try:
        session = find_session(db, code)
    except NotFound as exc:
        return _code_form(request, code, exc.message, 404)
    return RedirectResponse(f"/join/{session.code}", status_code=303)


def _join_page(
    request: Request,
    session: WorkshopSession,
    actor: Actor | None,
    *,
    name: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "session": session,
        "name": name,
        "name_error": error,
        "facilitator_here": actor is not None and actor.is_facilitator,
    }
    return render(
        request, "participant/join.html", context, block="join_form", status_code=status_code
    )


@router.get("/join/{code}")
def join_form(code: str, request: Request, db: DbDep) -> Response:
    """Ask for an optional display name; someone who already joined goes straight in."""
    try:
        session = find_session(db, code)
    except NotFound as exc:
        return _code_form(request, code, exc.message, 404)
    actor = optional_actor(db, session, request)
    if actor is not None and actor.participant is not None:
        return RedirectResponse(f"/s/{session.code}", status_code=303)
    return _join_page(request, session, actor)


@router.post("/join/{code}")
def join_submit(code: str, request: Request, db: DbDep, form: FormDep) -> Response:
    """Join: the cookie keeps the participant's identity in this browser."""
    try:
        session = find_session(db, code)
    except NotFound as exc:
        return _code_form(request, code, exc.message, 404)
    actor = optional_actor(db, session, request)
    if actor is not None and actor.participant is not None:
        return see_other(request, f"/s/{session.code}")
    name = form_text(form, "name")
    if actor is not None and actor.is_facilitator:
        return _join_page(request, session, actor, name=name, status_code=409)
    try:
        limit(request, "join")
        _participant, token = service.join(db, session, name)
    except AppError as exc:
        db.rollback()
        return _join_page(
            request, session, None, name=name, error=exc.message, status_code=exc.status_code
        )
    response = see_other(request, f"/s/{session.code}")
    set_auth_cookie(response, session.code, token)
    return no_store(response)


# --- the participant page --------------------------------------------------------------------


@router.get("/s/{code}")
def participant_page(code: str, request: Request, db: DbDep) -> Response:
    """The page for the current phase; htmx asks only for the phase's region."""
    actor = participant_actor(request, db, code)
    if isinstance(actor, Response):
        return actor
    challenge_id = parse_int(request.query_params.get("challenge"))
    form = ContributionForm(just_sent=request.query_params.get("sent") == "1")
    context = participant_context(request, db, actor, challenge_id=challenge_id, form=form)
    return no_store(render(request, PAGE, context, block="phase_content"))


@router.get("/s/{code}/phase")
def phase_check(code: str, db: DbDep, seen: str = "") -> Response:
    """Polled by the participant page: 204 while the phase is `seen`, else reload the page.

    Kept apart so that the live stream can replace it.
    """
    try:
        session = find_session(db, code)
    except NotFound:
        return Response(status_code=200, headers={"HX-Refresh": "true"})
    if session.phase == seen:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    return Response(status_code=200, headers={"HX-Refresh": "true", "Cache-Control": "no-store"})


@router.post("/s/{code}/name")
def rename(code: str, request: Request, db: DbDep, form: FormDep) -> Response:
    """Change the display name."""
    actor = participant_actor(request, db, code)
    if isinstance(actor, Response):
        return actor
    name = form_text(form, "name")
    try:
        service.rename_participant(db, actor, name)
    except AppError as exc:
        db.rollback()
        db.refresh(actor.participant)
        context = participant_context(request, db, actor, name_value=name, name_error=exc.message)
        if is_htmx(request):
            return render(request, "participant/_name.html", context, status_code=exc.status_code)
        return render(request, PAGE, context, status_code=exc.status_code)
    if not is_htmx(request):
        return RedirectResponse(f"/s/{actor.session.code}?renamed=1#your-name", status_code=303)
    context = participant_context(request, db, actor, name_saved=True)
    context["oob_header"] = True
    return render(request, "participant/_name.html", context, headers=toast("Name saved."))


# --- brainstorm ------------------------------------------------------------------------------


def _brainstorm_region(
    request: Request,
    db: Session,
    actor: Actor,
    challenge_id: int | None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **state: Any,
) -> Response:
    # A refusal because the brainstorm closed still shows the brainstorm, text and all.
    context = participant_context(
        request, db, actor, view_phase="brainstorm", challenge_id=challenge_id, **state
    )
    return render(
        request, PAGE, context, block="phase_content", status_code=status_code, headers=headers
    )


@router.post("/s/{code}/contributions")
def add_contribution(code: str, request: Request, db: DbDep, form: FormDep) -> Response:
    """Submit one contribution; a retry with the same client_id is stored once."""
    actor = participant_actor(request, db, code)
    if isinstance(actor, Response):
        return actor
    session = actor.session
    challenge_id = parse_int(form_text(form, "challenge_id"))
    text = form_text(form, "text")
    client_id = form_text(form, "client_id") or None
    try:
        if challenge_id is None:
            raise InvalidInput("Choose a challenge first.", field="text")
        limit(request, "contribute", key=f"{session.id}:{actor.participant_id}")
        service.add_contribution(db, actor, challenge_id, text, client_id)
    except AppError as exc:
        db.rollback()
        failed = ContributionForm(text=text, error=exc.message, focus=True)
        if client_id:
            failed.client_id = client_id
        return _brainstorm_region(
            request,
            db,
            actor,
            challenge_id,
            form=failed,
            status_code=exc.status_code,
            headers=_error_headers(exc),
        )
    if not is_htmx(request):
        return RedirectResponse(_page_url(session, challenge_id, sent=1), status_code=303)
    return _brainstorm_region(
        request,
        db,
        actor,
        challenge_id,
        form=ContributionForm(just_sent=True, focus=True),
        headers=toast("Sent. Thank you!"),
    )


def _own_contribution(db: Session, actor: Actor, contribution_id: int) -> Contribution:
    contribution = service.get_contribution(db, actor.session, contribution_id)
    if contribution.participant_id != actor.participant_id:
        raise Forbidden("You can only change your own contributions.")
    return contribution


def _item(
    request: Request,
    actor: Actor,
    contribution: Contribution,
    *,
    editing: EditState | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context = {
        "session": actor.session,
        "c": contribution,
        "editing": editing,
        "can_change": actor.session.phase == "brainstorm",
        "max_chars": get_settings().contribution_max_chars,
        "focus_edit": editing is None,
    }
    return render(
        request,
        "participant/_contribution_item.html",
        context,
        status_code=status_code,
        headers=headers,
    )


@router.get("/s/{code}/contributions/{contribution_id}")
def show_contribution(code: str, contribution_id: int, request: Request, db: DbDep) -> Response:
    """One of my contributions (htmx: its list item, e.g. after “Cancel”)."""
    actor = participant_actor(request, db, code)
    if isinstance(actor, Response):
        return actor
    contribution = _own_contribution(db, actor, contribution_id)
    if not is_htmx(request):
        url = _page_url(actor.session, contribution.challenge_id)
        return RedirectResponse(f"{url}#contribution-{contribution.id}", status_code=303)
    return _item(request, actor, contribution)


@router.get("/s/{code}/contributions/{contribution_id}/edit")
def edit_contribution_form(
    code: str, contribution_id: int, request: Request, db: DbDep
) -> Response:
    """The edit form of one of my contributions, in place."""
    actor = participant_actor(request, db, code)
    if isinstance(actor, Response):
        return actor
    contribution = _own_contribution(db, actor, contribution_id)
    editing = EditState(contribution.id, contribution.text)  # type: ignore[arg-type]
    if is_htmx(request):
        return _item(request, actor, contribution, editing=editing)
    context = participant_context(
        request, db, actor, challenge_id=contribution.challenge_id, editing=editing
    )
    return no_store(render(request, PAGE, context))


@router.post("/s/{code}/contributions/{contribution_id}/edit")
def edit_contribution(
    code: str, contribution_id: int, request: Request, db: DbDep, form: FormDep
) -> Response:
    """Save the rewritten text (while the brainstorm is open)."""
    actor = participant_actor(request, db, code)
    if isinstance(actor, Response):
        return actor
    text = form_text(form, "text")
    contribution = _own_contribution(db, actor, contribution_id)
    challenge_id = contribution.challenge_id
    try:
        service.edit_contribution(db, actor, contribution_id, text)
    except AppError as exc:
        db.rollback()
        editing = EditState(contribution_id, text, exc.message)
        if is_htmx(request):
            contribution = _own_contribution(db, actor, contribution_id)
            return _item(
                request,
                actor,
                contribution,
                editing=editing,
                status_code=exc.status_code,
                headers=_error_headers(exc),
            )
        return _brainstorm_region(
            request, db, actor, challenge_id, editing=editing, status_code=exc.status_code
        )
    if not is_htmx(request):
        url = _page_url(actor.session, challenge_id)
        return RedirectResponse(f"{url}#contribution-{contribution_id}", status_code=303)
    return _item(request, actor, contribution, headers=toast("Saved."))


@router.post("/s/{code}/contributions/{contribution_id}/delete")
def delete_contribution(code: str, contribution_id: int, request: Request, db: DbDep) -> Response:
    """Delete one of my contributions (while the brainstorm is open)."""
    actor = participant_actor(request, db, code)
    if isinstance(actor, Response):
        return actor
    contribution = _own_contribution(db, actor, contribution_id)
    challenge_id = contribution.challenge_id
    try:
        service.remove_contribution(db, actor, contribution_id)
    except AppError as exc:
        db.rollback()
        return _brainstorm_region(
            request,
            db,
            actor,
            challenge_id,
            panel_error=exc.message,
            status_code=exc.status_code,
            headers=_error_headers(exc),
        )
    if not is_htmx(request):
        return RedirectResponse(_page_url(actor.session, challenge_id), status_code=303)
    return _brainstorm_region(request, db, actor, challenge_id, headers=toast("Deleted."))


@router.get("/s/{code}/others")
def others(code: str, request: Request, db: DbDep, challenge: str = "") -> Response:
    """Others' contributions to a challenge (polled until live updates arrive)."""
    actor = participant_actor(request, db, code)
    if isinstance(actor, Response):
        return actor
    challenge_id = parse_int(challenge)
    if not is_htmx(request) or challenge_id is None:
        return RedirectResponse(_page_url(actor.session, challenge_id), status_code=303)
    service.get_challenge(db, actor.session, challenge_id)
    context = others_context(db, actor, challenge_id)
    return render(request, "participant/_others.html", context)


# --- clustering ------------------------------------------------------------------------------


@router.get("/s/{code}/clusters")
def clusters(code: str, request: Request, db: DbDep) -> Response:
    """The clusters forming (polled until live updates arrive)."""
    actor = participant_actor(request, db, code)
    if isinstance(actor, Response):
        return actor
    if not is_htmx(request):
        return RedirectResponse(f"/s/{actor.session.code}", status_code=303)
    return render(request, "participant/_clusters.html", clusters_context(db, actor.session))


# --- scoring ---------------------------------------------------------------------------------


def rating_input(relevance: str, policy_level: str) -> RatingIn:
    """The submitted score, with a message per missing or invalid choice."""
    try:
        return RatingIn.model_validate({"relevance": relevance, "policy_level": policy_level})
    except ValidationError as exc:
        fields = {str(e["loc"][0]) for e in exc.errors() if e.get("loc")}
        if "relevance" in fields:
            raise InvalidInput(
                "Choose how relevant this solution is, from 1 to 5.", field="relevance"
            ) from None
        raise InvalidInput(
            "Choose the policy level this solution should be addressed at.",
            field="policy_level",
        ) from None


@router.post("/s/{code}/clusters/{cluster_id}/rating")
def rate(code: str, cluster_id: int, request: Request, db: DbDep, form: FormDep) -> Response:
    """Save this participant's score of one cluster (a second save replaces it)."""
    actor = participant_actor(request, db, code)
    if isinstance(actor, Response):
        return actor
    session = actor.session
    relevance = form_text(form, "relevance")
    level = form_text(form, "policy_level")
    try:
        matrix_service.rate(db, actor, cluster_id, rating_input(relevance, level))
    except AppError as exc:
        db.rollback()
        cluster = get_cluster(db, session, cluster_id)
        card = score_card(db, actor, cluster)
        card.relevance = parse_int(relevance)
        card.policy_level = level or None
        card.error, card.error_field = exc.message, exc.field
        if is_htmx(request):
            context = {"session": session, "card": card, "focus_card": True}
            return render(
                request,
                "participant/_score_card.html",
                context,
                status_code=exc.status_code,
                headers=_error_headers(exc),
            )
        view = "scoring" if isinstance(exc, WrongPhase) else None
        context = participant_context(request, db, actor, view_phase=view, score_override=card)
        return render(request, PAGE, context, status_code=exc.status_code)
    if not is_htmx(request):
        return RedirectResponse(f"/s/{session.code}#cluster-{cluster_id}", status_code=303)
    card = score_card(db, actor, get_cluster(db, session, cluster_id))
    card.just_saved = True
    context = {
        "session": session,
        "card": card,
        "focus_card": True,
        "oob_progress": True,
        **scoring_progress_context(db, actor),
    }
    return render(request, "participant/_score_saved.html", context, headers=toast("Score saved."))
