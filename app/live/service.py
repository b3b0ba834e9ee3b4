"""Recording events in the same transaction as the change they describe."""

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from app.live.models import Event
from app.sessions.models import WorkshopSession

PENDING_KEY = "policylab_pending_events"


def record_event(db: Session, session: WorkshopSession, kind: str, **data: Any) -> Event:
    """Store an event with the session's next sequence number; published after commit."""
    # Incrementing the counter row-locks the session on PostgreSQL (and SQLite holds the write
    # lock already), so sequence numbers become visible in commit order: a client that has seen
    # seq N can never later miss an event with a smaller seq.
    seq = db.exec(  # type: ignore[call-overload]
        update(WorkshopSession)
        .where(WorkshopSession.id == session.id)  # type: ignore[arg-type]
        .values(last_event_seq=WorkshopSession.last_event_seq + 1)
        .returning(WorkshopSession.last_event_seq)
    ).scalar_one()
    set_committed_value(session, "last_event_seq", seq)
    event = Event(session_id=session.id, seq=seq, kind=kind, data=data)  # type: ignore[arg-type]
    db.add(event)
    db.info.setdefault(PENDING_KEY, set()).add(session.id)
    return event
