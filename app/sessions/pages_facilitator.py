"""The facilitator's pages of a session: the dashboard (phases, counts, settings), the
brainstorm board (moderation) and the projector view."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.db import DbDep
from app.errors import AppError, on_refusal
from app.i18n import _, use_language
from app.models_base import PathId
from app.sessions import service
from app.sessions.auth import FacilitatorPageDep, reload_actor
from app.sessions.forms import SettingsForm
from app.sessions.models import WorkshopSession
from app.sessions.views import (
    brainstorm_board_context,
    dash_counts_context,
    dashboard_context,
    projector_context,
)
from app.vocabulary import PHASES, phase_name
from app.web import FormDep, form_flag, form_text, is_htmx, render, see_other, toast

router = APIRouter(include_in_schema=False)


def dashboard_url(code: str, anchor: str = "") -> str:
    return f"/s/{code}/facilitate" + (f"#{anchor}" if anchor else "")


# --- dashboard -------------------------------------------------------------------------------


@router.get("/s/{code}/facilitate")
def dashboard(request: Request, db: DbDep, actor: FacilitatorPageDep) -> Response:
    """The facilitator's dashboard: phases, live counts, settings, join details."""
    context = dashboard_context(
        request, db, actor.session, settings_saved=request.query_params.get("saved") == "1"
    )
    return render(request, "facilitator/dashboard.html", context, block="dashboard")


@router.get("/s/{code}/facilitate/counts")
def dashboard_counts(request: Request, db: DbDep, actor: FacilitatorPageDep) -> Response:
    """The counts region alone (polled until live updates arrive)."""
    if not is_htmx(request):
        return RedirectResponse(dashboard_url(actor.session.code), status_code=303)
    return render(request, "facilitator/_dash_counts.html", dash_counts_context(db, actor.session))


def _is_backwards(session: WorkshopSession, target: str) -> bool:
    return target in PHASES and PHASES.index(target) < PHASES.index(session.phase)  # type: ignore[arg-type]


@router.get("/s/{code}/facilitate/phase")
def confirm_phase(request: Request, actor: FacilitatorPageDep, to: str = "") -> Response:
    """Without JavaScript, going back asks here first (with it, a dialog does)."""
    session = actor.session
    if not _is_backwards(session, to):
        return RedirectResponse(dashboard_url(session.code), status_code=303)
    context = {"session": session, "target": to, "nav_active": "dashboard"}
    return render(request, "sessions/confirm_phase.html", context)


@router.post("/s/{code}/facilitate/phase")
def change_phase(request: Request, db: DbDep, actor: FacilitatorPageDep, form: FormDep) -> Response:
    """Move the session to another phase; going back needs a confirmation."""
    session = actor.session
    target = form_text(form, "phase")
    if _is_backwards(session, target) and not form_flag(form, "confirmed"):
        return see_other(request, f"/s/{session.code}/facilitate/phase?to={target}")

    def refused(db: Session, error: AppError) -> Response | None:
        if not is_htmx(request):
            return None
        again = reload_actor(db, actor)
        context = dashboard_context(request, db, again.session, phase_error=error.message)
        return render(
            request, "facilitator/_dash_phase.html", context, status_code=error.status_code
        )

    on_refusal(request, refused)
    service.change_phase(db, session, target)
    if not is_htmx(request):
        return RedirectResponse(dashboard_url(session.code), status_code=303)
    context = dashboard_context(request, db, session)
    return render(
        request,
        "facilitator/_dash_phase.html",
        context,
        headers=toast(_("The session is now in the %(phase)s phase.", phase=phase_name(target))),
    )


@router.post("/s/{code}/facilitate/settings")
def update_settings(
    request: Request, db: DbDep, actor: FacilitatorPageDep, form: FormDep
) -> Response:
    """Change the title, categories and options; errors are shown next to the field."""
    typed = SettingsForm.from_form(form)

    def refused(db: Session, error: AppError) -> Response:
        again = reload_actor(db, actor)
        context = dashboard_context(
            request,
            db,
            again.session,
            settings_form=typed,
            settings_errors={error.field or "title": error.message},
        )
        template = "facilitator/_dash_settings.html" if is_htmx(request) else None
        return render(
            request,
            template or "facilitator/dashboard.html",
            context,
            status_code=error.status_code,
        )

    on_refusal(request, refused)
    session = actor.session
    service.update_settings(db, session, typed.to_update())
    if not is_htmx(request):
        url = f"{dashboard_url(session.code)}?saved=1#dash-settings"
        return RedirectResponse(url, status_code=303)
    context = dashboard_context(request, db, session, settings_saved=True)
    context["oob_title"] = True
    return render(
        request, "facilitator/_dash_settings.html", context, headers=toast(_("Settings saved."))
    )


