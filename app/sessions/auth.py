"""Who is acting: facilitator or participant of one session, identified by a bearer token."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from app.config import get_settings
from app.db import DbDep
from app.errors import Forbidden, NotAuthenticated, NotFound
from app.sessions.models import Participant, WorkshopSession

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read off projectors
CODE_LENGTH = 6
FACILITATOR = "facilitator"
PARTICIPANT = "participant"


def new_token() -> str:
    """A bearer token with 256 bits from the OS's secure generator."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Tokens are stored only as keyed hashes, so a leaked database grants no access."""
    key = get_settings().secret_key.encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    """A short join code, easy to read aloud and type on a phone."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    """Join codes are case-insensitive and tolerate spaces and dashes."""
    return code.strip().upper().replace(" ", "").replace("-", "")


def cookie_name(code: str) -> str:
    """One cookie per session, so one browser can facilitate one lab and join another."""
    return f"policylab_{normalise_code(code)}"


@dataclass
class Actor:
    session: WorkshopSession
    role: str
    participant: Participant | None = None

    @property
    def is_facilitator(self) -> bool:
        return self.role == FACILITATOR

    @property
    def participant_id(self) -> int | None:
        return self.participant.id if self.participant else None


def find_session(db: Session, code: str) -> WorkshopSession:
    """The session with this join code, or 404."""
    found = db.exec(
        select(WorkshopSession).where(WorkshopSession.code == normalise_code(code))
    ).first()
    if found is None:
        raise NotFound("No session has this code. Check the code and try again.")
    return found


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer …` header, if there is one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def request_token(request: Request, code: str) -> str | None:
    """The bearer token from the Authorization header, else from the session's cookie."""
    return bearer_token(request) or request.cookies.get(cookie_name(code))


def resolve_actor(db: Session, session: WorkshopSession, token: str | None) -> Actor:
    """Map a token to its role in this session; 401 when unknown, 403 for another session."""
    if not token:
        raise NotAuthenticated("Join the session first: no token was sent.")
    hashed = hash_token(token)
    if hmac.compare_digest(hashed, session.facilitator_token_hash):
        return Actor(session=session, role=FACILITATOR)
    participant = db.exec(select(Participant).where(Participant.token_hash == hashed)).first()
    if participant is not None:
        if participant.session_id != session.id:
            raise Forbidden("This token belongs to another session.")
        return Actor(session=session, role=PARTICIPANT, participant=participant)
    other = db.exec(
        select(WorkshopSession.id).where(WorkshopSession.facilitator_token_hash == hashed)
    ).first()
    if other is not None:
        raise Forbidden("This token belongs to another session.")
    raise NotAuthenticated("This token is not valid. Join the session again.")


# One query for the common case of every authenticated request: the session by its join code,
# and the participant holding the token (in any session: token hashes are unique and indexed).
_SESSION_AND_HOLDER = (
    select(WorkshopSession, Participant)
    .outerjoin(Participant, col(Participant.token_hash) == bindparam("token_hash"))
    .where(col(WorkshopSession.code) == bindparam("code"))
)


def authenticate(db: Session, code: str, token: str | None) -> Actor:
    """`find_session` then `resolve_actor`, in one query when the token is a participant's
    or this session's facilitator's (same answers: 404, then 401 or 403)."""
    if not token:
        return resolve_actor(db, find_session(db, code), token)
    hashed = hash_token(token)
    row = db.exec(  # type: ignore[call-overload]
        _SESSION_AND_HOLDER, params={"code": normalise_code(code), "token_hash": hashed}
    ).first()
    if row is None:
        raise NotFound("No session has this code. Check the code and try again.")
    session, participant = row
    if participant is None or participant.session_id != session.id:
        return resolve_actor(db, session, token)  # the facilitator, or a refusal
    return Actor(session=session, role=PARTICIPANT, participant=participant)


def optional_actor(db: Session, session: WorkshopSession, request: Request) -> Actor | None:
    """The actor if the request carries a valid token for this session, else None."""
    try:
        return resolve_actor(db, session, request_token(request, session.code))
    except (NotAuthenticated, Forbidden):
        return None


def require_facilitator(actor: Actor) -> Actor:
    """Refuse anyone but the session's facilitator."""
    if not actor.is_facilitator:
        raise Forbidden("Only the facilitator can do this.")
    return actor


def require_participant(actor: Actor) -> Actor:
    """Refuse anyone but a participant (the facilitator does not rate)."""
    if actor.participant is None:
        raise Forbidden("Only participants can do this.")
    return actor


# Declared for the OpenAPI document (the "Authorize" button of /docs); the token itself is
# read by `request_token`, which also accepts the browser's session cookie.
bearer = HTTPBearer(
    auto_error=False,
    description="The facilitator token, or a participant token from joining. Browsers send "
    "the session cookie instead.",
)


def get_actor(
    code: str,
    request: Request,
    db: DbDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Actor:
    """Dependency: the authenticated actor for the session named in the path."""
    return authenticate(db, code, request_token(request, code))


def get_facilitator(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    """Dependency: the session's facilitator, or 403."""
    return require_facilitator(actor)


def get_participant(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    """Dependency: a participant of the session, or 403."""
    return require_participant(actor)


ActorDep = Annotated[Actor, Depends(get_actor)]
FacilitatorDep = Annotated[Actor, Depends(get_facilitator)]
ParticipantDep = Annotated[Actor, Depends(get_participant)]


def set_auth_cookie(response: Response, code: str, token: str) -> None:
    """Remember the token in this browser: HttpOnly, SameSite=Lax, Secure over HTTPS."""
    response.set_cookie(
        cookie_name(code),
        token,
        max_age=60 * 60 * 24 * 30,
        httponly=True,
        samesite="lax",
        secure=get_settings().https,
        path="/",
    )


def page_actor(request: Request, db: Session, code: str) -> Actor | None:
    """For page routes: the actor from the session cookie, or None (the page then redirects)."""
    session = find_session(db, code)
    return optional_actor(db, session, request)
