"""The PDF is laid out as two documents (main part and appendix), in a helper process for
large reports, and joined: these tests hold the joined file to what a single one had."""

import io
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

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
    helper = pdf_module._helper
    return [] if helper is None else list(helper.pool._processes)  # type: ignore[attr-defined]


def gone(pid: int) -> bool:
    """The process has ended (a zombie waiting to be reaped counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")


def wait_until(condition: Callable[[], bool], seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


# The helper process's tests run on SQLite only: what they check (which process lays out
# which part, and when the helper starts and stops) does not depend on the database, and each
# lays out several PDFs. The report's content is checked on every backend (the page numbering
# below, and test_export.py).
helper_test = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@dataclass
class FakeClock:
    """Stands in for the helper's idle countdown: time moves only when the test moves it."""

    now: float = 0.0
    pending: list["FakeCountdown"] = field(default_factory=list)

    def countdown(self, seconds: float, action: Callable[[], None]) -> "FakeCountdown":
        started = FakeCountdown(due=self.now + seconds, action=action)
        self.pending.append(started)
        return started

    def advance(self, seconds: float) -> None:
        """Move time on, calling every countdown that falls due, in order."""
        self.now += seconds
        for due in sorted(self.pending, key=lambda c: c.due):
            if due.due <= self.now and not due.cancelled:
                self.pending.remove(due)
                due.action()

    @property
    def running(self) -> list["FakeCountdown"]:
        return [c for c in self.pending if not c.cancelled]


@dataclass
class FakeCountdown:
    due: float
    action: Callable[[], None]
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


