"""The facilitator's report page: preview, downloads in every format, deleting the session."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.db import DbDep
from app.report import service
from app.report.chart import chart_svg
from app.report.model import build_report
from app.report.render_pdf import warm_helper
from app.sessions import service as sessions
from app.sessions.auth import Actor, FacilitatorPageDep, clear_auth_cookie, normalise_code
from app.web import FormDep, form_text, no_store, render, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

DOWNLOADS = [
    ("pdf", "PDF", "Printable policy brief with charts, page numbers and contents.", True),
    ("docx", "Word", "Editable document with headings and styles.", True),
    ("html", "Web page", "The same brief as a single HTML file.", False),
    ("md", "Markdown", "Plain text with headings and tables.", False),
    ("xlsx", "Excel", "Sheets of recommendations, ratings, contributions, participation.", True),
    ("csv", "CSV", "Recommendations, then contributions, one row each.", False),
    ("json", "JSON archive", "Everything, with ids; import it to restore the session.", False),
]


def _page(
    request: Request,
    db: Session,
    actor: Actor,
    *,
    confirm_error: str | None = None,
    status_code: int = 200,
) -> Response:
    session = actor.session
    report = build_report(db, session)
    warm_helper(report)
    return render(
        request,
        "report/page.html",
        {
            "session": session,
            "nav_active": "report",
            "report": report,
            "charts": {c.id: chart_svg(c, report.categories) for c in report.challenges},
            "downloads": [
                {
                    "format": fmt,
                    "label": label,
                    "text": text,
                    "slow": slow,
                    "url": f"/api/v1/sessions/{session.code}/report?format={fmt}",
                    "filename": service.report_filename(session, fmt),
                }
                for fmt, label, text, slow in DOWNLOADS
            ],
            "confirm_error": confirm_error,
        },
        block="delete_form" if confirm_error else None,
        status_code=status_code,
    )


@router.get("/s/{code}/facilitate/report")
def report_page(request: Request, db: DbDep, actor: FacilitatorPageDep) -> Response:
    """Preview of the report with a download button per format."""
    return no_store(_page(request, db, actor))


@router.post("/s/{code}/facilitate/report/delete")
def delete_session(
    request: Request, db: DbDep, actor: FacilitatorPageDep, form: FormDep
) -> Response:
    """Delete the session and all its data once the facilitator has typed its code."""
    session = actor.session
    confirm_code = form_text(form, "confirm_code")
    if normalise_code(confirm_code) != session.code:
        message = (
            f"Type the session code {session.code} to confirm."
            if not confirm_code.strip()
            else f"“{confirm_code.strip()}” is not this session's code ({session.code})."
        )
        return _page(request, db, actor, confirm_error=message, status_code=422)
    code = session.code
    sessions.delete_session(db, session)
    response = see_other(request, f"/?deleted={code}")
    clear_auth_cookie(response, code)
    return response
