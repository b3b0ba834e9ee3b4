"""JSON API for sessions, participants and contributions (`/api/v1`)."""

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response

from app.config import get_settings
from app.db import DbDep
from app.errors import API_ERRORS, Forbidden, NotAuthenticated
from app.ratelimit import limit
from app.sessions import service
from app.sessions.auth import ActorDep, FacilitatorDep, bearer_token, find_session
from app.sessions.models import (
    ContributionCreate,
    ContributionPublic,
    ContributionUpdate,
    ParticipantCreate,
    ParticipantCreated,
    ParticipantPublic,
    PhaseChange,
    PhasePublic,
    SessionCreate,
    SessionCreated,
    SessionPublic,
    SessionSettingsUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["sessions"], responses=API_ERRORS)


def public_base_url(request: Request) -> str:
    """The address participants reach this server at."""
    return (get_settings().base_url or str(request.base_url)).rstrip("/")


def join_url(request: Request, code: str) -> str:
    """The link participants open to join."""
    return f"{public_base_url(request)}/join/{code}"


def facilitator_url(request: Request, code: str, token: str) -> str:
    """The secret link that signs the facilitator in (exchanged for a cookie on first use)."""
    return f"{public_base_url(request)}/f/{code}?key={token}"


def check_organiser_key(provided: str | None) -> None:
    """When the instance has an organiser key, only holders may create or import sessions."""
    required = get_settings().organiser_key
    if required and not hmac.compare_digest((provided or "").encode(), required.encode()):
        raise Forbidden("Creating sessions on this server needs the organiser key.")


def require_organiser(
    request: Request,
    header_key: Annotated[str | None, Header(alias="X-Organiser-Key")] = None,
) -> None:
    """Dependency for creating and importing: the organiser key, when the instance has one,
    in the X-Organiser-Key header or as the bearer token; 401 when missing or wrong (wrong
    guesses are rate-limited)."""
    required = get_settings().organiser_key
    if not required:
        return
    provided = header_key or bearer_token(request) or ""
    if not hmac.compare_digest(provided.encode(), required.encode()):
        if provided:
            limit(request, "organiser_key")
        raise NotAuthenticated(
            "Creating sessions on this server needs the organiser key: send it as a bearer "
            "token or in the X-Organiser-Key header."
            + (" The key sent is not this server's." if provided else "")
        )


OrganiserDep = Annotated[None, Depends(require_organiser)]


def session_public(db: DbDep, session: Any) -> dict[str, Any]:
    """The API shape of a session."""
    return {
        "code": session.code,
        "title": session.title,
        "phase": session.phase,
        "challenges": [challenge_public(c) for c in service.list_challenges(db, session)],
        "categories": session.categories,
        "counts": service.counts(db, session).model_dump(),
        "show_contributions": session.show_contributions,
        "show_names": session.show_names,
        "place": session.place,
        "organiser": session.organiser,
        "lab_date": session.lab_date,
    }


def challenge_public(challenge: Any) -> dict[str, Any]:
    """The API shape of a challenge."""
    return {
        "id": challenge.id,
        "title": challenge.title,
        "description": challenge.description,
        "questions": challenge.questions,
    }


def created_public(request: Request, created: service.CreatedSession) -> dict[str, Any]:
    """What the creator of a session gets back, once: includes the facilitator token."""
    session = created.session
    return {
        "code": session.code,
        "title": session.title,
        "phase": session.phase,
        "facilitator_token": created.facilitator_token,
        "join_url": join_url(request, session.code),
        "facilitator_url": facilitator_url(request, session.code, created.facilitator_token),
        "challenges": [challenge_public(c) for c in created.challenges],
        "categories": session.categories,
    }


@router.post("/sessions", status_code=201, response_model=SessionCreated)
def create_session(
    data: SessionCreate, request: Request, db: DbDep, _organiser: OrganiserDep
) -> dict[str, Any]:
    """Create a session; the answer carries the facilitator token, shown only this once."""
    limit(request, "create_session")
    return created_public(request, service.create_session(db, data))


