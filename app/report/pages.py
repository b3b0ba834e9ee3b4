"""The facilitator's report page: preview, downloads in every format, deleting the session."""

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.db import DbDep
from app.i18n import N_, _, is_available
from app.report import service
from app.report.chart import chart_svg
from app.report.model import build_report
from app.report.render_pdf import warm_helper
from app.sessions import service as sessions
from app.sessions.auth import Actor, FacilitatorPageDep, clear_auth_cookie, normalise_code
from app.web import FormDep, form_text, no_store, render, see_other

router = APIRouter(tags=["pages"], include_in_schema=False)

# (format, button label, what the file is, slow to make); labels marked, shown with _().
DOWNLOADS = [
    ("pdf", N_("PDF"), N_("Printable policy brief with charts, page numbers and contents."), True),
    ("docx", N_("Word"), N_("Editable document with headings and styles."), True),
    ("html", N_("Web page"), N_("The same brief as a single HTML file."), False),
    ("md", N_("Markdown"), N_("Plain text with headings and tables."), False),
    (
        "xlsx",
        N_("Excel"),
        N_("Sheets of recommendations, the matrix, ratings, contributions, participation."),
        True,
    ),
    ("csv", N_("CSV"), N_("Recommendations, then contributions, one row each."), False),
    (
        "json",
        N_("JSON archive"),
        N_("Everything, with ids; import it to restore the session."),
        False,
    ),
]


def _page(
    request: Request,
    db: Session,
    actor: Actor,
    *,
    confirm_error: str | None = None,
    status_code: int = 200,
    files_language: str | None = None,
) -> Response:
    session = actor.session
    report = build_report(db, session)
    # The files are in the session's language unless the facilitator picks another here.
    language = files_language if is_available(files_language) else session.language
    lang_query = f"&lang={language}" if language != session.language else ""
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
                    "label": _(label),
                    "text": _(text),
                    "slow": slow,
                    "url": f"/api/v1/sessions/{session.code}/report?format={fmt}{lang_query}",
                    "filename": service.report_filename(session, fmt),
                }
                for fmt, label, text, slow in DOWNLOADS
            ],
            "confirm_error": confirm_error,
            "files_language": language,
        },
        block="delete_form" if confirm_error else None,
        status_code=status_code,
    )


@router.get("/s/{code}/facilitate/report")
def report_page(
    request: Request, db: DbDep, actor: FacilitatorPageDep, lang: str | None = None
) -> Response:
    """Preview of the report with a download button per format (`lang`: the files'
    language, default the session's)."""
    return no_store(_page(request, db, actor, files_language=lang))


@router.post("/s/{code}/facilitate/report/delete")
def delete_session(
    request: Request, db: DbDep, actor: FacilitatorPageDep, form: FormDep
) -> Response:
    """Delete the session and all its data once the facilitator has typed its code."""
    session = actor.session
    confirm_code = form_text(form, "confirm_code")
    if normalise_code(confirm_code) != session.code:
        message = (
            _("Type the session code %(code)s to confirm.", code=session.code)
            if not confirm_code.strip()
            else _(
                "“%(typed)s” is not this session's code (%(code)s).",
                typed=confirm_code.strip(),
                code=session.code,
            )
        )
        return _page(request, db, actor, confirm_error=message, status_code=422)
    code = session.code
    sessions.delete_session(db, session)
    response = see_other(request, f"/?deleted={code}")
    clear_auth_cookie(response, code)
    return response
