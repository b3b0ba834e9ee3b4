"""Browser safety for every response: security headers, cross-site request refusal, body cap,
and the refusal of values no handler should ever see (NUL, lone surrogates, deep JSON)."""

import json
import re
from http.cookies import SimpleCookie
from urllib.parse import unquote_to_bytes, urlsplit

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.i18n import N_, gettext

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The cookies that authenticate a browser (`app.sessions.auth.cookie_name`), with or without
# the `__Host-` prefix used over HTTPS.
AUTH_COOKIE_PREFIXES = ("policylab_", "__Host-policylab_")
CROSS_SITE = N_("Cross-site requests are not allowed.")
TOO_LARGE = N_("The request is too large.")
NO_ORIGIN = N_(
    "This form must be sent from Policy Lab's own pages: the browser did not say where the "
    "request came from. Reload the page and try again."
)


class SecurityMiddleware:
    """Pure ASGI (so streams pass through untouched)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        https: bool,
        max_body: int,
    ) -> None:
        self.app = app
        self.https = https
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            status, message = refusal
            await _send_json(send, status, message)
            return

        # A body without Content-Length (chunked) is counted as it arrives: past the cap the
        # client gets its 413 here and the app sees a disconnect, so it changes nothing.
        received = 0
        refused = False
        started = False

        async def capped_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    refused = True
                    if not started:
                        # Close the connection: the rest of the body is not read.
                        await _send_json(send, 413, TOO_LARGE, close_connection=True)
                    return {"type": "http.disconnect"}
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app answers is dropped
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                ]
                # A route may send a policy of its own (/docs); every other gets the app's.
                if not any(k.lower() == b"content-security-policy" for k, _ in headers):
                    extra.append((b"content-security-policy", CSP.encode()))
                if self.https:
                    extra.append(
                        (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
                    )
                message["headers"] = headers + extra
            await send(message)

        try:
            await self.app(scope, capped_receive, send_with_headers)
        except Exception:
            # The app stops reading at the disconnect it was given (e.g. ClientDisconnect in
            # a form or import route): that is the refusal already answered, not an error.
            if not refused:
                raise

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        length = headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_body:
            return 413, TOO_LARGE
        if scope["method"] in SAFE_METHODS:
            return None
        return cross_site_refusal(scope["path"], headers)


def has_auth_cookie(cookie_header: str) -> bool:
    """Whether the request carries a cookie that signs a browser into a session."""
    if "policylab_" not in cookie_header:
        return False
    cookies: SimpleCookie = SimpleCookie()
    try:
        cookies.load(cookie_header)
    except Exception:  # an unparsable header: assume the worst
        return True
    return any(name.startswith(AUTH_COOKIE_PREFIXES) for name in cookies)


def cross_site_refusal(path: str, headers: dict[str, str]) -> tuple[int, str] | None:
    """Why a state-changing request must be refused as possibly forged, or None.

    A request may skip the origin check only when a browser cannot have added its
    credentials: an API call (`/api/…`) that carries no session cookie authenticates by its
    bearer token, or not at all (creating, joining), and scripts send no `Origin`. Everything
    else — every page route (`/new`, `/f`, `/join/…`, facilitator and participant actions) and
    any API call carrying a session cookie, whatever its `Authorization` header — must show
    that it comes from our own pages: `Sec-Fetch-Site: same-origin` (or `none`, a request the
    user started), else an `Origin` naming this host. `Origin: null` and requests with
    neither header are refused; every browser Policy Lab supports sends one of them.
    """
    if path.startswith("/api/") and not has_auth_cookie(headers.get("cookie", "")):
        return None
    site = headers.get("sec-fetch-site")
    if site is not None:
        return None if site in ("same-origin", "none") else (403, CROSS_SITE)
    origin = headers.get("origin")
    if origin is None or origin == "null":
        return 403, NO_ORIGIN
    if urlsplit(origin).netloc != headers.get("host", ""):
        return 403, CROSS_SITE
    return None


# --- values no handler should see ------------------------------------------------------------

# A JSON `\uXXXX` escape (the backslashes before it tell whether it is one: an odd run), and
# the UTF-8 form of a surrogate (which Python's JSON reader decodes with "surrogatepass").
_JSON_ESCAPE = re.compile(rb"(\\+)u([0-9a-fA-F]{4})")
_RAW_SURROGATE = re.compile(rb"\xed[\xa0-\xbf]")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def json_body_problem(body: bytes) -> str | None:
    """Why a JSON body is refused before any handler reads it, or None.

    NUL and lone surrogates are never text: PostgreSQL cannot store them, and a lone
    surrogate cannot even be written back in an error message.
    """
    if b"\x00" in body or _RAW_SURROGATE.search(body):
        return BROKEN_TEXT
    if b"\\u" not in body:
        return None
    high_end: int | None = None  # where an escaped high surrogate ended, awaiting its low half
    for match in _JSON_ESCAPE.finditer(body):
        escaping = len(match.group(1)) % 2 == 1  # else an escaped backslash, then a plain "u"
        code = int(match.group(2), 16)
        if high_end is not None:
            if escaping and match.end(1) - 1 == high_end and 0xDC00 <= code <= 0xDFFF:
                high_end = None
                continue
            return BROKEN_TEXT
        if not escaping:
            continue
        if code == 0 or 0xDC00 <= code <= 0xDFFF:
            return BROKEN_TEXT
        if 0xD800 <= code <= 0xDBFF:
            high_end = match.end()
    return BROKEN_TEXT if high_end is not None else None


def too_deep(body: bytes) -> bool:
    """Whether Python's JSON reader runs out of stack on this body (nesting of about 1,000
    levels): the one JSON error it does not report as a decoding error."""
    try:
        json.loads(body)
    except RecursionError:
        return True
    except ValueError:
        pass  # not JSON, or broken: the handler reports it in its own words
    return False


# Below this many brackets a body cannot nest deep enough to matter; above it, it is read
# once in a worker thread (an import of a large session: some 50 ms for 4 MB).
DEPTH_CHECK_BRACKETS = 200
BROKEN_TEXT = N_("The request contains a NUL or a broken character, which text cannot hold.")
TOO_DEEP = N_("The JSON is nested too deeply.")
NUL_IN_ADDRESS = N_("The address contains a NUL character.")


class InputGuard:
    """Pure-ASGI middleware refusing, before any handler or database sees them, the values
    that are never meaningful and would otherwise end in a server error: a NUL in the path
    or query (400), a JSON body holding a NUL, a lone surrogate or a structure nested too
    deeply for Python's JSON reader (422). Form bodies are left to the text rules of `app.limits`
    (their values cannot carry surrogates: they are decoded with replacement)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(scope["query_string"]):
            await _send_json(send, 400, NUL_IN_ADDRESS)
            return
        if scope["method"] in SAFE_METHODS or _content_type(scope).startswith(FORM_TYPES):
            await self.app(scope, receive, send)
            return
        messages = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")
        problem = json_body_problem(body)
        brackets = body.count(b"[") + body.count(b"{")
        if (
            problem is None
            and brackets > DEPTH_CHECK_BRACKETS
            and await anyio.to_thread.run_sync(too_deep, body)
        ):
            problem = TOO_DEEP
        if problem is not None and messages[-1]["type"] == "http.request":
            await _send_json(send, 422, problem)
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def _content_type(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == b"content-type":
            return value.decode("latin-1").lower()
    return ""


async def _send_json(
    send: Send, status: int, message: str, *, close_connection: bool = False
) -> None:
    # The messages are marked with N_: answered in the language of the request.
    body = json.dumps({"detail": gettext(message)}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close_connection:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
