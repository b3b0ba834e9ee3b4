"""The after-commit rule: events are published only once their transaction commits; a
rolled-back change publishes nothing and stores no event."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from app.live.bus import GONE
from app.live.models import Event
from app.live.service import record_event
from app.sessions.auth import find_session
from app.sessions.models import WorkshopSession
from app.sessions.service import delete_session
from tests.conftest import Workshop


@pytest.fixture
def published(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[dict[int, int]]:
    """What the app's hub was asked to publish (session id → seq per commit)."""
    calls: list[dict[int, int]] = []
    monkeypatch.setattr(client.app.state.live, "published", lambda p: calls.append(dict(p)))  # type: ignore[attr-defined]
    return calls


def event_count(engine: Engine, session_id: int) -> int:
    with Session(engine) as db:
        return int(
            db.exec(
                select(func.count()).select_from(Event).where(Event.session_id == session_id)
            ).one()
        )


def test_an_event_is_published_after_commit_and_not_before(
    workshop: Workshop, engine: Engine, published: list[dict[int, int]]
) -> None:
    with Session(engine) as db:
        session = find_session(db, workshop.code)
        first = record_event(db, session, "test_event")
        second = record_event(db, session, "test_event")
        db.flush()
        session_id, first_seq, second_seq = session.id, first.seq, second.seq
        assert published == []
        db.commit()
    assert published == [{session_id: second_seq}]
    assert second_seq == first_seq + 1


def test_a_rolled_back_change_publishes_nothing_and_stores_no_event(
    workshop: Workshop, engine: Engine, published: list[dict[int, int]]
) -> None:
    with Session(engine) as db:
        session = find_session(db, workshop.code)
        session_id, seq_before = session.id, session.last_event_seq
    before = event_count(engine, session_id)  # type: ignore[arg-type]
    with Session(engine) as db:
        session = find_session(db, workshop.code)
        record_event(db, session, "test_event")
        db.flush()
        db.rollback()
        db.commit()  # nothing left to commit, and nothing to publish
    assert published == []
    assert event_count(engine, session_id) == before  # type: ignore[arg-type]
    with Session(engine) as db:
        assert db.get(WorkshopSession, session_id).last_event_seq == seq_before  # type: ignore[union-attr]


def test_savepoints_neither_publish_early_nor_discard_the_outer_events(
    workshop: Workshop, engine: Engine, published: list[dict[int, int]]
) -> None:
    with Session(engine) as db:
        session = find_session(db, workshop.code)
        session_id = session.id
        kept = record_event(db, session, "kept").seq
        with db.begin_nested():
            record_event(db, session, "inside_released_savepoint")
        assert published == []
        nested = db.begin_nested()
        record_event(db, session, "inside_rolled_back_savepoint")
        nested.rollback()
        assert published == []
        db.commit()
    assert [set(p) for p in published] == [{session_id}]
    with Session(engine) as db:
        kinds = db.exec(
            select(Event.kind).where(Event.session_id == session_id, Event.seq >= kept)
        ).all()
    assert kinds == ["kept", "inside_released_savepoint"]


def test_a_session_closed_without_commit_does_not_publish_later(
    workshop: Workshop, engine: Engine, published: list[dict[int, int]]
) -> None:
    db = Session(engine)
    session = find_session(db, workshop.code)
    record_event(db, session, "abandoned")
    db.close()
    db.exec(select(func.count()).select_from(Event)).one()
    db.commit()
    db.close()
    assert published == []


def test_a_request_publishes_once_it_committed(
    workshop: Workshop, engine: Engine, published: list[dict[int, int]]
) -> None:
    workshop.phase("brainstorm")
    published.clear()
    workshop.contribute(0, 0, "Open data for cultural institutions")
    assert len(published) == 1
    ((session_id, seq),) = published[0].items()
    with Session(engine) as db:
        newest = db.exec(
            select(Event).where(Event.session_id == session_id).order_by(col(Event.seq).desc())
        ).first()
    assert newest is not None
    assert (newest.seq, newest.kind) == (seq, "contribution_added")


@pytest.mark.parametrize(
    ("phase", "body", "status"),
    [
        ("setup", {"text": "Too early"}, 409),
        ("brainstorm", {"text": "   "}, 422),
    ],
)
def test_a_refused_request_publishes_nothing_and_stores_no_event(
    workshop: Workshop,
    engine: Engine,
    published: list[dict[int, int]],
    phase: str,
    body: dict[str, str],
    status: int,
) -> None:
    if phase != "setup":
        workshop.phase(phase)
    with Session(engine) as db:
        session_id = find_session(db, workshop.code).id
    before = event_count(engine, session_id)  # type: ignore[arg-type]
    published.clear()
    response = workshop.client.post(
        workshop.url("/contributions"),
        json={"challenge_id": workshop.challenges[0]["id"], **body},
        headers=workshop.p(0),
    )
    assert response.status_code == status
    assert published == []
    assert event_count(engine, session_id) == before  # type: ignore[arg-type]


def test_a_deleted_session_is_announced_as_gone_after_commit_only(
    workshop: Workshop, engine: Engine, published: list[dict[int, int]]
) -> None:
    with Session(engine) as db:
        session = find_session(db, workshop.code)
        session_id = session.id
        delete_session(db, session)
        db.rollback()
    assert published == []
    with Session(engine) as db:
        delete_session(db, find_session(db, workshop.code))
        assert published == []
        db.commit()
    assert published == [{session_id: GONE}]
