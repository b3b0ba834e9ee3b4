"""HTML pages around a session: landing, creating, signing the facilitator in, the
facilitator's dashboard and the projector view. Participant pages: `pages_participant`."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.config import get_settings
from app.db import DbDep
from app.errors import AppError, Forbidden, InvalidInput, NotAuthenticated, NotFound
from app.ratelimit import limit
from app.sessions import service
from app.sessions.api import check_organiser_key, facilitator_url
from app.sessions.auth import (
    find_session,
    normalise_code,
    request_token,
    resolve_actor,
    set_auth_cookie,
)
from app.sessions.create_form import ChallengeBlock, NewSessionForm, lines
from app.sessions.labs import LABS
from app.sessions.models import SessionSettingsUpdate, WorkshopSession
from app.sessions.page_context import (
    dash_counts_context,
    join_context,
    phase_context,
    projector_context,
)
from app.sessions.page_utils import (
    FormDep,
    facilitator_actor,
    form_flag,
    form_text,
    no_store,
    parse_int,
    see_other,
    toast,
)
from app.sessions.pages_participant import router as participant_router
from app.templating import is_htmx, render
from app.vocabulary import PHASES

router = APIRouter(include_in_schema=False)
router.include_router(participant_router)

CREATED_COOKIE = "policylab_created_{code}"
CREATED_SECONDS = 15 * 60


def created_cookie(code: str) -> str:
    """A short-lived marker: the facilitator link is shown once, right after creation."""
    return CREATED_COOKIE.format(code=normalise_code(code))


# --- landing and creating --------------------------------------------------------------------


@router.get("/")
def landing(request: Request) -> Response:
    """Short introduction, join by code, create a session."""
    deleted = normalise_code(request.query_params.get("deleted", ""))[:12]
    return render(
        request,
        "sessions/landing.html",
        {"labs": list(LABS.values()), "deleted": deleted if deleted.isalnum() else ""},
    )


def _render_new(
    request: Request,
    form: NewSessionForm,
    *,
    errors: dict[str, str] | None = None,
    focus: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "form": form,
        "errors": errors or {},
        "focus": focus,
        "labs": list(LABS.values()),
        "needs_key": bool(get_settings().organiser_key),
    }
    return render(request, "sessions/new.html", context, block="new_form", status_code=status_code)


@router.get("/new")
def new_session_form(request: Request, template: str | None = None) -> Response:
    """The create form, empty or pre-filled from a built-in lab template."""
    lab = LABS.get(template or "")
    if template and lab is None:
        raise NotFound("There is no lab template with this name.")
    return _render_new(request, NewSessionForm.from_lab(lab) if lab else NewSessionForm())


@router.post("/new")
def create_session(request: Request, db: DbDep, form: FormDep) -> Response:
    """Create the session — or add/remove a challenge block and show the form again."""
    data = NewSessionForm.from_form(form)
    remove = parse_int(form_text(form, "remove") or None)
    if remove is not None:
        if len(data.challenges) > 1 and 0 <= remove < len(data.challenges):
            del data.challenges[remove]
        return _render_new(request, data, focus="challenges-heading")
    if form_text(form, "action") == "add_challenge":
        if data.can_add:
            data.challenges.append(ChallengeBlock())
        return _render_new(
            request, data, focus=f"field-challenges-{len(data.challenges) - 1}-title"
        )
    try:
        try:
            check_organiser_key(form_text(form, "organiser_key") or None)
        except Forbidden as exc:
            exc.field = "organiser_key"
            raise
        limit(request, "create_session")
        created = service.create_session(db, data.to_create())
    except AppError as exc:
        db.rollback()
        errors = {data.form_field(exc.field): exc.message}
        return _render_new(request, data, errors=errors, status_code=exc.status_code)
    return _after_create(request, created)


@router.post("/new/template")
def create_from_template(request: Request, db: DbDep, form: FormDep) -> Response:
    """Create a session straight from a built-in lab template."""
    lab = LABS.get(form_text(form, "template"))
    if lab is None:
        raise NotFound("There is no lab template with this name.")
    check_organiser_key(form_text(form, "organiser_key") or None)
    limit(request, "create_session")
    return _after_create(request, service.create_session(db, lab.to_create()))


def _after_create(request: Request, created: service.CreatedSession) -> Response:
    code = created.session.code
    response = see_other(request, f"/s/{code}/created")
    # The creator is signed in as facilitator at once; the marker lets the next page show
    # the facilitator link this one time.
    set_auth_cookie(response, code, created.facilitator_token)
    response.set_cookie(
        created_cookie(code),
        "1",
        max_age=CREATED_SECONDS,
        httponly=True,
        samesite="lax",
        secure=get_settings().https,
        path=f"/s/{code}/created",
    )
    return no_store(response)


@router.get("/s/{code}/created")
def created_page(code: str, request: Request, db: DbDep) -> Response:
    """The facilitator link, shown once after creation, with the join details."""
    actor = facilitator_actor(request, db, code)
    session = actor.session
    marker = created_cookie(session.code)
    show_link = request.cookies.get(marker) == "1"
    token = request_token(request, session.code) if show_link else None
    context = {
        "session": session,
        "facilitator_url": facilitator_url(request, session.code, token) if token else None,
        **join_context(request, session),
    }
    response = render(request, "sessions/created.html", context)
    if show_link:
        response.delete_cookie(marker, path=f"/s/{session.code}/created")
    return no_store(response)


# --- facilitator sign-in ---------------------------------------------------------------------


def _facilitator_session(db: Session, code: str, key: str) -> WorkshopSession:
    """The session whose facilitator key this is; 404 unknown code, 403 any other key."""
    session = find_session(db, code)
    try:
        actor = resolve_actor(db, session, key) if key else None
    except (NotAuthenticated, Forbidden):
        actor = None
    if actor is None or not actor.is_facilitator:
        raise Forbidden(
            "This facilitator key does not open this session. Check that you copied the "
            "whole facilitator link.",
            field="key",
        )
    return session


def _signed_in(session: WorkshopSession, key: str) -> Response:
    response = RedirectResponse(f"/s/{session.code}/facilitate", status_code=303)
    set_auth_cookie(response, session.code, key)
    return no_store(response)


@router.get("/f/{code}")
def facilitator_link(code: str, request: Request, db: DbDep) -> Response:
    """Exchange the facilitator link's key for the cookie, then open the dashboard."""
    key = request.query_params.get("key", "").strip()
    return _signed_in(_facilitator_session(db, code, key), key)


