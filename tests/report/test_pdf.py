"""The PDF is laid out as two documents (main part and appendix), in a helper process for
large reports, and joined: these tests hold the joined file to what a single one had."""

import io
import os
import signal
import time

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine
from sqlmodel import Session

from app.report import render_pdf as pdf_module
from app.report.model import Report, build_report
from app.report.render_html import APPENDIX_LINK
from app.report.render_pdf import render_pdf
from app.sessions.auth import find_session
from tests.report.helpers import export, scored_workshop


def report_of(engine: Engine, code: str) -> Report:
    with Session(engine) as db:
        return build_report(db, find_session(db, code))


def page_texts(content: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages]


def helper_pids() -> list[int]:
    pool = pdf_module._pool
    return [] if pool is None else list(pool._processes)  # type: ignore[attr-defined]


def test_pages_are_numbered_in_two_parts_and_the_contents_jump_to_the_appendix(
    client: TestClient,
) -> None:
    s = scored_workshop(client)
    reader = PdfReader(io.BytesIO(export(s.w, "pdf")))
    texts = [page.extract_text() or "" for page in reader.pages]
    first_appendix = next(
        i for i, text in enumerate(texts) if "Every contribution of the reverse brainstorm" in text
    )
    main_pages = first_appendix
    assert f"Page {main_pages} of {main_pages}" in texts[main_pages - 1]
    assert "Page A-1 of A-" in texts[first_appendix]
    assert reader.page_labels[0] == "1"
    assert reader.page_labels[first_appendix] == "A-1"
    assert reader.page_labels[-1] == f"A-{len(texts) - main_pages}"
    # The running header of the appendix names the lab, as on the other pages.
    assert "AI in the cultural and creative industries" in texts[first_appendix]

    contents = next(i for i, text in enumerate(texts) if text.lstrip().startswith("Contents"))
    assert "Appendix: all contributions" in texts[contents] and "A-1" in texts[contents]
    targets = []
    for ref in reader.pages[contents].get("/Annots") or []:
        annotation = ref.get_object()
        action = annotation.get("/A")
        assert action is None or action.get_object().get("/URI") != APPENDIX_LINK
        dest = annotation.get("/Dest")
        if isinstance(dest, str):  # a named destination: an anchor of the same part
            targets.append(reader.get_destination_page_number(reader.named_destinations[dest]))
        elif dest is not None:
            targets.append(reader.get_page_number(dest[0].get_object()))
    assert first_appendix in targets  # the appendix entry jumps to its first page
    assert 2 in targets  # the other entries still jump within the main part

    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    assert "Appendix: all contributions" in outline
    assert any("Executive summary" in str(item) for item in reader.outline)


def test_the_helper_process_lays_out_the_same_pdf(client: TestClient, engine: Engine) -> None:
    s = scored_workshop(client)
    report = report_of(engine, s.w.code)
    alone = render_pdf(report, parallel=False)
    assert helper_pids() == []
    helped = render_pdf(report, parallel=True)
    pids = helper_pids()
    assert pids and os.getpid() not in pids
    assert page_texts(helped) == page_texts(alone)
    assert len(page_texts(helped)) >= 6


def test_large_reports_use_the_helper_and_the_report_page_starts_it(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scored_workshop(client)
    report = report_of(engine, s.w.code)
    render_pdf(report)
    assert helper_pids() == []  # seven contributions: laid out in-process
    monkeypatch.setattr(pdf_module, "PARALLEL_FROM_CONTRIBUTIONS", len(report.contributions))
    client.cookies.set(f"policylab_{s.w.code}", s.w.facilitator_token)
    page = client.get(f"/s/{s.w.code}/facilitate/report")
    assert page.status_code == 200
    assert helper_pids()  # started before anyone asked for the PDF
    assert "Page A-1 of A-" in "\n".join(page_texts(export(s.w, "pdf")))


def test_a_helper_that_died_costs_time_not_the_pdf(client: TestClient, engine: Engine) -> None:
    s = scored_workshop(client)
    report = report_of(engine, s.w.code)
    expected = page_texts(render_pdf(report, parallel=False))
    render_pdf(report, parallel=True)
    [pid] = helper_pids()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    assert page_texts(render_pdf(report, parallel=True)) == expected
    # The next large PDF gets a new helper.
    assert page_texts(render_pdf(report, parallel=True)) == expected
    assert helper_pids() and pid not in helper_pids()
