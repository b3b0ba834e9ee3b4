"""The application factory."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote_plus

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text

from app.config import Settings, get_settings
from app.db import DbDep, WriteQueue, make_engine, migrate
from app.errors import install_error_handlers
from app.live.hub import LiveHub, install_commit_hook
from app.report.render_pdf import shutdown_helper
from app.report.service import purge_periodically
from app.security import InputGuard, SecurityMiddleware
from app.templating import make_templates

SECRET_PARAMETERS = {"key"}


def redact_query(target: str) -> str:
    """`target` (a logged path with its query) with the value of every secret parameter
    replaced, however its name is percent-encoded (`?%6Bey=…` is `?key=…` to the app)."""
    path, separator, query = target.partition("?")
    if not separator:
        return target
    pairs = []
    for pair in query.split("&"):
        name, equals, _value = pair.partition("=")
        if equals and unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
            pair = f"{name}=[redacted]"
        pairs.append(pair)
    return f"{path}?{'&'.join(pairs)}"


class RedactSecrets(logging.Filter):
    """Keep facilitator keys out of access logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_query(a) if isinstance(a, str) and "?" in a else a for a in record.args
            )
        return True


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings` (default: from the environment)."""
    settings = settings or get_settings()
    engine = make_engine(settings.database_url)
    live = LiveHub(engine, settings)
    install_commit_hook()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        migrate(engine)
        await live.start()
        purge = asyncio.create_task(purge_periodically(engine, settings))
        if not gc.get_freeze_count():
            # What is alive after start-up lives as long as the process; frozen, full
            # collections skip it (measured with 300 event streams open: 140–300 ms pauses
            # of the event loop, under 100 ms frozen).
            gc.collect()
            gc.freeze()
        yield
        shutdown_helper()
        purge.cancel()
        await live.stop()
        engine.dispose()

    app = FastAPI(
        title="Policy Lab",
        version="1.0",
        description="Run a policy lab live: reverse brainstorm, clustering, "
        "relevance × policy-level matrix and report.",
        lifespan=lifespan,
        # /docs is served by app.apidocs from vendored files; ReDoc and the OAuth2 redirect
        # page (CDN scripts, inline code) are not served.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.live = live
    app.state.templates = make_templates(settings)
    install_error_handlers(app)
    # SQLite has one writer and polls for its lock: one at a time. PostgreSQL waits on row
    # locks without polling, and writes to different sessions run in parallel.
    app.add_middleware(WriteQueue, concurrency=1 if settings.is_sqlite else 8)
    # Before the write turn: hostile values (NUL, lone surrogates, deep JSON) never take one.
    app.add_middleware(InputGuard)
    app.add_middleware(
        SecurityMiddleware, https=settings.https, max_body=settings.max_request_bytes
    )
    app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")

    from app.apidocs import router as apidocs
    from app.clustering.api import router as clustering_api
    from app.clustering.pages import router as clustering_pages
    from app.live.api import router as live_api
    from app.live.pages import router as live_pages
    from app.matrix.api import router as matrix_api
    from app.matrix.pages import router as matrix_pages
    from app.privacy import router as privacy
    from app.report.api import router as report_api
    from app.report.pages import router as report_pages
    from app.sessions.api import router as sessions_api
    from app.sessions.pages import router as sessions_pages

    for router in (
        apidocs,
        sessions_api,
        clustering_api,
        matrix_api,
        live_api,
        sessions_pages,
        clustering_pages,
        matrix_pages,
        report_api,
        report_pages,
        live_pages,
        privacy,
    ):
        app.include_router(router)

    @app.get("/healthz", tags=["health"])
    def healthz(db: DbDep) -> dict[str, str]:
        """200 once the database answers."""
        db.exec(text("SELECT 1"))  # type: ignore[call-overload]
        return {"status": "ok"}

    logging.getLogger("uvicorn.access").addFilter(RedactSecrets())
    return app