@router.get("/f")
def facilitator_key_form(request: Request) -> Response:
    """Sign in as facilitator on another device with the code and key."""
    return render(request, "sessions/facilitator_key.html", {"code": "", "errors": {}})


def split_link(code: str, key: str) -> tuple[str, str]:
    """Accept a pasted facilitator link in the key field (and take its code)."""
    if "key=" in key:
        parts = urlsplit(key if "://" in key or key.startswith("/") else f"/{key}")
        found = parse_qs(parts.query).get("key", [""])[0]
        path = [p for p in parts.path.split("/") if p]
        if not code.strip() and len(path) >= 2 and path[-2] == "f":
            code = path[-1]
        key = found
    return code.strip(), key.strip()


@router.post("/f")
def facilitator_key_submit(request: Request, db: DbDep, form: FormDep) -> Response:
    """Check the code and key; sign in or show the form again (the key is never echoed)."""
    code, key = split_link(form_text(form, "code"), form_text(form, "key"))
    try:
        if not code:
            raise InvalidInput("Enter the session code.", field="code")
        if not key:
            raise InvalidInput(
                "Enter the facilitator key, or paste the whole facilitator link.", field="key"
            )
        try:
            session = _facilitator_session(db, code, key)
        except NotFound as exc:
            exc.field = "code"
            raise
    except AppError as exc:
        context = {"code": code, "errors": {exc.field or "key": exc.message}}
        return render(
            request, "sessions/facilitator_key.html", context, status_code=exc.status_code
        )
    return _signed_in(session, key)


# --- dashboard -------------------------------------------------------------------------------


@dataclass
class SettingsForm:
    title: str
    categories: str
    show_contributions: bool
    show_names: bool
    place: str
    organiser: str
    lab_date: str

    @classmethod
    def from_session(cls, session: WorkshopSession) -> "SettingsForm":
        return cls(
            title=session.title,
            categories="\n".join(session.categories),
            show_contributions=session.show_contributions,
            show_names=session.show_names,
            place=session.place,
            organiser=session.organiser,
            lab_date=session.lab_date,
        )

    @classmethod
    def from_form(cls, form: Any) -> "SettingsForm":
        return cls(
            title=form_text(form, "title"),
            categories=form_text(form, "categories"),
            show_contributions=form_flag(form, "show_contributions"),
            show_names=form_flag(form, "show_names"),
            place=form_text(form, "place"),
            organiser=form_text(form, "organiser"),
            lab_date=form_text(form, "lab_date"),
        )

    def to_update(self) -> SessionSettingsUpdate:
        return SessionSettingsUpdate(
            title=self.title,
            categories=lines(self.categories),
            show_contributions=self.show_contributions,
            show_names=self.show_names,
            place=self.place,
            organiser=self.organiser,
            lab_date=self.lab_date,
        )


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


