"""The facilitator's pages of a session: the dashboard (phases, counts, settings), the
brainstorm board (moderation) and the projector view."""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.db import DbDep
from app.errors import AppError, on_refusal
from app.i18n import _, ngettext, use_language
from app.models_base import PathId
from app.sessions import service
from app.sessions.auth import FacilitatorPageDep, reload_actor
from app.sessions.forms import SettingsForm, selected_ids
from app.sessions.models import SessionSettingsUpdate, WorkshopSession
from app.sessions.views import (
    brainstorm_board_context,
    bulk_removal_context,
    dash_counts_context,
    dashboard_context,
    participant_row,
    phase_context,
    projector_context,
)
from app.vocabulary import PHASES, phase_name
from app.web import (
    FormDep,
    form_flag,
    form_text,
    is_htmx,
    parse_int,
    render,
    see_other,
    toast,
)

router = APIRouter(include_in_schema=False)


def dashboard_url(code: str, anchor: str = "") -> str:
    return f"/s/{code}/facilitate" + (f"#{anchor}" if anchor else "")


# --- dashboard -------------------------------------------------------------------------------


@router.get("/s/{code}/facilitate")
def dashboard(request: Request, db: DbDep, actor: FacilitatorPageDep) -> Response:
    """The facilitator's dashboard: phases, live counts, settings, join details."""
    context = dashboard_context(
        request,
        db,
        actor.session,
        settings_saved=request.query_params.get("saved") == "1",
        removed=parse_int(request.query_params.get("removed")),
    )
    return render(request, "facilitator/dashboard.html", context, block="dashboard")


@router.get("/s/{code}/facilitate/counts")
def dashboard_counts(request: Request, db: DbDep, actor: FacilitatorPageDep) -> Response:
    """The counts region alone (polled until live updates arrive)."""
    if not is_htmx(request):
        return RedirectResponse(dashboard_url(actor.session.code), status_code=303)
    return render(request, "facilitator/_dash_counts.html", dash_counts_context(db, actor.session))


def _needs_confirmation(session: WorkshopSession, target: str) -> bool:
    """Going back, or skipping over a phase, is confirmed first; the next phase is not."""
    if target not in PHASES:
        return False
    step = PHASES.index(target) - PHASES.index(session.phase)  # type: ignore[arg-type]
    return step < 0 or step > 1


@router.get("/s/{code}/facilitate/phase")
def confirm_phase(request: Request, actor: FacilitatorPageDep, to: str = "") -> Response:
    """Without JavaScript, going back or skipping a phase asks here first (with it, a dialog
    does)."""
    session = actor.session
    if not _needs_confirmation(session, to):
        return RedirectResponse(dashboard_url(session.code), status_code=303)
    context = {
        "session": session,
        "target": to,
        "nav_active": "dashboard",
        **phase_context(session),
    }
    return render(request, "sessions/confirm_phase.html", context)


@router.post("/s/{code}/facilitate/phase")
def change_phase(request: Request, db: DbDep, actor: FacilitatorPageDep, form: FormDep) -> Response:
    """Move the session to another phase; going back needs a confirmation."""
    session = actor.session
    target = form_text(form, "phase")
    if _needs_confirmation(session, target) and not form_flag(form, "confirmed"):
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


@router.post("/s/{code}/facilitate/joins")
def set_joins(request: Request, db: DbDep, actor: FacilitatorPageDep, form: FormDep) -> Response:
    """Close the session to new participants, or open it again (those in it stay)."""
    session = actor.session
    is_open = form_flag(form, "joins_open")
    service.update_settings(db, session, SessionSettingsUpdate(joins_open=is_open))
    if not is_htmx(request):
        return RedirectResponse(dashboard_url(session.code, "dash-join"), status_code=303)
    message = (
        _("The session is open to new participants again.")
        if is_open
        else _("The session is closed to new participants. Everyone in it can go on.")
    )
    context = dashboard_context(request, db, session)
    return render(request, "facilitator/_dash_join.html", context, headers=toast(message))