@router.get("/sessions/{code}", response_model=SessionPublic)
def get_session(actor: ActorDep, db: DbDep) -> dict[str, Any]:
    """The session with its challenges, categories and live counts."""
    return session_public(db, actor.session)


@router.patch("/sessions/{code}", response_model=SessionPublic)
def update_session(data: SessionSettingsUpdate, actor: FacilitatorDep, db: DbDep) -> dict[str, Any]:
    """Change the title, categories or options of a session."""
    service.update_settings(db, actor.session, data)
    return session_public(db, actor.session)


@router.delete("/sessions/{code}", status_code=204)
def delete_session(actor: FacilitatorDep, db: DbDep) -> Response:
    """Delete the session and all its data."""
    service.delete_session(db, actor.session)
    return Response(status_code=204)


@router.post("/sessions/{code}/participants", status_code=201, response_model=ParticipantCreated)
def join_session(
    code: str, request: Request, db: DbDep, data: ParticipantCreate | None = None
) -> dict[str, Any]:
    """Join with the code (a name is optional, so is the body); the participant token is
    shown only this once."""
    session = find_session(db, code)
    limit(request, "join")
    participant, token = service.join(db, session, data.name if data else None)
    return {"id": participant.id, "name": participant.name, "participant_token": token}


@router.get("/sessions/{code}/participants", response_model=list[ParticipantPublic])
def list_participants(actor: FacilitatorDep, db: DbDep) -> list[dict[str, Any]]:
    """Who joined (facilitator only)."""
    return [
        {"id": p.id, "name": p.name, "joined_at": p.created_at.isoformat()}
        for p in service.list_participants(db, actor.session)
    ]


@router.post("/sessions/{code}/phase", response_model=PhasePublic)
def change_phase(data: PhaseChange, actor: FacilitatorDep, db: DbDep) -> dict[str, str]:
    """Move the session to another phase (forwards or back)."""
    return {"phase": service.change_phase(db, actor.session, data.phase)}


@router.post(
    "/sessions/{code}/contributions",
    status_code=201,
    response_model=ContributionPublic,
    response_model_exclude_unset=True,
)
def add_contribution(
    data: ContributionCreate, request: Request, response: Response, actor: ActorDep, db: DbDep
) -> dict[str, Any]:
    """Submit a contribution; a retry with the same `client_id` is stored once."""
    if actor.participant_id is not None:  # the facilitator may paste in a whole wall of notes
        limit(request, "contribute", key=f"{actor.session.id}:{actor.participant_id}")
    contribution, created = service.add_contribution(
        db, actor, data.challenge_id, data.text, data.client_id
    )
    if not created:  # a retry: the same answer as the first time, marked as a replay
        response.headers["Idempotent-Replayed"] = "true"
    return service.contribution_public(contribution, actor)


@router.get(
    "/sessions/{code}/contributions",
    response_model=list[ContributionPublic],
    response_model_exclude_unset=True,
)
def list_contributions(
    actor: ActorDep, db: DbDep, challenge_id: int | None = None
) -> list[dict[str, Any]]:
    """The contributions this caller may see; authors only for the facilitator."""
    names = service.author_names(db, actor.session) if actor.is_facilitator else None
    return [
        service.contribution_public(c, actor, names)
        for c in service.visible_contributions(db, actor, challenge_id)
    ]


@router.patch(
    "/sessions/{code}/contributions/{contribution_id}",
    response_model=ContributionPublic,
    response_model_exclude_unset=True,
)
def edit_contribution(
    contribution_id: int, data: ContributionUpdate, actor: ActorDep, db: DbDep
) -> dict[str, Any]:
    """Rewrite a contribution (its author during the brainstorm, or the facilitator)."""
    contribution = service.edit_contribution(db, actor, contribution_id, data.text)
    names = service.author_names(db, actor.session) if actor.is_facilitator else None
    return service.contribution_public(contribution, actor, names)


@router.delete("/sessions/{code}/contributions/{contribution_id}", status_code=204)
def remove_contribution(contribution_id: int, actor: ActorDep, db: DbDep) -> Response:
    """Remove a contribution (its author during the brainstorm, or the facilitator)."""
    service.remove_contribution(db, actor, contribution_id)
    return Response(status_code=204)
