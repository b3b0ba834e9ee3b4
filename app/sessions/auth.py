"""Who is acting: facilitator or participant of one session, identified by a bearer token."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated, NoReturn

from fastapi import Depends, Header, Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, inspect
from sqlmodel import Session, col, select

from app import ratelimit
from app.config import get_settings
from app.db import DbDep
from app.errors import Forbidden, NotAuthenticated, NotFound
from app.i18n import N_, _
from app.ratelimit import Caller, CallerDep
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
    """One cookie per session, so one browser can facilitate one lab and join another.

    Over HTTPS the name carries the `__Host-` prefix: browsers then accept the cookie only
    when it is Secure, for the whole site and from this very host, so a sibling subdomain
    cannot plant or overwrite it."""
    prefix = "__Host-policylab_" if get_settings().https else "policylab_"
    return f"{prefix}{normalise_code(code)}"


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


def reload_actor(db: Session, actor: Actor) -> Actor:
    """The same actor read again in `db`: after a refused request's unit of work was rolled
    back, its objects are expired and detached, but they keep their identity."""
    session = db.get(WorkshopSession, inspect(actor.session).identity[0])
    if session is None:
        raise NotFound(_("This session no longer exists."))
    participant = None
    if actor.participant is not None:
        participant = db.get(Participant, inspect(actor.participant).identity[0])
    return Actor(session=session, role=actor.role, participant=participant)


def session_by_code(db: Session, code: str) -> WorkshopSession | None:
    """The session with this join code (any case, spaces and dashes allowed), or None."""
    return db.exec(
        select(WorkshopSession).where(WorkshopSession.code == normalise_code(code))
    ).first()


UNKNOWN_CODE = N_("No session has this code. Check the code and try again.")


class UnknownCode(NotFound):
    """No session has this code. Answered a moment late: join codes are short, and guessing
    them should be slow (misses are also counted per address, see `find_session`)."""

    answer_after = 0.3


def find_session(db: Session, code: str, caller: Caller | None = None) -> WorkshopSession:
    """The session with this join code, or 404. With a `caller` (a code typed or sent over
    the network), codes that match nothing are counted per address: past the limit, 429."""
    if caller is not None:
        ratelimit.refuse_if_exhausted("code_guess", caller.address)
    found = session_by_code(db, code)
    if found is None:
        _unknown_code(caller)
    return found


def _unknown_code(caller: Caller | None) -> NoReturn:
    if caller is not None:
        ratelimit.hit("code_guess", caller.address)
    raise UnknownCode(_(UNKNOWN_CODE))


def bearer_token(request: Request) -> str | None:
    """The token of an `Authorization: Bearer …` header, if there is one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def request_token(request: Request, code: str) -> str | None:
    """The bearer token from the Authorization header, else from the session's cookie."""
    return bearer_token(request) or request.cookies.get(cookie_name(code))


def actor_for_token(db: Session, session: WorkshopSession, token: str | None) -> Actor | None:
    """The actor this token stands for in this session, or None."""
    if not token:
        return None
    hashed = hash_token(token)
    if hmac.compare_digest(hashed, session.facilitator_token_hash):
        return Actor(session=session, role=FACILITATOR)
    participant = db.exec(
        select(Participant).where(
            Participant.token_hash == hashed, Participant.session_id == session.id
        )
    ).first()
    if participant is None:
        return None
    return Actor(session=session, role=PARTICIPANT, participant=participant)


def resolve_actor(db: Session, session: WorkshopSession, token: str | None) -> Actor:
    """Map a token to its role in this session; 401 when unknown, 403 for another session."""
    if not token:
        raise NotAuthenticated(_("Join the session first: no token was sent."))
    actor = actor_for_token(db, session, token)
    if actor is not None:
        return actor
    hashed = hash_token(token)
    elsewhere = db.exec(select(Participant.id).where(Participant.token_hash == hashed)).first()
    if elsewhere is None:
        elsewhere = db.exec(
            select(WorkshopSession.id).where(WorkshopSession.facilitator_token_hash == hashed)
        ).first()
    if elsewhere is not None:
        raise Forbidden(_("This token belongs to another session."))
    raise NotAuthenticated(_("This token is not valid. Join the session again."))


# One query for the common case of every authenticated request: the session by its join code,
# and the participant holding the token (in any session: token hashes are unique and indexed).
_SESSION_AND_HOLDER = (
    select(WorkshopSession, Participant)
    .outerjoin(Participant, col(Participant.token_hash) == bindparam("token_hash"))
    .where(col(WorkshopSession.code) == bindparam("code"))
)


def authenticate(db: Session, code: str, token: str | None, caller: Caller | None = None) -> Actor:
    """`find_session` then `resolve_actor`, in one query when the token is a participant's
    or this session's facilitator's (same answers: 404, then 401 or 403)."""
    if not token:
        return resolve_actor(db, find_session(db, code, caller), token)
    if caller is not None:
        ratelimit.refuse_if_exhausted("code_guess", caller.address)
    hashed = hash_token(token)
    row = db.exec(  # type: ignore[call-overload]
        _SESSION_AND_HOLDER, params={"code": normalise_code(code), "token_hash": hashed}
    ).first()
    if row is None:
        _unknown_code(caller)
    session, participant = row
    if participant is None or participant.session_id != session.id:
        return resolve_actor(db, session, token)  # the facilitator, or a refusal
    return Actor(session=session, role=PARTICIPANT, participant=participant)


def optional_actor(db: Session, session: WorkshopSession, request: Request) -> Actor | None:
    """The actor if the request carries a valid token for this session, else None."""
    return actor_for_token(db, session, request_token(request, session.code))


