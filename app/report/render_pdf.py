"""The report as PDF: the HTML document laid out by WeasyPrint with the print stylesheet.

WeasyPrint lays out one document on one core, and the benchmark report (2,000
contributions, 111 pages) took ~4–7 s that way. So the PDF is made of two documents laid
out side by side: the main part (cover to the last challenge, pages 1…N) in the calling
thread and the appendix (every contribution, pages A-1…A-M, like an annex) in a helper
process, then joined with pypdf. Small reports are joined from the same two parts laid out
one after the other, so every PDF has the same pages whichever way it was made.
"""

import gc
import io
import logging
import multiprocessing
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from app.report.model import Report

# This module is what the helper process imports to lay out a part: it imports nothing of
# the app at module level (the report model pulls in scikit-learn and the database layer,
# ~3 s of start-up the helper does not need).

logger = logging.getLogger(__name__)
T = TypeVar("T")

# WeasyPrint and fontTools log every font subsetting step at INFO/WARNING.
for name in ("weasyprint", "fontTools"):
    logging.getLogger(name).setLevel(logging.ERROR)

# From this many contributions the appendix is laid out in the helper process. Below it the
# whole report takes well under a second and a process is not worth its start-up (~1 s the
# first time) or its memory (~60 MB while it lives).
PARALLEL_FROM_CONTRIBUTIONS = 300
# The helper's part is laid out in-process instead if it has not come back by then.
HELPER_TIMEOUT_SECONDS = 120

# Laying out a large report allocates millions of long-lived objects (boxes, styles, text
# layouts). With the default thresholds (700, 10, 10) the cyclic garbage collector runs a
# full collection several times during one PDF and each scans all of them: ~1 s of the
# ~7.5 s of the 111-page benchmark report, finding next to nothing (the document is freed
# by reference counting). Collect young objects less often while rendering.
_RENDER_GC_THRESHOLD = (50_000, 20, 100)
_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] | None = None


@contextmanager
def _relaxed_gc() -> Iterator[None]:
    """Raise the collector's thresholds while at least one PDF is being rendered."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(*_RENDER_GC_THRESHOLD)
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                _gc_saved = None


def layout(html: str) -> bytes:
    """One HTML document as PDF (runs in the helper process too)."""
    from weasyprint import HTML

    with _relaxed_gc():
        return HTML(string=html).write_pdf() or b""


# --- the helper process ---------------------------------------------------------------------

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _warm_up() -> None:
    import weasyprint  # noqa: F401  (imported once, not on the first report)


def _helper() -> ProcessPoolExecutor:
    """The helper process pool, started on first use: one process per app process."""
    global _pool
    with _pool_lock:
        if _pool is None:
            methods = multiprocessing.get_all_start_methods()
            # forkserver: the helper does not inherit the server's threads, sockets and
            # database connections, as a plain fork would.
            context = multiprocessing.get_context(
                "forkserver" if "forkserver" in methods else "spawn"
            )
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_warm_up)
        return _pool


def warm_helper(report: "Report") -> None:
    """Start the helper now if this report's PDF will use it, so that the download does not
    wait for it (called when the facilitator opens the report page)."""
    if len(report.contributions) >= PARALLEL_FROM_CONTRIBUTIONS:
        _submit_call(_warm_up)


def shutdown_helper() -> None:
    """Stop the helper process (app shutdown); the next PDF starts a new one."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _submit(html: str) -> Future[bytes] | None:
    return _submit_call(layout, html)


def _submit_call(fn: Callable[..., T], *args: object) -> Future[T] | None:
    try:
        return _helper().submit(fn, *args)
    except Exception:  # a pool that broke or cannot start: lay out in-process instead
        logger.warning("PDF helper process unavailable; laying out in-process", exc_info=True)
        shutdown_helper()
        return None


def _collect(future: Future[bytes] | None, html: str) -> bytes:
    if future is not None:
        try:
            return future.result(timeout=HELPER_TIMEOUT_SECONDS)
        except Exception:
            logger.warning("PDF helper process failed; laying out in-process", exc_info=True)
            future.cancel()
            shutdown_helper()
    return layout(html)


# --- the PDF --------------------------------------------------------------------------------


def join_parts(main: bytes, appendix: bytes) -> bytes:
    """The two parts as one PDF: pages labelled 1… and A-1…, both parts' bookmarks, and the
    contents entry of the appendix jumping to its first page."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.constants import PageLabelStyle
    from pypdf.generic import ArrayObject, NameObject

    from app.report.render_html import APPENDIX_LINK

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(main)))
    main_pages = len(writer.pages)
    writer.append(PdfReader(io.BytesIO(appendix)), import_outline=True)
    first_appendix_page = writer.pages[main_pages].indirect_reference
    for page in writer.pages[:main_pages]:
        for ref in page.get("/Annots") or []:
            annotation = ref.get_object()
            action = annotation.get("/A")
            if action is None or action.get_object().get("/URI") != APPENDIX_LINK:
                continue
            del annotation["/A"]
            annotation[NameObject("/Dest")] = ArrayObject([first_appendix_page, NameObject("/Fit")])
    writer.set_page_label(0, main_pages - 1, style=PageLabelStyle.DECIMAL, start=1)
    writer.set_page_label(
        main_pages, len(writer.pages) - 1, style=PageLabelStyle.DECIMAL, prefix="A-", start=1
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_pdf(report: "Report", *, parallel: bool | None = None) -> bytes:
    """The PDF with running header, page numbers and a table of contents with page numbers.

    `parallel` lays out the appendix in the helper process; by default only for large
    reports (`PARALLEL_FROM_CONTRIBUTIONS`).
    """
    from app.report.render_html import render_html

    if parallel is None:
        parallel = len(report.contributions) >= PARALLEL_FROM_CONTRIBUTIONS
    appendix_html = render_html(report, chart_images=True, part="appendix")
    pending = _submit(appendix_html) if parallel else None
    main = layout(render_html(report, chart_images=True, part="main"))
    return join_parts(main, _collect(pending, appendix_html))