@pytest.fixture
def laid_out_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which parts this process lays out itself (the helper has its own copy of `layout`)."""
    parts: list[str] = []
    original = pdf_module.layout

    def spy(html: str) -> bytes:
        parts.append("main" if 'class="part-main"' in html else "appendix")
        return original(html)

    monkeypatch.setattr(pdf_module, "layout", spy)
    return parts


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


@helper_test
def test_the_helper_process_lays_out_the_same_pdf(
    client: TestClient, engine: Engine, laid_out_here: list[str]
) -> None:
    s = scored_workshop(client)
    report = report_of(engine, s.w.code)
    alone = render_pdf(report, parallel=False)
    assert laid_out_here == ["main", "appendix"] and helper_pids() == []
    laid_out_here.clear()
    helped = render_pdf(report, parallel=True)
    assert laid_out_here == ["main"]  # the appendix came from the helper
    pids = helper_pids()
    assert pids and os.getpid() not in pids
    assert page_texts(helped) == page_texts(alone)
    assert len(page_texts(helped)) >= 6


@helper_test
def test_several_pdfs_at_once_share_the_helper(client: TestClient, engine: Engine) -> None:
    s = scored_workshop(client)
    report = report_of(engine, s.w.code)
    expected = page_texts(render_pdf(report, parallel=False))
    with ThreadPoolExecutor(max_workers=3) as threads:
        results = list(threads.map(lambda _: render_pdf(report, parallel=True), range(3)))
    assert [page_texts(r) for r in results] == [expected] * 3
    assert len(helper_pids()) == 1


@helper_test
def test_large_reports_use_a_running_helper_and_start_one_otherwise(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch, laid_out_here: list[str]
) -> None:
    s = scored_workshop(client)
    report = report_of(engine, s.w.code)
    render_pdf(report)
    assert helper_pids() == [] and laid_out_here == ["main", "appendix"]  # a small report

    monkeypatch.setattr(pdf_module, "PARALLEL_FROM_CONTRIBUTIONS", len(report.contributions))
    laid_out_here.clear()
    render_pdf(report)  # no helper yet: laid out here while one starts for the next PDF
    assert laid_out_here == ["main", "appendix"]
    assert wait_until(pdf_module.helper_ready)
    laid_out_here.clear()
    render_pdf(report)
    assert laid_out_here == ["main"]

    pdf_module.shutdown_helper()
    monkeypatch.setattr(pdf_module, "COLD_HELPER_FROM_CONTRIBUTIONS", len(report.contributions))
    laid_out_here.clear()
    render_pdf(report)  # so large that waiting for a cold helper pays
    assert laid_out_here == ["main"]


@helper_test
def test_the_report_page_starts_the_helper_for_a_large_report(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scored_workshop(client)
    client.cookies.set(f"policylab_{s.w.code}", s.w.facilitator_token)
    assert client.get(f"/s/{s.w.code}/facilitate/report").status_code == 200
    assert helper_pids() == []  # seven contributions: no helper needed
    report = report_of(engine, s.w.code)
    monkeypatch.setattr(pdf_module, "PARALLEL_FROM_CONTRIBUTIONS", len(report.contributions))
    assert client.get(f"/s/{s.w.code}/facilitate/report").status_code == 200
    assert wait_until(pdf_module.helper_ready)  # started before anyone asked for the PDF
    assert "Page A-1 of A-" in "\n".join(page_texts(export(s.w, "pdf")))


@helper_test
def test_a_helper_that_died_costs_time_not_the_pdf(client: TestClient, engine: Engine) -> None:
    s = scored_workshop(client)
    report = report_of(engine, s.w.code)
    expected = page_texts(render_pdf(report, parallel=False))
    render_pdf(report, parallel=True)
    [pid] = helper_pids()
    os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: gone(pid))
    assert page_texts(render_pdf(report, parallel=True)) == expected
    # The next large PDF gets a new helper.
    assert page_texts(render_pdf(report, parallel=True)) == expected
    assert helper_pids() and pid not in helper_pids()


@helper_test
def test_a_hung_helper_is_killed_and_the_part_laid_out_here(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scored_workshop(client)
    report = report_of(engine, s.w.code)
    expected = page_texts(render_pdf(report, parallel=False))
    render_pdf(report, parallel=True)
    [pid] = helper_pids()
    monkeypatch.setattr(pdf_module, "HELPER_TIMEOUT_SECONDS", 1)
    os.kill(pid, signal.SIGSTOP)  # alive, but never answers
    try:
        start = time.monotonic()
        assert page_texts(render_pdf(report, parallel=True)) == expected
        assert time.monotonic() - start < 30
        assert wait_until(lambda: gone(pid))
    finally:
        if not gone(pid):
            os.kill(pid, signal.SIGKILL)


@helper_test
def test_an_idle_helper_stops(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = scored_workshop(client)
    report = report_of(engine, s.w.code)
    clock = FakeClock()
    monkeypatch.setattr(pdf_module, "countdown", clock.countdown)
    idle = pdf_module.HELPER_IDLE_SECONDS
    pdf_module._start()
    clock.advance(idle - 1)
    render_pdf(report, parallel=True)
    [pid] = helper_pids()
    # The countdown starts again when the work is done: one countdown, a full period long.
    assert [c.due for c in clock.running] == [clock.now + idle]
    clock.advance(idle - 1)
    assert pdf_module._helper is not None and not gone(pid)
    clock.advance(1)
    assert pdf_module._helper is None
    assert wait_until(lambda: gone(pid))


def test_the_helper_leaves_when_the_app_process_is_gone() -> None:
    """An app process killed hard cannot stop its helper: the helper notices and exits."""
    import multiprocessing
    import subprocess
    from concurrent.futures import ProcessPoolExecutor

    stand_in = subprocess.Popen(["sleep", "60"])  # plays the app process
    pool = ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=pdf_module._helper_main,
        initargs=(stand_in.pid, 0.1),  # looks for the app every 0.1 s
    )
    try:
        pool.submit(pdf_module._ready).result(timeout=60)
        [pid] = list(pool._processes)  # type: ignore[attr-defined]
        time.sleep(0.5)  # five looks at a living app
        assert not gone(pid)  # stays while the app lives
        stand_in.kill()
        stand_in.wait()
        assert wait_until(lambda: gone(pid))
    finally:
        stand_in.kill()
        pool.shutdown(wait=False, cancel_futures=True)