def participant_remove_url(code: str, participant_id: int) -> str:
    return f"/s/{code}/facilitate/participants/{participant_id}/remove"


@router.get("/s/{code}/facilitate/participants/{participant_id}/remove")
def confirm_remove_participant(
    participant_id: PathId, request: Request, db: DbDep, actor: FacilitatorPageDep
) -> Response:
    """Without JavaScript, removing a participant asks here first (with it, a dialog does)."""
    row = participant_row(db, actor.session, participant_id)
    context = {"session": actor.session, "nav_active": "dashboard", "row": row}
    return render(request, "facilitator/confirm_remove.html", context)


@router.post("/s/{code}/facilitate/participants/{participant_id}/remove")
def remove_participant(
    participant_id: PathId,
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    form: FormDep,
) -> Response:
    """Remove a participant with everything they wrote and scored, once confirmed."""
    session = actor.session
    if not form_flag(form, "confirmed"):
        return see_other(request, participant_remove_url(session.code, participant_id))
    row = participant_row(db, session, participant_id)
    service.remove_participant(db, actor, participant_id)
    message = row.removed_message
    if not is_htmx(request):
        url = f"{dashboard_url(session.code)}?removed={row.contributions}#dash-people"
        return RedirectResponse(url, status_code=303)
    context = dash_counts_context(db, session)
    return render(request, "facilitator/_dash_counts.html", context, headers=toast(message))


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


@router.get("/s/{code}/facilitate/brainstorm/remove")
def bulk_remove_bar(request: Request, actor: FacilitatorPageDep) -> Response:
    """The bulk-removal bar as it is before anything is asked (Cancel goes back to it)."""
    if not is_htmx(request):
        return RedirectResponse(brainstorm_url(actor.session.code), status_code=303)
    return render(request, "facilitator/_bulk_bar.html", {"session": actor.session})


@router.post("/s/{code}/facilitate/brainstorm/remove")
def brainstorm_bulk_remove(
    request: Request, db: DbDep, actor: FacilitatorPageDep, form: FormDep
) -> Response:
    """Remove the selected contributions, all of them or none; the first post asks to
    confirm (in the bar with htmx, on a page without), the confirmed one removes."""
    session = actor.session
    ids = selected_ids(form, "contribution_ids")
    if not ids:
        if not is_htmx(request):
            return RedirectResponse(brainstorm_url(session.code), status_code=303)
        context = {"session": session, "nothing_selected": True}
        return render(request, "facilitator/_bulk_bar.html", context)
    if not form_flag(form, "confirmed"):
        context = {**bulk_removal_context(db, actor, ids), "nav_active": "brainstorm"}
        if is_htmx(request):
            return render(request, "facilitator/_bulk_bar.html", context)
        return render(request, "facilitator/confirm_remove.html", context)
    removed = service.remove_contributions(db, actor, ids)
    if not is_htmx(request):
        return RedirectResponse(brainstorm_url(session.code), status_code=303)
    context = brainstorm_board_context(db, actor)
    context["seen"] = context["total"]
    message = ngettext("%(num)s contribution removed.", "%(num)s contributions removed.", removed)
    return render(request, "facilitator/_board_removed.html", context, headers=toast(message))


# --- projector -------------------------------------------------------------------------------


@router.get("/s/{code}/projector")
def projector(request: Request, db: DbDep, actor: FacilitatorPageDep) -> Response:
    """The second screen for the room: join details, then the phase's progress; read-only.
    In the session's language, whatever the facilitator's browser speaks. `?slide=N`: the
    results page shown first (the arrows are links, so they work without scripts too)."""
    with use_language(actor.session.language):
        context = projector_context(request, db, actor.session)
        context["slide"] = parse_int(request.query_params.get("slide")) or 1
        response = render(request, "projector/projector.html", context, block="projector_body")
    response.headers["Content-Language"] = actor.session.language
    return response
