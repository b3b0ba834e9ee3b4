"""Domain errors and the one place that turns them into responses."""

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

logger = logging.getLogger(__name__)

OUT_OF_RANGE = (
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
        self, message: str, *, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.headers = headers or {}


class InvalidInput(AppError):
    status_code = 422


class NotAuthenticated(AppError):
    status_code = 401

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": "Bearer"})


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
        trigger = json.dumps({"showToast": {"message": message, "level": "error"}})
        # HX-Reswap: none keeps the requesting region as it is (htmx is configured to swap
        # some 4xx answers, which carry a re-rendered form; this one carries only a toast).
        return Response(
            status_code=status_code, headers={"HX-Trigger": trigger, "HX-Reswap": "none"}
        )
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status_code": status_code, "message": message},
        status_code=status_code,
    )


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        location = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) or "Invalid input"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every refusal its status and a readable message."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        response = error_response(request, exc.status_code, exc.message)
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail) if exc.detail else "Error"
        if exc.status_code == 404 and message == "Not Found":
            message = "There is nothing at this address."
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
        return error_response(request, 422, OUT_OF_RANGE)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        response = error_response(
            request, 500, "Something went wrong on our side. Please try again."
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
