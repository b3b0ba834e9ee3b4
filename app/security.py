"""Browser safety for every response: security headers, cross-site request refusal, body cap."""

import json
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class SecurityMiddleware:
    """Pure ASGI (so streams pass through untouched)."""

    def __init__(self, app: ASGIApp, *, https: bool, max_body: int) -> None:
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
                        await _send_json(
                            send, 413, "The request is too large.", close_connection=True
                        )
                    return {"type": "http.disconnect"}
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 has been sent; whatever the app answers is dropped
            if message["type"] == "http.response.start":
                started = True
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"content-security-policy", CSP.encode()),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                ]
                if self.https:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = list(message.get("headers", [])) + extra
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
            return 413, "The request is too large."
        if scope["method"] in SAFE_METHODS or "authorization" in headers:
            # A bearer token is never sent by a browser on its own, so it cannot be forged
            # cross-site; only cookie-authenticated requests need the origin check.
            return None
        site = headers.get("sec-fetch-site")
        if site is not None:
            if site not in ("same-origin", "none"):
                return 403, "Cross-site requests are not allowed."
            return None
        origin = headers.get("origin")
        if origin and origin != "null":
            host = headers.get("host", "")
            if urlsplit(origin).netloc != host:
                return 403, "Cross-site requests are not allowed."
        return None


async def _send_json(
    send: Send, status: int, message: str, *, close_connection: bool = False
) -> None:
    body = json.dumps({"detail": message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if close_connection:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
