"""JSON API for sessions, participants and contributions (`/api/v1`)."""

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from app.db import DbDep
from app.errors import API_ERRORS
from app.models_base import PathId
from app.ratelimit import CallerDep
from app.sessions import service
from app.sessions.auth import ActorDep, FacilitatorDep, OrganiserDep, WorkshopDep
from app.sessions.links import facilitator_url, join_url
from app.sessions.models import (
    ChallengePublic,
    ContributionCreate,
    ContributionPublic,
    ContributionsRemoval,
    ContributionsRemoved,
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
    WorkshopSession,
)

router = APIRouter(prefix="/api/v1", tags=["sessions"], responses=API_ERRORS)


def session_public(db: Session, session: WorkshopSession) -> SessionPublic:
    """The API shape of a session, with its challenges and live counts."""
    return SessionPublic.model_validate(
        session,
        update={
            "challenges": [
                ChallengePublic.model_validate(c) for c in service.list_challenges(db, session)
            ],
            "counts": service.counts(db, session),
        },
    )


def created_public(request: Request, created: service.CreatedSession) -> SessionCreated:
    """What the creator of a session gets back, once: includes the facilitator token."""
    session, token = created.session, created.facilitator_token
    return SessionCreated.model_validate(
        session,
        update={
            "facilitator_token": token,
            "join_url": join_url(request, session.code),
            "facilitator_url": facilitator_url(request, session.code, token),
            "challenges": [ChallengePublic.model_validate(c) for c in created.challenges],
        },
    )


@router.post("/sessions", status_code=201, response_model=SessionCreated)
def create_session(
    data: SessionCreate, request: Request, db: DbDep, caller: CallerDep, _organiser: OrganiserDep
) -> SessionCreated:
    """Create a session; the answer carries the facilitator token, shown only this once."""
    return created_public(request, service.create_session(db, data, caller))


@router.get("/sessions/{code}", response_model=SessionPublic)
def get_session(actor: ActorDep, db: DbDep) -> SessionPublic:
    """The session with its challenges, categories and live counts."""
    return session_public(db, actor.session)


@router.patch("/sessions/{code}", response_model=SessionPublic)
def update_session(data: SessionSettingsUpdate, actor: FacilitatorDep, db: DbDep) -> SessionPublic:
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
    session: WorkshopDep, db: DbDep, caller: CallerDep, data: ParticipantCreate | None = None
) -> ParticipantCreated:
    """Join with the code (a name is optional, so is the body); the participant token is
    shown only this once."""
    participant, token = service.join(db, session, data.name if data else None, caller)
    return ParticipantCreated.model_validate(participant, update={"participant_token": token})


@router.get("/sessions/{code}/participants", response_model=list[ParticipantPublic])
def list_participants(actor: FacilitatorDep, db: DbDep) -> list[ParticipantPublic]:
    """Who joined (facilitator only)."""
    return [ParticipantPublic.of(p) for p in service.list_participants(db, actor.session)]


@router.delete("/sessions/{code}/participants/{participant_id}", status_code=204)
def remove_participant(participant_id: PathId, actor: FacilitatorDep, db: DbDep) -> Response:
    """Remove a participant with everything they wrote and scored (facilitator only); their
    token stops working."""
    service.remove_participant(db, actor, participant_id)
    return Response(status_code=204)


@router.post("/sessions/{code}/phase", response_model=PhasePublic)
def change_phase(data: PhaseChange, actor: FacilitatorDep, db: DbDep) -> PhasePublic:
    """Move the session to another phase (forwards or back)."""
    return PhasePublic.model_validate(
        {"phase": service.change_phase(db, actor.session, data.phase)}
    )


@router.post("/sessions/{code}/contributions", status_code=201, response_model=ContributionPublic)
def add_contribution(
    data: ContributionCreate, response: Response, actor: ActorDep, db: DbDep
) -> ContributionPublic:
    """Submit a contribution; a retry with the same `client_id` is stored once."""
    contribution, created = service.add_contribution(
        db, actor, data.challenge_id, data.text, data.client_id
    )
    if not created:  # a retry: the same answer as the first time, marked as a replay
        response.headers["Idempotent-Replayed"] = "true"
    return service.contribution_public(contribution, actor)


@router.get("/sessions/{code}/contributions", response_model=list[ContributionPublic])
def list_contributions(
    actor: ActorDep, db: DbDep, challenge_id: int | None = None
) -> list[ContributionPublic]:
    """The contributions this caller may see; authors only for the facilitator."""
    names = service.author_names(db, actor.session) if actor.is_facilitator else None
    return [
        service.contribution_public(c, actor, names)
        for c in service.visible_contributions(db, actor, challenge_id)
    ]


@router.post("/sessions/{code}/contributions/remove", response_model=ContributionsRemoved)
def remove_contributions(
    data: ContributionsRemoval, actor: FacilitatorDep, db: DbDep
) -> ContributionsRemoved:
    """Remove several contributions at once (facilitator only): all of them, or none when
    one is not of this session."""
    return ContributionsRemoved(
        removed=service.remove_contributions(db, actor, data.contribution_ids)
    )


@router.patch("/sessions/{code}/contributions/{contribution_id}", response_model=ContributionPublic)
def edit_contribution(
    contribution_id: PathId, data: ContributionUpdate, actor: ActorDep, db: DbDep
) -> ContributionPublic:
    """Rewrite a contribution (its author during the brainstorm, or the facilitator)."""
    contribution = service.edit_contribution(db, actor, contribution_id, data.text)
    names = service.author_names(db, actor.session) if actor.is_facilitator else None
    return service.contribution_public(contribution, actor, names)


@router.delete("/sessions/{code}/contributions/{contribution_id}", status_code=204)
def remove_contribution(contribution_id: PathId, actor: ActorDep, db: DbDep) -> Response:
    """Remove a contribution (its author during the brainstorm, or the facilitator)."""
    service.remove_contribution(db, actor, contribution_id)
    return Response(status_code=204)
