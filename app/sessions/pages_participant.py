"""HTML pages of a participant: joining, the page that follows the session's phase, and
the brainstorm on it (their own contributions). Scoring is in `app.matrix.pages`, the
clusters forming in `app.clustering.pages`."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.db import DbDep
from app.errors import AppError, InvalidInput, NotFound, on_refusal
from app.i18n import _
from app.matrix.views import saved_note
from app.models_base import PathId
from app.ratelimit import CallerDep
from app.sessions import service
from app.sessions.auth import (
    Actor,
    ParticipantPageDep,
    find_session,
    optional_actor,
    reload_actor,
    session_by_code,
    set_auth_cookie,
)
from app.sessions.models import WorkshopSession
from app.sessions.views import (
    ContributionForm,
    EditState,
    contribution_item_context,
    others_context,
    participant_context,
)
from app.web import FormDep, form_text, is_htmx, no_store, parse_int, render, see_other, toast

router = APIRouter(include_in_schema=False)

PAGE = "participant/page.html"


def page_url(session: WorkshopSession, challenge_id: int | None = None, **extra: Any) -> str:
    """The participant page, on one challenge."""
    query = [f"challenge={challenge_id}"] if challenge_id else []
    query += [f"{k}={v}" for k, v in extra.items()]
    return f"/s/{session.code}" + ("?" + "&".join(query) if query else "")


# --- joining ---------------------------------------------------------------------------------


def _code_form(request: Request, code: str, message: str | None, status_code: int) -> Response:
    context = {"session": None, "code": code, "code_error": message}
    return render(request, "participant/join.html", context, status_code=status_code)


def _unknown_code_asks_again(request: Request, code: str) -> None:
    """An unknown code shows the code form again with the message, not an error page."""

    def refused(_db: Session, error: AppError) -> Response | None:
        if isinstance(error, NotFound):
            return _code_form(request, code, error.message, 404)
        return None

    on_refusal(request, refused)


@router.get("/join")
def join_by_code(request: Request, db: DbDep, caller: CallerDep, code: str = "") -> Response:
    """The landing page's join form: find the session by its code (any case)."""
    if not code.strip():
        return _code_form(request, "", None, 200)
    _unknown_code_asks_again(request, code)
    return RedirectResponse(f"/join/{find_session(db, code, caller).code}", status_code=303)


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
def join_form(code: str, request: Request, db: DbDep, caller: CallerDep) -> Response:
    """Ask for an optional display name; someone who already joined goes straight in."""
    _unknown_code_asks_again(request, code)
    session = find_session(db, code, caller)
    actor = optional_actor(db, session, request)
    if actor is not None and actor.participant is not None:
        return RedirectResponse(f"/s/{session.code}", status_code=303)
    return _join_page(request, session, actor)


@router.post("/join/{code}")
def join_submit(
    code: str, request: Request, db: DbDep, form: FormDep, caller: CallerDep
) -> Response:
    """Join: the cookie keeps the participant's identity in this browser."""
    _unknown_code_asks_again(request, code)
    session = find_session(db, code, caller)
    actor = optional_actor(db, session, request)
    if actor is not None and actor.participant is not None:
        return see_other(request, f"/s/{session.code}")
    name = form_text(form, "name")
    if actor is not None and actor.is_facilitator:
        return _join_page(request, session, actor, name=name, status_code=409)

    def refused(db: Session, error: AppError) -> Response:
        again = find_session(db, code)
        return _join_page(
            request, again, None, name=name, error=error.message, status_code=error.status_code
        )

    on_refusal(request, refused)
    _participant, token = service.join(db, session, name, caller)
    response = see_other(request, f"/s/{session.code}")
    set_auth_cookie(response, session.code, token)
    return no_store(response)


# --- the participant page --------------------------------------------------------------------


@router.get("/s/{code}")
def participant_page(request: Request, db: DbDep, actor: ParticipantPageDep) -> Response:
    """The page for the current phase; htmx asks only for the phase's region."""
    query = request.query_params
    challenge_id = parse_int(query.get("challenge"))
    form = ContributionForm(just_sent=query.get("sent") == "1")
    context = participant_context(
        request,
        db,
        actor,
        challenge_id=challenge_id,
        form=form,
        score_cluster=parse_int(query.get("cluster")),
        score_summary=query.get("step") == "summary",
        saved_note=saved_note(db, actor, parse_int(query.get("saved"))),
    )
    return no_store(render(request, PAGE, context, block="phase_content"))


@router.get("/s/{code}/phase")
def phase_check(code: str, db: DbDep, seen: str = "") -> Response:
    """Polled by the participant page: 204 while the phase is `seen`, else reload the page.

    Kept apart so that the live stream can replace it.
    """
    session = session_by_code(db, code)
    if session is None:
        return Response(status_code=200, headers={"HX-Refresh": "true"})
    if session.phase == seen:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    return Response(status_code=200, headers={"HX-Refresh": "true", "Cache-Control": "no-store"})


