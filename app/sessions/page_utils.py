"""Helpers shared by the session pages: form reading, htmx-aware redirects, page guards."""

import json
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.errors import Forbidden
from app.sessions.auth import Actor, page_actor
from app.templating import is_htmx

FACILITATOR_ONLY = (
    "This page is for the facilitator of the session. Open the facilitator link you were "
    "given when the session was created, or enter the facilitator key on the sign-in page "
    "(/f), to sign in on this device."
)


async def read_form(request: Request) -> FormData:
    """The submitted form; read in a dependency so the routes themselves stay synchronous."""
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


def form_text(form: FormData, name: str, default: str = "") -> str:
    """A text field of the form (files and missing fields give `default`)."""
    value = form.get(name)
    return value if isinstance(value, str) else default


def form_flag(form: FormData, name: str) -> bool:
    """A checkbox: ticked when sent with any value other than an explicit off."""
    return form_text(form, name, "").lower() not in ("", "0", "false", "off", "no")


def parse_int(value: str | None) -> int | None:
    """An integer from a query or form value, or None when it is not one."""
    try:
        return int(value) if value is not None and value.strip() else None
    except ValueError:
        return None


def see_other(request: Request, url: str, headers: dict[str, str] | None = None) -> Response:
    """After a successful POST: 303 for plain forms, `HX-Redirect` for htmx (which would
    otherwise follow the redirect itself and swap the next page into the form)."""
    if is_htmx(request):
        response: Response = Response(status_code=200, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if headers:
        response.headers.update(headers)
    return response


def toast(message: str, level: str = "success") -> dict[str, str]:
    """Headers that make app.js show a toast (announced by the polite #toasts region)."""
    return {"HX-Trigger": json.dumps({"showToast": {"message": message, "level": level}})}


def no_store(response: Response) -> Response:
    """Pages carrying secrets or per-person state must not be cached."""
    response.headers["Cache-Control"] = "no-store"
    return response


def facilitator_actor(request: Request, db: Session, code: str) -> Actor:
    """The session's facilitator from the cookie; 404 for an unknown code, else 403."""
    actor = page_actor(request, db, code)
    if actor is None or not actor.is_facilitator:
        raise Forbidden(FACILITATOR_ONLY)
    return actor