# --- brainstorm board (moderation) -----------------------------------------------------------


def brainstorm_url(code: str, anchor: str = "") -> str:
    return f"/s/{code}/facilitate/brainstorm" + (f"#{anchor}" if anchor else "")


@router.get("/s/{code}/facilitate/brainstorm")
def brainstorm_page(
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    region: str | None = None,
    seen: int | None = None,
    seq: int | None = None,
) -> Response:
    """All contributions per challenge, with authors, counts, edit and remove."""
    if region == "counts" and is_htmx(request):
        if seq is not None and seq == actor.session.last_event_seq:
            return Response(status_code=204)
        context = brainstorm_board_context(db, actor)
        context["new"] = max(0, context["total"] - seen) if seen is not None else 0
        context["seen"] = seen if seen is not None else context["total"]
        return render(request, "facilitator/_board_counts_update.html", context)
    context = brainstorm_board_context(db, actor)
    context["seen"] = context["total"]
    return render(request, "facilitator/brainstorm.html", context, block="board")


@router.post("/s/{code}/facilitate/brainstorm/contributions/{contribution_id}/edit")
def brainstorm_edit(
    contribution_id: PathId,
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    text: Annotated[str, Form()] = "",
) -> Response:
    """Rewrite an inappropriate contribution; the form comes back with the message if refused."""

    def refused(db: Session, error: AppError) -> Response | None:
        if error.field is None:
            return None
        again = reload_actor(db, actor)
        context = brainstorm_board_context(db, again)
        context["seen"] = context["total"]
        context["editing"] = {"id": contribution_id, "text": text, "error": error.message}
        context["c"] = service.get_contribution(db, again.session, contribution_id)
        template = (
            "facilitator/_board_contribution.html"
            if is_htmx(request)
            else "facilitator/brainstorm.html"
        )
        return render(request, template, context, status_code=error.status_code)

    on_refusal(request, refused)
    contribution = service.edit_contribution(db, actor, contribution_id, text)
    if not is_htmx(request):
        anchor = f"contribution-{contribution.id}"
        return RedirectResponse(brainstorm_url(actor.session.code, anchor), status_code=303)
    context = brainstorm_board_context(db, actor)
    context["c"] = contribution
    return render(
        request,
        "facilitator/_board_contribution.html",
        context,
        headers=toast(_("Contribution updated.")),
    )


@router.post("/s/{code}/facilitate/brainstorm/contributions/{contribution_id}/remove")
def brainstorm_remove(
    contribution_id: PathId, request: Request, db: DbDep, actor: FacilitatorPageDep
) -> Response:
    """Remove an inappropriate contribution (the page asks for confirmation first)."""
    contribution = service.get_contribution(db, actor.session, contribution_id)
    challenge_id = contribution.challenge_id
    service.remove_contribution(db, actor, contribution_id)
    if not is_htmx(request):
        anchor = f"brainstorm-challenge-{challenge_id}"
        return RedirectResponse(brainstorm_url(actor.session.code, anchor), status_code=303)
    context = brainstorm_board_context(db, actor)
    context["seen"] = context["total"]
    return render(
        request,
        "facilitator/brainstorm.html",
        context,
        block="board",
        headers=toast(_("Contribution removed.")),
    )


# --- projector -------------------------------------------------------------------------------


@router.get("/s/{code}/projector")
def projector(request: Request, db: DbDep, actor: FacilitatorPageDep) -> Response:
    """The second screen for the room: join details, then the phase's progress; read-only.
    In the session's language, whatever the facilitator's browser speaks."""
    with use_language(actor.session.language):
        context = projector_context(request, db, actor.session)
        response = render(request, "projector/projector.html", context, block="projector_body")
    response.headers["Content-Language"] = actor.session.language
    return response