@router.post("/s/{code}/name")
def rename(request: Request, db: DbDep, actor: ParticipantPageDep, form: FormDep) -> Response:
    """Change the display name."""
    name = form_text(form, "name")

    def refused(db: Session, error: AppError) -> Response:
        again = reload_actor(db, actor)
        context = participant_context(request, db, again, name_value=name, name_error=error.message)
        template = "participant/_name.html" if is_htmx(request) else PAGE
        return render(request, template, context, status_code=error.status_code)

    on_refusal(request, refused)
    service.rename_participant(db, actor, name)
    if not is_htmx(request):
        return RedirectResponse(f"/s/{actor.session.code}?renamed=1#your-name", status_code=303)
    context = participant_context(request, db, actor, name_saved=True)
    context["oob_header"] = True
    return render(request, "participant/_name.html", context, headers=toast(_("Name saved.")))


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
def add_contribution(
    request: Request, db: DbDep, actor: ParticipantPageDep, form: FormDep
) -> Response:
    """Submit one contribution; a retry with the same client_id is stored once."""
    challenge_id = parse_int(form_text(form, "challenge_id"))
    text = form_text(form, "text")
    client_id = form_text(form, "client_id") or None

    def refused(db: Session, error: AppError) -> Response:
        failed = ContributionForm(text=text, error=error.message, focus=True)
        if client_id:
            failed.client_id = client_id
        again = reload_actor(db, actor)
        return _brainstorm_region(
            request, db, again, challenge_id, form=failed, status_code=error.status_code
        )

    on_refusal(request, refused)
    if challenge_id is None:
        raise InvalidInput(_("Choose a challenge first."), field="text")
    service.add_contribution(db, actor, challenge_id, text, client_id)
    if not is_htmx(request):
        return RedirectResponse(page_url(actor.session, challenge_id, sent=1), status_code=303)
    return _brainstorm_region(
        request,
        db,
        actor,
        challenge_id,
        # The form says "Sent" itself: a toast would cover the page on a phone.
        form=ContributionForm(just_sent=True, focus=True),
    )


def _item(
    request: Request,
    actor: Actor,
    contribution: Any,
    *,
    editing: EditState | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    context = contribution_item_context(actor, contribution, editing)
    return render(
        request,
        "participant/_contribution_item.html",
        context,
        status_code=status_code,
        headers=headers,
    )


@router.get("/s/{code}/contributions/{contribution_id}")
def show_contribution(
    contribution_id: PathId, request: Request, db: DbDep, actor: ParticipantPageDep
) -> Response:
    """One of my contributions (htmx: its list item, e.g. after “Cancel”)."""
    contribution = service.get_own_contribution(db, actor, contribution_id)
    if not is_htmx(request):
        url = page_url(actor.session, contribution.challenge_id)
        return RedirectResponse(f"{url}#contribution-{contribution.id}", status_code=303)
    return _item(request, actor, contribution)


@router.get("/s/{code}/contributions/{contribution_id}/edit")
def edit_contribution_form(
    contribution_id: PathId, request: Request, db: DbDep, actor: ParticipantPageDep
) -> Response:
    """The edit form of one of my contributions, in place."""
    contribution = service.get_own_contribution(db, actor, contribution_id)
    editing = EditState(contribution.id, contribution.text)  # type: ignore[arg-type]
    if is_htmx(request):
        return _item(request, actor, contribution, editing=editing)
    context = participant_context(
        request, db, actor, challenge_id=contribution.challenge_id, editing=editing
    )
    return no_store(render(request, PAGE, context))


@router.post("/s/{code}/contributions/{contribution_id}/edit")
def edit_contribution(
    contribution_id: PathId, request: Request, db: DbDep, actor: ParticipantPageDep, form: FormDep
) -> Response:
    """Save the rewritten text (while the brainstorm is open)."""
    text = form_text(form, "text")
    challenge_id = service.get_own_contribution(db, actor, contribution_id).challenge_id

    def refused(db: Session, error: AppError) -> Response:
        editing = EditState(contribution_id, text, error.message)
        again = reload_actor(db, actor)
        if is_htmx(request):
            contribution = service.get_own_contribution(db, again, contribution_id)
            return _item(
                request, again, contribution, editing=editing, status_code=error.status_code
            )
        return _brainstorm_region(
            request, db, again, challenge_id, editing=editing, status_code=error.status_code
        )

    on_refusal(request, refused)
    contribution = service.edit_contribution(db, actor, contribution_id, text)
    if not is_htmx(request):
        url = page_url(actor.session, challenge_id)
        return RedirectResponse(f"{url}#contribution-{contribution_id}", status_code=303)
    return _item(request, actor, contribution, headers=toast(_("Saved.")))


@router.post("/s/{code}/contributions/{contribution_id}/delete")
def delete_contribution(
    contribution_id: PathId, request: Request, db: DbDep, actor: ParticipantPageDep
) -> Response:
    """Delete one of my contributions (while the brainstorm is open)."""
    challenge_id = service.get_own_contribution(db, actor, contribution_id).challenge_id

    def refused(db: Session, error: AppError) -> Response:
        again = reload_actor(db, actor)
        return _brainstorm_region(
            request,
            db,
            again,
            challenge_id,
            panel_error=error.message,
            status_code=error.status_code,
        )

    on_refusal(request, refused)
    service.remove_contribution(db, actor, contribution_id)
    if not is_htmx(request):
        return RedirectResponse(page_url(actor.session, challenge_id), status_code=303)
    return _brainstorm_region(request, db, actor, challenge_id, headers=toast(_("Deleted.")))


@router.get("/s/{code}/others")
def others(request: Request, db: DbDep, actor: ParticipantPageDep, challenge: str = "") -> Response:
    """Others' contributions to a challenge (polled until live updates arrive)."""
    challenge_id = parse_int(challenge)
    if not is_htmx(request) or challenge_id is None:
        return RedirectResponse(page_url(actor.session, challenge_id), status_code=303)
    service.get_challenge(db, actor.session, challenge_id)
    return render(request, "participant/_others.html", others_context(db, actor, challenge_id))
