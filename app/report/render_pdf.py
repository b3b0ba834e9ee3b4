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
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from app.report.model import Report

# This module is what the helper process imports to lay out a part: it imports nothing of
# the app at module level (the report model pulls in scikit-learn and the database layer,
# ~3 s of start-up the helper does not need).

logger = logging.getLogger(__name__)

# WeasyPrint and fontTools log every font subsetting step at INFO/WARNING.
for name in ("weasyprint", "fontTools"):
    logging.getLogger(name).setLevel(logging.ERROR)

# From this many contributions the appendix is laid out in the helper process. Below it the
# whole report takes well under a second and a process is not worth its start-up (~1 s the
# first time) or its memory.
PARALLEL_FROM_CONTRIBUTIONS = 300
# A helper that is not running yet is started for the next PDF and this one is laid out
# in-process, unless the report is so large that the start-up is worth waiting for.
COLD_HELPER_FROM_CONTRIBUTIONS = 1500
# The helper's part is laid out in-process instead if it has not come back by then.
HELPER_TIMEOUT_SECONDS = 120
# The helper holds 100–300 MB after a large report: it stops after this long without work.
HELPER_IDLE_SECONDS = 600

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
#
# One helper process per app process, started on first use (or by `warm_helper`), stopped
# after HELPER_IDLE_SECONDS without work, when the app stops, or when it fails. It exits by
# itself if the app process is gone (killed hard: a plain pool would then live on).


class Countdown(Protocol):
    """A pending call that can be called off."""

    def cancel(self) -> None: ...


def _timer_countdown(seconds: float, action: Callable[[], None]) -> Countdown:
    """Call `action` in a daemon thread after `seconds`, unless cancelled first."""
    timer = threading.Timer(seconds, action)
    timer.daemon = True
    timer.start()
    return timer


# What runs the idle countdown. A test puts a fake clock here and moves time itself.
countdown: Callable[[float, Callable[[], None]], Countdown] = _timer_countdown


@dataclass
class _Helper:
    pool: ProcessPoolExecutor
    ready: Future[None]  # done once the process runs and has imported WeasyPrint
    idle: Countdown | None = None


_helper: _Helper | None = None
_helper_lock = threading.Lock()


def _helper_main(app_pid: int, poll_seconds: float = 1.0) -> None:
    """Initializer of the helper process: import WeasyPrint once, and leave with the app
    (it looks every `poll_seconds` whether the app process is still there)."""
    import weasyprint  # noqa: F401

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            try:
                os.kill(app_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # the pid now belongs to another user's process
                os._exit(0)

    threading.Thread(target=watch, name="policylab-pdf-watch", daemon=True).start()


def _ready() -> None:
    """The first task: done when the helper is up."""


def _layout_in_helper(html: str) -> bytes:
    return layout(html)


def _start() -> _Helper:
    """The running helper, started if there is none; its idle countdown starts again."""
    global _helper
    with _helper_lock:
        if _helper is None:
            methods = multiprocessing.get_all_start_methods()
            # forkserver: the helper does not inherit the server's threads, sockets and
            # database connections, as a plain fork would.
            context = multiprocessing.get_context(
                "forkserver" if "forkserver" in methods else "spawn"
            )
            pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                initializer=_helper_main,
                initargs=(os.getpid(),),
            )
            _helper = _Helper(pool=pool, ready=pool.submit(_ready))
        helper = _helper
    _touch(helper)
    return helper


def _touch(helper: _Helper) -> None:
    """Start the helper's idle countdown again (after each piece of work)."""
    with _helper_lock:
        if _helper is not helper:
            return
        if helper.idle is not None:
            helper.idle.cancel()
        helper.idle = countdown(HELPER_IDLE_SECONDS, partial(_stop, helper))


