"""Exporting a session's report in every format, importing an archive, and retention."""

import asyncio
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_
from sqlmodel import Session, col, select

from app import ratelimit
from app.config import Settings, get_settings
from app.db import open_session
from app.errors import InvalidInput
from app.i18n import _, use_language
from app.live.models import Event
from app.models_base import utcnow
from app.ratelimit import Caller
from app.report.archive import restore
from app.report.model import Report, build_report
from app.sessions.models import WorkshopSession
from app.sessions.service import CreatedSession, clean_language, delete_session

logger = logging.getLogger(__name__)

MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMATS = list(MEDIA_TYPES)
PURGE_INTERVAL_SECONDS = 3600


@dataclass(frozen=True)
class ExportedReport:
    content: bytes
    media_type: str
    filename: str
    language: str = "en"


def _render(fmt: str) -> Callable[[Report], bytes]:
    # Imported on demand: WeasyPrint, python-docx and openpyxl are slow to import.
    if fmt == "html":
        from app.report.render_html import render_html

        return lambda report: render_html(report).encode("utf-8")
    if fmt == "md":
        from app.report.render_md import render_markdown

        return lambda report: render_markdown(report).encode("utf-8")
    if fmt == "csv":
        from app.report.render_csv import render_csv

        return render_csv
    if fmt == "json":
        from app.report.render_json import render_json

        return render_json
    if fmt == "pdf":
        from app.report.render_pdf import render_pdf

        return render_pdf
    if fmt == "docx":
        from app.report.render_docx import render_docx

        return render_docx
    from app.report.render_xlsx import render_xlsx

    return render_xlsx


def slug(text: str, max_length: int = 60) -> str:
    """An ASCII file-name fragment: “Policy Lab – Brüssel” → “policy-lab-brussel”."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_length].strip("-")


def report_filename(session: WorkshopSession, fmt: str) -> str:
    """E.g. `ai-in-the-cultural-and-creative-industries-report-ABC234.pdf`."""
    base = slug(session.title) or "policy-lab"
    return f"{base}-report-{session.code}.{fmt}"


def export_session(
    db: Session, session: WorkshopSession, fmt: str, language: str | None = None
) -> ExportedReport:
    """The session's report as a file in `fmt`; works in every phase, never empty. In
    `language` when given, else in the session's language (stored text stays as written)."""
    fmt = (fmt or "").lower().strip()
    if fmt not in MEDIA_TYPES:
        raise InvalidInput(
            _(
                "Unknown report format “%(format)s”. Use one of: %(formats)s.",
                format=fmt,
                formats=", ".join(FORMATS),
            ),
            field="format",
        )
    language = clean_language(language) if language else session.language
    with use_language(language):
        report = build_report(db, session)
        content = _render(fmt)(report)
    return ExportedReport(
        content=content,
        media_type=MEDIA_TYPES[fmt],
        filename=report_filename(session, fmt),
        language=language,
    )


def import_session(db: Session, data: Any, caller: Caller | None = None) -> CreatedSession:
    """A new session with the content of a JSON export; refuses anything it cannot read whole.

    `caller`: who asked over the network (counted against the import limit); None for the
    command line."""
    if caller is not None:
        ratelimit.hit("import", caller.address)
    return restore(db, data)


# --- retention ----------------------------------------------------------------------------


# Sessions that never got past these phases and saw no activity for the retention period
# were abandoned (a test, a lab that was called off): they go too.
ABANDONED_PHASES = ("setup", "brainstorm")


def purge_expired(db: Session, days: int | None = None) -> list[str]:
    """Delete sessions past the retention period; their codes.

    Finished sessions (phase `report`) go when not updated for `days` days; abandoned ones
    (`setup` or `brainstorm`) when neither the session nor anything in it (no event: no
    contribution, no participant joining, no change) was touched for `days` days. Sessions in
    clustering or scoring are kept: their work is half done, and someone may come back to it.
    `days` defaults to the `session_retention_days` setting; with neither, nothing is deleted.
    """
    if days is None:
        days = get_settings().session_retention_days
    if days is None:
        return []
    cutoff = utcnow() - timedelta(days=days)
    recently_active = select(Event.session_id).where(col(Event.created_at) >= cutoff)
    expired = list(
        db.exec(
            select(WorkshopSession)
            .where(
                col(WorkshopSession.updated_at) < cutoff,
                or_(
                    col(WorkshopSession.phase) == "report",
                    and_(
                        col(WorkshopSession.phase).in_(ABANDONED_PHASES),
                        col(WorkshopSession.id).not_in(recently_active),
                    ),
                ),
            )
            .order_by(col(WorkshopSession.id))
        )
    )
    for session in expired:
        delete_session(db, session)
    return [s.code for s in expired]


def purge_once(engine: Engine, days: int | None) -> list[str]:
    """One purge in its own transaction."""
    with open_session(engine) as db:
        codes = purge_expired(db, days)
        db.commit()
    if codes:
        logger.info("deleted %d sessions past the retention period", len(codes))
    return codes


async def purge_periodically(engine: Engine, settings: Settings) -> None:
    """Run `purge_expired` every hour in a worker thread while the app runs."""
    if settings.session_retention_days is None:
        return
    while True:
        try:
            await asyncio.to_thread(purge_once, engine, settings.session_retention_days)
        except Exception:  # keep the loop alive: the next hour may succeed
            logger.exception("purging expired sessions failed")
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)
