"""The phase timer: maths on the server's clock, and the API's refusals that change nothing."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.errors import Conflict, InvalidInput
from app.live.models import Event
from app.live.timer import control_timer, timer_state
from app.sessions.auth import find_session
from tests.conftest import Workshop

T0 = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def timer_events(db: Session, session_id: int) -> list[dict[str, Any]]:
    rows = db.exec(
        select(Event)
        .where(Event.session_id == session_id, Event.kind == "timer_changed")
        .order_by(col(Event.seq))
    )
    return [row.data for row in rows]


def test_timer_maths_across_pause_resume_extend_and_reset(workshop: Workshop, db: Session) -> None:
    session = find_session(db, workshop.code)

    started = control_timer(db, session, "start", 600, now=at(0))
    assert (started.state, started.remaining, started.duration) == ("running", 600, 600)
    assert started.ends_at == at(600)
    assert timer_state(session, at(100)).remaining == 500

    paused = control_timer(db, session, "pause", now=at(100.4))
    assert (paused.state, paused.remaining, paused.ends_at) == ("paused", 500, None)
    assert timer_state(session, at(1000)).remaining == 500  # paused time does not count

    resumed = control_timer(db, session, "resume", now=at(1000))
    assert resumed.ends_at == at(1500)
    assert timer_state(session, at(1200)).remaining == 300

    extended = control_timer(db, session, "extend", 60, now=at(1200))
    assert (extended.ends_at, extended.remaining, extended.duration) == (at(1560), 360, 660)

    expired = timer_state(session, at(1600))
    assert (expired.state, expired.remaining, expired.running) == ("expired", 0, False)
    more = control_timer(db, session, "extend", 30, now=at(1600))  # time added from now
    assert (more.state, more.ends_at, more.duration) == ("running", at(1630), 690)

    control_timer(db, session, "pause", now=at(1610))
    paused_more = control_timer(db, session, "extend", 10, now=at(1611))
    assert (paused_more.state, paused_more.remaining, paused_more.duration) == ("paused", 30, 700)

    restarted = control_timer(db, session, "start", now=at(2000))  # reuses the last duration
    assert (restarted.ends_at, restarted.duration) == (at(2700), 700)

    reset = control_timer(db, session, "reset", now=at(2100))
    assert (reset.state, reset.remaining, reset.duration, reset.ends_at) == ("idle", 0, 0, None)
    db.commit()

    events = timer_events(db, session.id)  # type: ignore[arg-type]
    assert [e["action"] for e in events] == [
        "start", "pause", "resume", "extend", "extend", "pause", "extend", "start", "reset"
    ]  # fmt: skip
    assert events[0]["ends_at"] == "2026-05-04T09:40:00.000+00:00"
    assert "server_now" not in events[0]


@pytest.mark.parametrize(
    ("action", "seconds", "error"),
    [
        ("pause", None, Conflict),
        ("resume", None, Conflict),
        ("extend", 60, Conflict),
        ("start", None, InvalidInput),
        ("start", 0, InvalidInput),
        ("start", 10**6, InvalidInput),
        ("rewind", None, InvalidInput),
    ],
)
def test_impossible_timer_actions_are_refused(
    workshop: Workshop, db: Session, action: str, seconds: int | None, error: type
) -> None:
    session = find_session(db, workshop.code)
    with pytest.raises(error):
        control_timer(db, session, action, seconds, now=at(0))


def test_the_api_serves_ends_at_with_the_servers_clock(workshop: Workshop) -> None:
    client = workshop.client
    idle = client.get(workshop.url("/timer"), headers=workshop.p(0)).json()
    assert idle["running"] is False and idle["remaining"] == 0 and idle["ends_at"] is None
    assert set(idle) >= {"running", "remaining", "ends_at", "server_now", "duration"}

    started = client.post(
        workshop.url("/timer"), json={"action": "start", "seconds": 90}, headers=workshop.f
    )
    assert started.status_code == 200, started.text
    seen = client.get(workshop.url("/timer"), headers=workshop.p(1)).json()
    assert seen["running"] is True and seen["duration"] == 90
    ends_at = datetime.fromisoformat(seen["ends_at"])
    server_now = datetime.fromisoformat(seen["server_now"])
    # A client whose clock is off computes the same countdown from these two figures.
    assert abs((ends_at - server_now).total_seconds() - seen["remaining"]) < 0.01
    assert 85 < seen["remaining"] <= 90

    paused = client.post(workshop.url("/timer"), json={"action": "pause"}, headers=workshop.f)
    assert paused.json()["state"] == "paused" and paused.json()["ends_at"] is None


def snapshot(workshop: Workshop, engine: Engine) -> tuple[dict[str, Any], int]:
    state = workshop.client.get(workshop.url("/timer"), headers=workshop.f).json()
    del state["server_now"], state["remaining"]  # both move with the clock; ends_at does not
    with Session(engine) as db:
        return state, find_session(db, workshop.code).last_event_seq


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        ("participant", {"action": "pause"}, 403),
        ("facilitator", {"action": "resume"}, 409),
        ("facilitator", {"action": "rewind"}, 422),
        ("facilitator", {"action": "extend"}, 422),
        ("facilitator", {"action": "extend", "seconds": -5}, 422),
        ("facilitator", {"action": "start", "seconds": "soon"}, 422),
        ("facilitator", {"seconds": 60}, 422),
    ],
)
def test_refused_timer_requests_change_nothing(
    workshop: Workshop, engine: Engine, who: str, body: dict[str, Any], status: int
) -> None:
    client = workshop.client
    client.post(
        workshop.url("/timer"), json={"action": "start", "seconds": 300}, headers=workshop.f
    )
    before = snapshot(workshop, engine)
    headers = workshop.f if who == "facilitator" else workshop.p(0)
    response = client.post(workshop.url("/timer"), json=body, headers=headers)
    assert response.status_code == status
    assert response.json()["detail"]
    assert snapshot(workshop, engine) == before


def test_pausing_an_idle_timer_is_a_conflict_with_a_clear_message(workshop: Workshop) -> None:
    response = workshop.client.post(
        workshop.url("/timer"), json={"action": "pause"}, headers=workshop.f
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "The timer is not running (it is idle)."}
