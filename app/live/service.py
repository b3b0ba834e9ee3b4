"""Recording events in the same transaction as the change they describe, reading them back
by sequence number, and pruning old ones."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from app.live.models import Event
from app.models_base import utcnow
from app.sessions.models import WorkshopSession

# db.info keys: which sessions got events in the open transaction (published after commit,
# see app.live.hub), and the highest sequence number recorded for each of them.
PENDING_KEY = "policylab_pending_events"
PENDING_SEQS_KEY = "policylab_pending_seqs"


_sessions = WorkshopSession.__table__  # type: ignore[attr-defined]
_events = Event.__table__  # type: ignore[attr-defined]
# Built once: the statements of every change others must see (Core, not ORM-enabled DML, whose
# bookkeeping cost more than the statements themselves).
_NEXT_SEQ = (
    update(_sessions)
    .where(_sessions.c.id == bindparam("session_id"))
    .values(last_event_seq=_sessions.c.last_event_seq + 1)
    .returning(_sessions.c.last_event_seq)
)
_INSERT_EVENT = insert(_events)


def record_event(db: Session, session: WorkshopSession, kind: str, **data: Any) -> Event:
    """Store an event with the session's next sequence number; published after commit."""
    # Incrementing the counter row-locks the session on PostgreSQL (and SQLite holds the write
    # lock already), so sequence numbers become visible in commit order: a client that has seen
    # seq N can never later miss an event with a smaller seq.
    seq: int = db.execute(_NEXT_SEQ, {"session_id": session.id}).scalar_one()
    set_committed_value(session, "last_event_seq", seq)
    created_at = utcnow()
    db.execute(
        _INSERT_EVENT,
        {
            "session_id": session.id,
            "seq": seq,
            "kind": kind,
            "data": data,
            "created_at": created_at,
        },
    )
    db.info.setdefault(PENDING_KEY, set()).add(session.id)
    seqs: dict[int, int] = db.info.setdefault(PENDING_SEQS_KEY, {})
    seqs[session.id] = max(seq, seqs.get(session.id, 0))  # type: ignore[index, arg-type]
    return Event(
        session_id=session.id,  # type: ignore[arg-type]
        seq=seq,
        kind=kind,
        data=data,
        created_at=created_at,
    )


def take_pending(db: Session) -> dict[int, int]:
    """Session id → highest new seq of the transaction just ended, forgetting them."""
    ids: set[int] = db.info.pop(PENDING_KEY, set())
    seqs: dict[int, int] = db.info.pop(PENDING_SEQS_KEY, {})
    return {session_id: seqs.get(session_id, 0) for session_id in ids}


def as_utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; they were stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def oldest_seq(db: Session, session_id: int) -> int | None:
    """The seq of the session's oldest kept event, or None when it has none."""
    value = db.exec(select(func.min(Event.seq)).where(Event.session_id == session_id)).one()
    return None if value is None else int(value)


def events_after(db: Session, session_id: int, after_seq: int, limit: int = 500) -> list[Event]:
    """Up to `limit` events of the session with seq > `after_seq`, oldest first."""
    return list(
        db.exec(
            select(Event)
            .where(Event.session_id == session_id, Event.seq > after_seq)
            .order_by(col(Event.seq))
            .limit(limit)
        )
    )


def last_seq(db: Session, session_id: int) -> int:
    """The session's newest event seq (0 when it has none or is gone)."""
    value = db.exec(
        select(WorkshopSession.last_event_seq).where(WorkshopSession.id == session_id)
    ).first()
    return int(value or 0)


def prune_events(
    db: Session, *, retention_hours: int, keep_last: int, now: datetime | None = None
) -> int:
    """Delete events older than `retention_hours` unless among their session's last
    `keep_last`; returns how many were deleted.

    A client whose Last-Event-ID points before the oldest kept event gets a `reset` event
    and reloads its state (see app.live.stream).
    """
    cutoff = (now or datetime.now(UTC)) - timedelta(hours=retention_hours)
    newest = (
        select(WorkshopSession.last_event_seq)
        .where(WorkshopSession.id == Event.session_id)
        .scalar_subquery()
    )
    result = db.exec(  # type: ignore[call-overload]
        delete(Event).where(
            col(Event.created_at) < cutoff,
            col(Event.seq) <= newest - keep_last,
        )
    )
    db.flush()
    return int(result.rowcount or 0)
