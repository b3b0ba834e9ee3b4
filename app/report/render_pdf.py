"""The report as PDF: the HTML document laid out by WeasyPrint with the print stylesheet."""

import logging

from app.report.model import Report
from app.report.render_html import render_html

# WeasyPrint and fontTools log every font subsetting step at INFO/WARNING.
for name in ("weasyprint", "fontTools"):
    logging.getLogger(name).setLevel(logging.ERROR)


def render_pdf(report: Report) -> bytes:
    """The PDF with running header, page numbers and a table of contents with page numbers."""
    from weasyprint import HTML

    document = HTML(string=render_html(report, chart_images=True))
    return document.write_pdf() or b""
