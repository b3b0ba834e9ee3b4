"""Retention purge and the report model's agreement with the matrix service."""

import asyncio
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.cli import main as cli
from app.config import get_settings
from app.live.models import Event
from app.matrix.service import compute_matrix
from app.models_base import utcnow
from app.report.model import build_report
from app.report.service import export_session, purge_expired, purge_periodically
from app.sessions.auth import find_session
from app.sessions.models import WorkshopSession
from tests.conftest import create_workshop
from tests.report.helpers import scored_workshop


def age(engine: Engine, code: str, days: int) -> None:
    """Pretend the session was last updated `days` ago."""
    with Session(engine) as db:
        session = find_session(db, code)
        session.updated_at = utcnow() - timedelta(days=days)
        db.add(session)
        db.commit()


def codes(engine: Engine) -> set[str]:
    with Session(engine) as db:
        return set(db.exec(select(WorkshopSession.code)).all())


def test_purge_deletes_only_finished_sessions_past_the_retention(
    client: TestClient, engine: Engine
) -> None:
    old_finished = scored_workshop(client).w
    recent_finished = create_workshop(client)
    recent_finished.phase("report")
    old_running = create_workshop(client)
    old_running.phase("scoring")
    age(engine, old_finished.code, 40)
    age(engine, recent_finished.code, 5)
    age(engine, old_running.code, 40)
    with Session(engine) as db:
        assert purge_expired(db, 30) == [old_finished.code]
        db.commit()
    assert codes(engine) == {recent_finished.code, old_running.code}
    assert client.get(old_finished.url(), headers=old_finished.f).status_code == 404


def test_purge_uses_the_setting_and_does_nothing_without_one(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POLICYLAB_SESSION_RETENTION_DAYS", raising=False)
    get_settings.cache_clear()
    w = create_workshop(client)
    w.phase("report")
    age(engine, w.code, 10)
    with Session(engine) as db:
        assert purge_expired(db) == []
    monkeypatch.setenv("POLICYLAB_SESSION_RETENTION_DAYS", "7")
    get_settings.cache_clear()
    with Session(engine) as db:
        assert purge_expired(db) == [w.code]


def test_cli_purge(
    client: TestClient,
    engine: Engine,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("POLICYLAB_SESSION_RETENTION_DAYS", raising=False)
    get_settings.cache_clear()
    w = create_workshop(client)
    w.phase("report")
    age(engine, w.code, 100)
    assert cli(["purge"]) == 2  # no retention configured
    assert w.code in codes(engine)
    assert cli(["purge", "--days", "90"]) == 0
    assert w.code in capsys.readouterr().out
    assert w.code not in codes(engine)


def test_periodic_purge_is_off_without_a_retention_period(engine: Engine) -> None:
    settings = get_settings().model_copy(update={"session_retention_days": None})
    asyncio.run(asyncio.wait_for(purge_periodically(engine, settings), timeout=1))


def test_periodic_purge_runs_at_once_when_configured(client: TestClient, engine: Engine) -> None:
    w = create_workshop(client)
    w.phase("report")
    age(engine, w.code, 3)
    settings = get_settings().model_copy(update={"session_retention_days": 1})

    async def first_round() -> None:
        task = asyncio.create_task(purge_periodically(engine, settings))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if w.code not in codes(engine):
                break
        task.cancel()

    asyncio.run(first_round())
    assert w.code not in codes(engine)


def test_report_ranks_exactly_like_the_matrix(client: TestClient, engine: Engine) -> None:
    s = scored_workshop(client)
    with Session(engine) as db:
        session = find_session(db, s.w.code)
        matrix = compute_matrix(db, session)
        report = build_report(db, session)
    assert [
        (r.id, r.rank, r.ratings, r.relevance_mean, r.agreement, r.policy_level)
        for r in report.recommendations
    ] == [(r.id, r.rank, r.ratings, r.relevance_mean, r.agreement, r.policy_level) for r in matrix]


def test_unknown_format_is_refused(client: TestClient, engine: Engine) -> None:
    from app.errors import InvalidInput

    w = create_workshop(client)
    with Session(engine) as db, pytest.raises(InvalidInput, match="Unknown report format"):
        export_session(db, find_session(db, w.code), "odt")


def age_events(engine: Engine, code: str, days: int) -> None:
    """Pretend everything that happened in the session happened `days` ago."""
    with Session(engine) as db:
        session = find_session(db, code)
        for event in db.exec(select(Event).where(Event.session_id == session.id)):
            event.created_at = utcnow() - timedelta(days=days)
            db.add(event)
        db.commit()


def test_purge_deletes_abandoned_sessions_untouched_for_the_period(
    client: TestClient, engine: Engine
) -> None:
    never_started = create_workshop(client)
    abandoned = create_workshop(client, participants=1)
    abandoned.phase("brainstorm")
    abandoned.contribute(0, 0, "A note nobody came back to")
    still_used = create_workshop(client, participants=1)
    still_used.phase("brainstorm")
    half_done = create_workshop(client)
    half_done.phase("clustering")
    for w in (never_started, abandoned, still_used, half_done):
        age(engine, w.code, 40)
        age_events(engine, w.code, 40)
    still_used.contribute(0, 0, "Written today")  # the session row stays old; its events do not
    with Session(engine) as db:
        assert purge_expired(db, 30) == [never_started.code, abandoned.code]
        db.commit()
    assert codes(engine) == {still_used.code, half_done.code}
