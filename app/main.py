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

from app import apidocs, privacy
from app.clustering import api as clustering_api
from app.clustering import pages as clustering_pages
from app.clustering import pages_assistant as clustering_assistant
from app.clustering.embedders import uses_model
from app.clustering.embeddings import EmbeddingWorker, install_embedding_hook
from app.config import Settings, get_settings
from app.db import DbDep, WriteQueue, make_engine, migrate
from app.errors import install_error_handlers
from app.i18n import load_all as load_catalogues
from app.i18n_web import LanguageMiddleware
from app.i18n_web import router as language_router
from app.live import api as live_api
from app.live import pages as live_pages
from app.live.hub import LiveHub, install_commit_hook
from app.live.views import timer_view
from app.matrix import api as matrix_api
from app.matrix import pages as matrix_pages
from app.report import api as report_api
from app.report import pages as report_pages
from app.report.render_pdf import shutdown_helper
from app.report.service import purge_periodically
from app.security import InputGuard, SecurityMiddleware
from app.sessions import api as sessions_api
from app.sessions import pages as sessions_pages
from app.sessions import pages_facilitator as sessions_facilitator
from app.sessions import pages_participant as sessions_participant
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
    load_catalogues()
    engine = make_engine(settings.database_url)
    live = LiveHub(engine, settings)
    install_commit_hook()
    # New contributions are embedded after commit, off the request path (clustering engine).
    embeddings = EmbeddingWorker(engine)
    install_embedding_hook()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        migrate(engine)
        await live.start()
        if uses_model(settings.clustering_engine):
            embeddings.start()
        purge = asyncio.create_task(purge_periodically(engine, settings))
        if not gc.get_freeze_count():
            # What is alive after start-up lives as long as the process; frozen, full
            # collections skip it (measured with 300 event streams open: 140–300 ms pauses
            # of the event loop, under 100 ms frozen).
            gc.collect()
            gc.freeze()
        yield
        shutdown_helper()
        embeddings.stop()
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
    app.state.embeddings = embeddings
    app.state.templates = make_templates(settings, {"timer_view": timer_view})
    install_error_handlers(app)
    # SQLite has one writer and polls for its lock: one at a time. PostgreSQL waits on row
    # locks without polling, and writes to different sessions run in parallel.
    app.add_middleware(WriteQueue, concurrency=1 if settings.is_sqlite else 8)
    # Before the write turn: hostile values (NUL, lone surrogates, deep JSON) never take one.
    app.add_middleware(InputGuard)
    app.add_middleware(
        SecurityMiddleware, https=settings.https, max_body=settings.max_request_bytes
    )
    # Outermost: every answer, the other middleware's refusals and the streams included, is
    # in the person's language.
    app.add_middleware(LanguageMiddleware)
    app.mount("/static", StaticFiles(directory=settings.static_dir), name="static")

    for router in (
        apidocs.router,
        sessions_api.router,
        clustering_api.router,
        matrix_api.router,
        live_api.router,
        sessions_pages.router,
        sessions_participant.router,
        sessions_facilitator.router,
        clustering_pages.router,
        clustering_assistant.router,
        matrix_pages.router,
        report_api.router,
        report_pages.router,
        live_pages.router,
        language_router,
        privacy.router,
    ):
        app.include_router(router)

    @app.get("/healthz", tags=["health"])
    def healthz(db: DbDep) -> dict[str, str]:
        """200 once the database answers."""
        db.exec(text("SELECT 1"))  # type: ignore[call-overload]
        return {"status": "ok"}

    logging.getLogger("uvicorn.access").addFilter(RedactSecrets())
    return app
