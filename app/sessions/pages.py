"""HTML pages around a session: landing, creating, and signing the facilitator in.

The facilitator's dashboard, brainstorm board and projector are in `pages_facilitator`,
the participant's pages in `pages_participant`.
"""

from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.config import get_settings
from app.db import DbDep
from app.errors import AppError, Forbidden, InvalidInput, NotFound, on_refusal
from app.i18n import _
from app.ratelimit import Caller, CallerDep
from app.sessions import service
from app.sessions.auth import (
    FacilitatorPageDep,
    actor_for_token,
    check_organiser_key,
    find_session,
    normalise_code,
    request_token,
    set_auth_cookie,
)
from app.sessions.forms import ChallengeBlock, NewSessionForm
from app.sessions.labs import LABS
from app.sessions.links import facilitator_url
from app.sessions.models import WorkshopSession
from app.sessions.views import join_context
from app.web import FormDep, form_text, no_store, parse_int, render, see_other

router = APIRouter(include_in_schema=False)

CREATED_COOKIE = "policylab_created_{code}"
CREATED_SECONDS = 15 * 60


def created_cookie(code: str) -> str:
    """A short-lived marker: the facilitator link is shown once, right after creation.
    Over HTTPS it is `__Secure-` (its own path rules out `__Host-`)."""
    name = CREATED_COOKIE.format(code=normalise_code(code))
    return f"__Secure-{name}" if get_settings().https else name


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
        raise NotFound(_("There is no lab template with this name."))
    return _render_new(request, NewSessionForm.from_lab(lab) if lab else NewSessionForm())


@router.post("/new")
def create_session(request: Request, db: DbDep, form: FormDep, caller: CallerDep) -> Response:
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

    def refused(_db: Session, error: AppError) -> Response:
        errors = {data.form_field(error.field): error.message}
        return _render_new(request, data, errors=errors, status_code=error.status_code)

    on_refusal(request, refused)
    check_organiser_key(form_text(form, "organiser_key"), caller)
    return _after_create(request, service.create_session(db, data.to_create(), caller))


@router.post("/new/template")
def create_from_template(request: Request, db: DbDep, form: FormDep, caller: CallerDep) -> Response:
    """Create a session straight from a built-in lab template."""
    lab = LABS.get(form_text(form, "template"))
    if lab is None:
        raise NotFound(_("There is no lab template with this name."))
    check_organiser_key(form_text(form, "organiser_key"), caller)
    return _after_create(request, service.create_session(db, lab.to_create(), caller))


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
def created_page(request: Request, actor: FacilitatorPageDep) -> Response:
    """The facilitator link, shown once after creation, with the join details."""
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


def _facilitator_session(db: Session, code: str, key: str, caller: Caller) -> WorkshopSession:
    """The session whose facilitator key this is; 404 unknown code, 403 any other key."""
    session = find_session(db, code, caller)
    actor = actor_for_token(db, session, key)
    if actor is None or not actor.is_facilitator:
        raise Forbidden(
            _(
                "This facilitator key does not open this session. Check that you copied the "
                "whole facilitator link."
            ),
            field="key",
        )
    return session


def _signed_in(session: WorkshopSession, key: str) -> Response:
    response = RedirectResponse(f"/s/{session.code}/facilitate", status_code=303)
    set_auth_cookie(response, session.code, key)
    return no_store(response)


# Where a top-level navigation came from, as the browser tells (Fetch Metadata).
OTHER_SITES = {"cross-site", "same-site"}


@router.get("/f/{code}")
def facilitator_link(code: str, request: Request, db: DbDep, caller: CallerDep) -> Response:
    """Exchange the facilitator link's key for the cookie, then open the dashboard. A link
    followed from another site asks first: a page could otherwise sign this browser in to
    someone else's session (login CSRF)."""
    key = request.query_params.get("key", "").strip()
    session = _facilitator_session(db, code, key, caller)
    if request.headers.get("sec-fetch-site") in OTHER_SITES:
        context = {"session": session, "key": key}
        return no_store(render(request, "sessions/facilitator_confirm.html", context))
    return _signed_in(session, key)


@router.post("/f/{code}")
def facilitator_link_confirmed(code: str, db: DbDep, form: FormDep, caller: CallerDep) -> Response:
    """The facilitator confirmed signing in with the link's key."""
    key = form_text(form, "key").strip()
    return _signed_in(_facilitator_session(db, code, key, caller), key)


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
def facilitator_key_submit(
    request: Request, db: DbDep, form: FormDep, caller: CallerDep
) -> Response:
    """Check the code and key; sign in or show the form again (the key is never echoed)."""
    code, key = split_link(form_text(form, "code"), form_text(form, "key"))

    def refused(_db: Session, error: AppError) -> Response:
        field = error.field or ("code" if isinstance(error, NotFound) else "key")
        context = {"code": code, "errors": {field: error.message}}
        return render(
            request, "sessions/facilitator_key.html", context, status_code=error.status_code
        )

    on_refusal(request, refused)
    if not code:
        raise InvalidInput(_("Enter the session code."), field="code")
    if not key:
        raise InvalidInput(
            _("Enter the facilitator key, or paste the whole facilitator link."), field="key"
        )
    return _signed_in(_facilitator_session(db, code, key, caller), key)
