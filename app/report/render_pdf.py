"""The report as PDF: the HTML document laid out by WeasyPrint with the print stylesheet."""

import gc
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.report.model import Report
from app.report.render_html import render_html

# WeasyPrint and fontTools log every font subsetting step at INFO/WARNING.
for name in ("weasyprint", "fontTools"):
    logging.getLogger(name).setLevel(logging.ERROR)

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


def render_pdf(report: Report) -> bytes:
    """The PDF with running header, page numbers and a table of contents with page numbers."""
    from weasyprint import HTML

    with _relaxed_gc():
        document = HTML(string=render_html(report, chart_images=True))
        return document.write_pdf() or b""
