"""Domain errors and the one place that turns them into responses.

Services raise `AppError`s; routes never catch them. The handler answers JSON for the API,
a toast for htmx, an error page otherwise — or, for a page whose form was refused, the form
again with its message and what the person typed: a page route that shows a form names how
to show it again with `on_refusal(request, answer)` before it calls the service, and the
handler calls `answer` with a fresh read-only database session (the request's own unit of
work has been rolled back by then).
"""

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from app.db import open_session
from app.i18n import N_, gettext

logger = logging.getLogger(__name__)

OUT_OF_RANGE = N_(
    "A value in this request is out of range or contains a character that is not allowed."
)


class ErrorDetail(BaseModel):
    """Every refusal of the JSON API: one sentence a person understands."""

    detail: str


# The refusals every API route may answer, for the OpenAPI document (the 422 replaces
# FastAPI's default list-shaped validation error, which this API never sends).
API_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorDetail, "description": text}
    for status, text in (
        (401, "No token, or a token this instance does not know"),
        (403, "Wrong role, or a token of another session"),
        (404, "Unknown session or object"),
        (409, "Not allowed in the session's current phase"),
        (413, "Request too large, or a limit reached"),
        (422, "Invalid input; nothing was changed"),
        (429, "Too many requests; see Retry-After"),
    )
}


class AppError(Exception):
    """A refusal a person can understand; `status_code` says which kind."""

    status_code = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        redirect_to: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers or {}
        # Pages: where a person is better sent than told (e.g. the join page when not signed
        # in). Followed for page requests, except htmx writes (a redirect would drop what
        # was typed; the toast explains instead). The API always gets the refusal.
        self.redirect_to = redirect_to

    # Seconds the answer waits (on the event loop, holding nothing): makes guessing slow.
    answer_after = 0.0


class InvalidInput(AppError):
    status_code = 422


class NotAuthenticated(AppError):
    status_code = 401

    def __init__(
        self, message: str, *, field: str | None = None, redirect_to: str | None = None
    ) -> None:
        super().__init__(
            message, field=field, headers={"WWW-Authenticate": "Bearer"}, redirect_to=redirect_to
        )


class Forbidden(AppError):
    status_code = 403


class NotFound(AppError):
    status_code = 404


class WrongPhase(AppError):
    status_code = 409


class Conflict(AppError):
    status_code = 409


class TooLarge(AppError):
    status_code = 413


class TooManyRequests(AppError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class Unavailable(AppError):
    status_code = 503


# Answers htmx swaps into the page (see base.html's responseHandling): a refused form comes
# back with its message. Other refusals leave the page as it is and explain in a toast.
SWAPPED_STATUSES = frozenset({409, 413, 422})

RefusalAnswer = Callable[[Any, AppError], Response | None]


def on_refusal(request: Request, answer: RefusalAnswer) -> None:
    """How this page request shows a refusal: `answer(db, error)` renders the form again
    (or returns None to leave the error to the default handling)."""
    request.state.on_refusal = answer


def is_api(request: Request) -> bool:
    """A request of the JSON API."""
    return request.url.path.startswith("/api/")


def is_htmx_request(request: Request) -> bool:
    """Sent by htmx (fragments, toasts) rather than by a plain navigation or form."""
    return request.headers.get("HX-Request") == "true"


def toast_headers(message: str, level: str = "success") -> dict[str, str]:
    """Headers that make app.js show a toast (announced by the polite #toasts region)."""
    return {"HX-Trigger": json.dumps({"showToast": {"message": message, "level": level}})}


def wants_json(request: Request) -> bool:
    """API clients get JSON; browsers navigating get pages."""
    return request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
        "accept", "text/html"
    )


def error_response(request: Request, status_code: int, message: str) -> Response:
    """The same refusal as JSON, an htmx toast, or an error page."""
    is_htmx = request.headers.get("HX-Request") == "true"
    if request.url.path.startswith("/api/") or (not is_htmx and wants_json(request)):
        return JSONResponse({"detail": message}, status_code=status_code)
    if is_htmx:
        # htmx does not swap error responses by default; the toast carries the message.
        # HX-Reswap: none keeps the requesting region as it is (htmx is configured to swap
        # some 4xx answers, which carry a re-rendered form; this one carries only a toast).
        headers = {**toast_headers(message, "error"), "HX-Reswap": "none"}
        return Response(status_code=status_code, headers=headers)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status_code": status_code, "message": message},
        status_code=status_code,
    )