def _stop(helper: _Helper, *, kill: bool = False) -> None:
    """Stop this helper (not a newer one another thread started meanwhile). Never waits:
    with `kill` its process is killed (a hung or broken helper), else it ends after the
    work it has."""
    global _helper
    with _helper_lock:
        if _helper is helper:
            _helper = None
        if helper.idle is not None:
            helper.idle.cancel()
    if kill:
        if hasattr(helper.pool, "terminate_workers"):  # Python 3.14+
            helper.pool.terminate_workers()
        else:
            for process in list(getattr(helper.pool, "_processes", {}).values()):
                process.kill()
    helper.pool.shutdown(wait=False, cancel_futures=kill)


def helper_ready() -> bool:
    """Whether a helper is up and waiting for work."""
    helper = _helper
    return (
        helper is not None
        and helper.ready.done()
        and not helper.ready.cancelled()
        and helper.ready.exception() is None
    )


def warm_helper(report: "Report") -> None:
    """Start the helper now if this report's PDF will use it, so that the download does not
    wait for it (called when the facilitator opens the report page)."""
    if len(report.contributions) >= PARALLEL_FROM_CONTRIBUTIONS:
        try:
            _start()
        except Exception:
            logger.warning("PDF helper process could not start", exc_info=True)


def shutdown_helper() -> None:
    """Stop the helper process (app shutdown) without waiting; the next PDF starts a new one."""
    helper = _helper
    if helper is not None:
        _stop(helper, kill=True)


def _submit(html: str) -> tuple[_Helper, Future[bytes]] | None:
    helper = None
    try:
        helper = _start()
        return helper, helper.pool.submit(_layout_in_helper, html)
    except Exception:  # a pool that broke or cannot start: lay out in-process instead
        logger.warning("PDF helper process unavailable; laying out in-process", exc_info=True)
        if helper is not None:
            _stop(helper, kill=True)
        return None


def _collect(pending: tuple[_Helper, Future[bytes]] | None, html: str) -> bytes:
    """The helper's part; laid out here instead if the helper died, was stopped or hangs.
    An error in the document itself is raised as it would be in-process."""
    if pending is not None:
        helper, future = pending
        try:
            part = future.result(timeout=HELPER_TIMEOUT_SECONDS)
            _touch(helper)
            return part
        except (BrokenProcessPool, TimeoutError, CancelledError):
            logger.warning("PDF helper process failed; laying out in-process", exc_info=True)
            _stop(helper, kill=True)
    return layout(html)


# --- the PDF --------------------------------------------------------------------------------


def join_parts(main: bytes, appendix: bytes, appendix_prefix: str = "A-") -> bytes:
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
        main_pages,
        len(writer.pages) - 1,
        style=PageLabelStyle.DECIMAL,
        prefix=appendix_prefix,
        start=1,
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_pdf(report: "Report", *, parallel: bool | None = None) -> bytes:
    """The PDF with running header, page numbers and a table of contents with page numbers.

    `parallel` lays out the appendix in the helper process; by default only for large
    reports (`PARALLEL_FROM_CONTRIBUTIONS`).
    """
    from app.report.render_html import appendix_page_prefix, render_html

    if parallel is None:
        parallel = _use_helper(len(report.contributions))
    appendix_html = render_html(report, chart_images=True, part="appendix")
    pending = _submit(appendix_html) if parallel else None
    try:
        main = layout(render_html(report, chart_images=True, part="main"))
    except BaseException:
        if pending is not None:
            pending[1].cancel()
        raise
    return join_parts(main, _collect(pending, appendix_html), appendix_page_prefix())


def _use_helper(contributions: int) -> bool:
    """A running helper for reports from PARALLEL_FROM_CONTRIBUTIONS; a cold one (which
    takes about a second to start) only for very large reports. A report in between is laid
    out here while the helper starts for the next one."""
    if contributions < PARALLEL_FROM_CONTRIBUTIONS:
        return False
    if helper_ready() or contributions >= COLD_HELPER_FROM_CONTRIBUTIONS:
        return True
    try:
        _start()
    except Exception:
        logger.warning("PDF helper process could not start", exc_info=True)
    return False