@router.get("/s/{code}/facilitate")
def dashboard(code: str, request: Request, db: DbDep) -> Response:
    """The facilitator's dashboard: phases, live counts, settings, join details."""
    actor = facilitator_actor(request, db, code)
    context = dashboard_context(
        request, db, actor.session, settings_saved=request.query_params.get("saved") == "1"
    )
    return render(request, "facilitator/dashboard.html", context, block="dashboard")


@router.get("/s/{code}/facilitate/counts")
def dashboard_counts(code: str, request: Request, db: DbDep) -> Response:
    """The counts region alone (polled until live updates arrive)."""
    actor = facilitator_actor(request, db, code)
    if not is_htmx(request):
        return RedirectResponse(f"/s/{actor.session.code}/facilitate", status_code=303)
    return render(request, "facilitator/_dash_counts.html", dash_counts_context(db, actor.session))


def _is_backwards(session: WorkshopSession, target: str) -> bool:
    return target in PHASES and PHASES.index(target) < PHASES.index(session.phase)  # type: ignore[arg-type]


@router.get("/s/{code}/facilitate/phase")
def confirm_phase(code: str, request: Request, db: DbDep, to: str = "") -> Response:
    """Without JavaScript, going back asks here first (with it, a dialog does)."""
    actor = facilitator_actor(request, db, code)
    session = actor.session
    if not _is_backwards(session, to):
        return RedirectResponse(f"/s/{session.code}/facilitate", status_code=303)
    context = {"session": session, "target": to, "nav_active": "dashboard"}
    return render(request, "sessions/confirm_phase.html", context)


@router.post("/s/{code}/facilitate/phase")
def change_phase(code: str, request: Request, db: DbDep, form: FormDep) -> Response:
    """Move the session to another phase; going back needs a confirmation."""
    actor = facilitator_actor(request, db, code)
    session = actor.session
    target = form_text(form, "phase")
    if _is_backwards(session, target) and not form_flag(form, "confirmed"):
        return see_other(request, f"/s/{session.code}/facilitate/phase?to={target}")
    try:
        service.change_phase(db, session, target)
    except AppError as exc:
        db.rollback()
        if not is_htmx(request):
            raise
        context = dashboard_context(request, db, session, phase_error=exc.message)
        return render(request, "facilitator/_dash_phase.html", context, status_code=exc.status_code)
    if not is_htmx(request):
        return RedirectResponse(f"/s/{session.code}/facilitate", status_code=303)
    context = dashboard_context(request, db, session)
    label = str(target).capitalize()
    return render(
        request,
        "facilitator/_dash_phase.html",
        context,
        headers=toast(f"The session is now in the {label} phase."),
    )


@router.post("/s/{code}/facilitate/settings")
def update_settings(code: str, request: Request, db: DbDep, form: FormDep) -> Response:
    """Change the title, categories and options; errors are shown next to the field."""
    actor = facilitator_actor(request, db, code)
    session = actor.session
    typed = SettingsForm.from_form(form)
    try:
        service.update_settings(db, session, typed.to_update())
    except AppError as exc:
        db.rollback()
        db.refresh(session)
        context = dashboard_context(
            request,
            db,
            session,
            settings_form=typed,
            settings_errors={exc.field or "title": exc.message},
        )
        if is_htmx(request):
            return render(
                request, "facilitator/_dash_settings.html", context, status_code=exc.status_code
            )
        return render(request, "facilitator/dashboard.html", context, status_code=exc.status_code)
    if not is_htmx(request):
        return RedirectResponse(
            f"/s/{session.code}/facilitate?saved=1#dash-settings", status_code=303
        )
    context = dashboard_context(request, db, session, settings_saved=True)
    context["oob_title"] = True
    return render(
        request, "facilitator/_dash_settings.html", context, headers=toast("Settings saved.")
    )


# --- projector -------------------------------------------------------------------------------


@router.get("/s/{code}/projector")
def projector(code: str, request: Request, db: DbDep) -> Response:
    """The second screen for the room: join details, then the phase's progress; read-only."""
    actor = facilitator_actor(request, db, code)
    context = projector_context(request, db, actor.session)
    return render(request, "projector/projector.html", context, block="projector_body")
