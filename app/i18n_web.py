"""Each person's language on the web: chosen per request, switchable on every page.

`LanguageMiddleware` (pure ASGI, outermost, so refusals of the other middleware and streamed
answers are in the same language) answers every request in the language of the
`policylab_lang` cookie if it names an available language, otherwise the best match of the
browser's `Accept-Language` (Babel's negotiation), otherwise English. Participants in one
room each keep their own. The projector and the report follow the session's language
instead: their routes render inside `use_language(session.language)`.

`POST /language` (the switcher in `base.html`'s footer: a plain form, so it works by keyboard
and without JavaScript) stores the choice in the cookie and goes back to the page.
"""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.i18n import DEFAULT_LANGUAGE, is_available, negotiate, use_language

LANGUAGE_COOKIE = "policylab_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

router = APIRouter(include_in_schema=False)


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value.strip().strip('"')
    return None


def request_language(cookie_header: str | None, accept_language: str | None) -> str:
    """The language a request is answered in: its cookie, its browser's wish, or English."""
    chosen = _cookie(cookie_header or "", LANGUAGE_COOKIE)
    if chosen and is_available(chosen):
        return chosen
    return negotiate(accept_language) or DEFAULT_LANGUAGE


class LanguageMiddleware:
    """Sets the language of the moment for the whole request (streams included) and says
    which it is (`Content-Language`; `Vary` so that caches keep one copy per language)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope["headers"]}
        language = request_language(
            headers.get(b"cookie", b"").decode("latin-1"),
            headers.get(b"accept-language", b"").decode("latin-1"),
        )

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                if "content-language" not in response_headers:  # the projector sets its own
                    response_headers["Content-Language"] = language
                response_headers.add_vary_header("Accept-Language")
                response_headers.add_vary_header("Cookie")
            await send(message)

        with use_language(language):
            await self.app(scope, receive, send_with_language)


# Query parameters never written back into a page: the facilitator link's key.
SECRET_PARAMETERS = frozenset({"key", "token"})


def return_url(request: Request) -> str:
    """Where the switcher goes back to: this page, without any secret of its address."""
    query = urlencode(
        [(k, v) for k, v in request.query_params.multi_items() if k not in SECRET_PARAMETERS]
    )
    return request.url.path + (f"?{query}" if query else "")


def _safe_next(target: str | None) -> str:
    """Back to a page of this site only (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.post("/language")
def choose_language(
    request: Request,
    lang: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> RedirectResponse:
    """Keep the chosen language in a cookie and go back to the page (an unknown code
    forgets the choice: the browser's language applies again)."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    secure = bool(getattr(request.app.state.settings, "https", False))
    if is_available(lang):
        response.set_cookie(
            LANGUAGE_COOKIE,
            lang,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=secure,
        )
    else:
        response.delete_cookie(LANGUAGE_COOKIE, httponly=True, samesite="lax", secure=secure)
    return response