async def _page_answer(request: Request, exc: AppError) -> Response | None:
    """A page's own answer to a refusal: a redirect, or its form shown again."""
    htmx = is_htmx_request(request)
    if exc.redirect_to and not (htmx and request.method != "GET"):
        if htmx:
            return Response(status_code=200, headers={"HX-Redirect": exc.redirect_to})
        return RedirectResponse(exc.redirect_to, status_code=303)
    answer: RefusalAnswer | None = getattr(request.state, "on_refusal", None)
    if answer is None:
        return None
    response = await run_in_threadpool(_answer_with_db, request, answer, exc)
    if response is not None and htmx and exc.status_code not in SWAPPED_STATUSES:
        # htmx keeps the page as it is for this status: the toast carries the message.
        response.headers.update(toast_headers(exc.message, "error"))
    return response


def _answer_with_db(request: Request, answer: RefusalAnswer, exc: AppError) -> Response | None:
    with open_session(request.app.state.engine, read_only=True) as db:
        return answer(db, exc)


# pydantic's messages are English: the common kinds of problem in the request's language
# (our own validators' messages are translated already; other kinds keep pydantic's words).
PYDANTIC_MESSAGES = {
    "missing": N_("a value is required"),
    "string_type": N_("must be text"),
    "int_type": N_("must be a whole number"),
    "int_parsing": N_("must be a whole number"),
    "bool_type": N_("must be true or false"),
    "bool_parsing": N_("must be true or false"),
    "list_type": N_("must be a list"),
    "dict_type": N_("must be an object"),
    "model_type": N_("must be an object"),
    "model_attributes_type": N_("must be an object"),
    "json_invalid": N_("the JSON is not valid"),
    "extra_forbidden": N_("is not a field of this request"),
}


def _problem(error: Any) -> str:
    """What is wrong with one field, in the language of the request."""
    known = PYDANTIC_MESSAGES.get(str(error.get("type")))
    if known is not None:
        return gettext(known)
    return str(error.get("msg") or gettext("invalid value")).removeprefix("Value error, ")


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        message = _problem(error)
        # Translators: one invalid field of a request: “challenges.0.title: Field required”.
        parts.append(
            gettext("%(field)s: %(problem)s", field=location, problem=message)
            if location
            else message
        )
    return "; ".join(parts) or gettext("Invalid input")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every refusal its status and a readable message."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        if exc.answer_after:
            await asyncio.sleep(exc.answer_after)
        response = await _page_answer(request, exc) if not is_api(request) else None
        if response is None:
            response = error_response(request, exc.status_code, exc.message)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail) if exc.detail else gettext("Error")
        if exc.status_code == 404 and message == "Not Found":
            message = gettext("There is nothing at this address.")
        response = error_response(request, exc.status_code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, exc: ClientDisconnect) -> Response:
        # The client left (or the body cap cut it off) while its body was being read:
        # nobody is there to answer, and nothing went wrong on our side.
        return Response(status_code=400)

    @app.exception_handler(ValidationError)
    async def _service_validation_error(request: Request, exc: ValidationError) -> Response:
        # A request schema built inside a route from what the client sent (e.g. a cluster
        # from an accepted suggestion) refused it: the client's input, so a 422 like any.
        return error_response(request, 422, _validation_message(exc))  # type: ignore[arg-type]

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _out_of_range(request: Request, exc: Exception) -> Response:
        # A value the database cannot hold: a number beyond its integers (PostgreSQL's
        # "integer out of range", SQLite's OverflowError) or a NUL in a field that is not
        # cleaned as text. The request's transaction is rolled back like any refusal.
        logger.warning(
            "refused a value out of range on %s %s: %s",
            request.method,
            request.url.path,
            str(exc).splitlines()[0],
        )
        return error_response(request, 422, gettext(OUT_OF_RANGE))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        response = error_response(
            request, 500, gettext("Something went wrong on our side. Please try again.")
        )
        # Starlette re-raises the error after this answer, and the server then closes the
        # connection: say so, so that a keep-alive client does not send its next request
        # into a closed socket (it saw a TCP reset).
        response.headers["Connection"] = "close"
        return response


__all__ = [
    "API_ERRORS",
    "AppError",
    "ErrorDetail",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotAuthenticated",
    "NotFound",
    "TooLarge",
    "TooManyRequests",
    "Unavailable",
    "WrongPhase",
    "install_error_handlers",
]