def require_facilitator(
    actor: Actor, message: str = N_("Only the facilitator can do this.")
) -> Actor:
    """Refuse anyone but the session's facilitator (`message` marked with `N_`)."""
    if not actor.is_facilitator:
        raise Forbidden(_(message))
    return actor


def require_participant(actor: Actor) -> Actor:
    """Refuse anyone but a participant (the facilitator does not rate)."""
    if actor.participant is None:
        raise Forbidden(_("Only participants can do this."))
    return actor


# --- the dependency family: who acts, for the API and the pages alike ----------------------
#
# One chain: the session named in the path (404), the token of the request (bearer header,
# else the session's cookie), the actor it stands for (401/403), the role the route needs
# (403). Pages use the same chain with a way forward instead of a bare refusal: someone not
# signed in is sent to the join page, the facilitator on a participant page to the dashboard.

# Declared for the OpenAPI document (the "Authorize" button of /docs); the token itself is
# read by `request_token`, which also accepts the browser's session cookie.
bearer = HTTPBearer(
    auto_error=False,
    description="The facilitator token, or a participant token from joining. Browsers send "
    "the session cookie instead.",
)

FACILITATOR_ONLY_PAGE = N_(
    "This page is for the facilitator of the session. Open the facilitator link you were "
    "given when the session was created, or enter the facilitator key on the sign-in page "
    "(/f), to sign in on this device."
)
NOT_SIGNED_IN = N_(
    "This browser is no longer signed in to the session. Copy your text if you need it, "
    "then join again with the code."
)
FACILITATOR_ON_PARTICIPANT_PAGE = N_(
    "This is the participants' page; you are signed in as facilitator."
)


def get_workshop(code: str, db: DbDep, caller: CallerDep) -> WorkshopSession:
    """Dependency: the session named in the path, or 404."""
    return find_session(db, code, caller)


WorkshopDep = Annotated[WorkshopSession, Depends(get_workshop)]


def get_actor(
    code: str,
    request: Request,
    db: DbDep,
    caller: CallerDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
) -> Actor:
    """Dependency: the authenticated actor for the session named in the path (404, 401, 403;
    the session and the token's holder are read in one query)."""
    return authenticate(db, code, request_token(request, code), caller)


ActorDep = Annotated[Actor, Depends(get_actor)]


def get_facilitator(actor: ActorDep) -> Actor:
    """Dependency: the session's facilitator, or 403."""
    return require_facilitator(actor)


def get_participant(actor: ActorDep) -> Actor:
    """Dependency: a participant of the session, or 403."""
    return require_participant(actor)


FacilitatorDep = Annotated[Actor, Depends(get_facilitator)]
ParticipantDep = Annotated[Actor, Depends(get_participant)]


def get_page_actor(request: Request, db: DbDep, session: WorkshopDep) -> Actor | None:
    """Dependency for pages: the actor of this browser's cookie, or None (a stale or foreign
    cookie is the same as none: the page offers a way in)."""
    return optional_actor(db, session, request)


PageActorDep = Annotated[Actor | None, Depends(get_page_actor)]


def get_facilitator_page(actor: PageActorDep) -> Actor:
    """Dependency for the facilitator's pages: the facilitator, or 403 saying how to sign in."""
    if actor is None:
        raise Forbidden(_(FACILITATOR_ONLY_PAGE))
    return require_facilitator(actor, FACILITATOR_ONLY_PAGE)


def get_participant_page(request: Request, session: WorkshopDep, actor: PageActorDep) -> Actor:
    """Dependency for the participant's pages: the participant; without a cookie, off to the
    join page; the facilitator goes to the dashboard."""
    if actor is None:
        raise NotAuthenticated(_(NOT_SIGNED_IN), redirect_to=f"/join/{session.code}")
    if actor.is_facilitator:
        dashboard = f"/s/{session.code}/facilitate" if request.method == "GET" else None
        raise Forbidden(_(FACILITATOR_ON_PARTICIPANT_PAGE), redirect_to=dashboard)
    return actor


FacilitatorPageDep = Annotated[Actor, Depends(get_facilitator_page)]
ParticipantPageDep = Annotated[Actor, Depends(get_participant_page)]


# --- creating sessions: the organiser key ----------------------------------------------------


def check_organiser_key(provided: str | None, caller: Caller) -> None:
    """When the instance has an organiser key, only holders may create or import sessions;
    401 when missing or wrong. Wrong guesses are rate-limited (API and pages alike): past
    the limit, every key is refused until the minute has passed, the right one too."""
    required = get_settings().organiser_key
    if not required:
        return
    provided = (provided or "").strip()
    if provided:
        ratelimit.refuse_if_exhausted("organiser_key", caller.address)
    if hmac.compare_digest(provided.encode(), required.encode()):
        return
    if provided:
        ratelimit.hit("organiser_key", caller.address)
    raise NotAuthenticated(
        _(
            "Creating sessions on this server needs the organiser key. "
            "The key sent is not this server's."
        )
        if provided
        else _("Creating sessions on this server needs the organiser key."),
        field="organiser_key",
    )


def require_organiser(
    request: Request,
    caller: CallerDep,
    header_key: Annotated[str | None, Header(alias="X-Organiser-Key")] = None,
) -> None:
    """Dependency of the API's create and import: the organiser key, when the instance has
    one, in the X-Organiser-Key header or as the bearer token."""
    check_organiser_key(header_key or bearer_token(request), caller)


OrganiserDep = Annotated[None, Depends(require_organiser)]


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


def clear_auth_cookie(response: Response, code: str) -> None:
    """Forget the session's token in this browser (same attributes as when it was set, or
    the browser ignores a `__Host-` cookie's deletion)."""
    response.delete_cookie(
        cookie_name(code), path="/", secure=get_settings().https, httponly=True, samesite="lax"
    )
