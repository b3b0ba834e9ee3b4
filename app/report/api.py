"""JSON API for the report: export in any format, and import of a JSON export."""

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from app.db import DbDep
from app.errors import API_ERRORS, InvalidInput
from app.i18n import _
from app.ratelimit import CallerDep
from app.report import service
from app.sessions.api import created_public
from app.sessions.auth import FacilitatorDep, OrganiserDep
from app.sessions.models import SessionCreated

router = APIRouter(prefix="/api/v1", tags=["report"], responses=API_ERRORS)

ReportFormat = Literal["html", "md", "csv", "json", "pdf", "docx", "xlsx"]


def download_response(exported: service.ExportedReport) -> Response:
    """The file as an attachment with its name."""
    return Response(
        content=exported.content,
        media_type=exported.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{exported.filename}"',
            "Content-Language": exported.language,
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/sessions/{code}/report",
    response_class=Response,
    responses={200: {"content": {t: {} for t in service.MEDIA_TYPES.values()}}},
)
def export_report(
    actor: FacilitatorDep,
    db: DbDep,
    format: ReportFormat = "html",
    lang: Annotated[
        str | None,
        Query(description="The report's language (e.g. `de`); default: the session's language."),
    ] = None,
) -> Response:
    """The report as a file (facilitator only); works in every phase."""
    return download_response(service.export_session(db, actor.session, format, lang))


async def archive_body(request: Request) -> Any:
    """The request body as JSON, with a readable refusal when it is not (e.g. truncated)."""
    raw = await request.body()
    if not raw.strip():
        raise InvalidInput(_("Send the JSON export of a session as the request body."))
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise InvalidInput(
            _("This file is not a Policy Lab JSON export: it is not text.")
        ) from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            _(
                "This file is not valid JSON — it may be truncated or damaged (%(problem)s at "
                "line %(line)s, column %(column)s).",
                problem=exc.msg,
                line=exc.lineno,
                column=exc.colno,
            )
        ) from None


@router.post(
    "/sessions/import",
    status_code=201,
    response_model=SessionCreated,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A JSON report export (`GET …/report?format=json`).",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def import_session(
    request: Request,
    db: DbDep,
    caller: CallerDep,
    _organiser: OrganiserDep,
    data: Annotated[Any, Depends(archive_body)],
) -> SessionCreated:
    """Create a new session with the content of a JSON export (an archive)."""
    return created_public(request, service.import_session(db, data, caller))
