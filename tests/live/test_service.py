"""Reading events by seq and the pruning rule."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from app.live import service
from app.live.models import Event
from app.sessions.auth import find_session
from tests.conftest import create_workshop

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def fill(engine: Engine, code: str, count: int, *, hours_ago: float) -> None:
    """`count` events for the session, dated `hours_ago` before NOW."""
    with Session(engine) as db:
        session = find_session(db, code)
        first = session.last_event_seq + 1
        for i in range(count):
            service.record_event(db, session, "test_event", n=i)
        db.flush()
        db.exec(  # type: ignore[call-overload]
            update(Event)
            .where(col(Event.session_id) == session.id, col(Event.seq) >= first)
            .values(created_at=NOW - timedelta(hours=hours_ago))
        )
        db.commit()


def kept_seqs(engine: Engine, code: str) -> list[int]:
    with Session(engine) as db:
        session = find_session(db, code)
        return [e.seq for e in service.events_after(db, session.id, 0, limit=1000)]  # type: ignore[arg-type]


def test_old_events_are_pruned_except_the_last_n_of_each_session(
    client: TestClient, engine: Engine
) -> None:
    busy = create_workshop(client).code
    small = create_workshop(client).code
    fill(engine, busy, 8, hours_ago=50)  # seq 1–8: older than the retention
    fill(engine, busy, 4, hours_ago=1)  # seq 9–12: recent
    fill(engine, small, 3, hours_ago=100)  # old, but the session's last 3

    with Session(engine) as db:
        deleted = service.prune_events(db, retention_hours=48, keep_last=6, now=NOW)
        db.commit()

    # busy: old AND not among the last 6 (seq ≤ 12 − 6 = 6) → 1–6 go, 7–8 stay (last 6).
    assert deleted == 6
    assert kept_seqs(engine, busy) == [7, 8, 9, 10, 11, 12]
    assert kept_seqs(engine, small) == [1, 2, 3]
    with Session(engine) as db:
        session = find_session(db, busy)
        assert service.oldest_seq(db, session.id) == 7  # type: ignore[arg-type]
        assert service.last_seq(db, session.id) == 12  # type: ignore[arg-type]

    with Session(engine) as db:
        assert service.prune_events(db, retention_hours=48, keep_last=6, now=NOW) == 0


def test_events_after_reads_in_seq_order_with_a_limit(client: TestClient, engine: Engine) -> None:
    code = create_workshop(client).code
    fill(engine, code, 5, hours_ago=0)
    with Session(engine) as db:
        session_id = find_session(db, code).id
        rows = service.events_after(db, session_id, 1, limit=3)  # type: ignore[arg-type]
        assert [r.seq for r in rows] == [2, 3, 4]
        assert [r.data["n"] for r in rows] == [1, 2, 3]
        assert db.exec(select(Event).where(Event.session_id == session_id)).all()
