"""Tables and schemas of a workshop session, its challenges, participants and contributions."""

from datetime import datetime

from pydantic import field_validator
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models_base import DbId, created_at_field
from app.vocabulary import Phase

DEFAULT_CATEGORIES = ["AI and sector players", "Ecosystem structure", "Key framework conditions"]
DEFAULT_QUESTIONS = [
    "Which gaps stand in the way of solving this challenge?",
    "Which intervention is missing today?",
    "What could be done about it?",
    "What type of intervention would it take?",
]


class WorkshopSession(SQLModel, table=True):
    """One workshop run. Named so that it never clashes with a database session."""

    __tablename__ = "sessions"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=12)
    title: str = Field(max_length=200)
    phase: str = Field(default=Phase.setup, max_length=20)
    facilitator_token_hash: str = Field(max_length=64)
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    show_contributions: bool = True
    show_names: bool = False
    place: str = Field(default="", max_length=200)
    organiser: str = Field(default="", max_length=200)
    lab_date: str = Field(default="", max_length=40)
    last_event_seq: int = 0
    timer_duration: int = 0
    timer_ends_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    timer_remaining: int | None = None
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class Challenge(SQLModel, table=True):
    __tablename__ = "challenges"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("sessions.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    position: int = 0
    title: str = Field(max_length=200)
    description: str = ""
    questions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Participant(SQLModel, table=True):
    __tablename__ = "participants"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("sessions.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    name: str = Field(default="", max_length=60)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    created_at: datetime = created_at_field()


class Contribution(SQLModel, table=True):
    __tablename__ = "contributions"
    __table_args__ = (UniqueConstraint("session_id", "client_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("sessions.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    challenge_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("challenges.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    participant_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("participants.id", ondelete="SET NULL"), nullable=True
        ),
    )
    text: str
    client_id: str | None = Field(default=None, max_length=64)
    cluster_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("clusters.id", ondelete="SET NULL"), nullable=True, index=True
        ),
    )
    position: int = 0
    duplicate_of_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("contributions.id", ondelete="SET NULL"), nullable=True
        ),
    )
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


# --- API schemas -------------------------------------------------------------------------


class ChallengeIn(SQLModel):
    title: str
    description: str | None = None
    questions: list[str] | None = None

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a challenge needs a title")
        return value


class SessionCreate(SQLModel):
    title: str
    challenges: list[ChallengeIn]
    categories: list[str] | None = None
    show_contributions: bool = True
    show_names: bool = False
    place: str = ""
    organiser: str = ""
    lab_date: str = ""


class SessionSettingsUpdate(SQLModel):
    title: str | None = None
    categories: list[str] | None = None
    show_contributions: bool | None = None
    show_names: bool | None = None
    place: str | None = None
    organiser: str | None = None
    lab_date: str | None = None


class ChallengePublic(SQLModel):
    id: int
    title: str
    description: str
    questions: list[str]


class SessionCreated(SQLModel):
    code: str
    title: str
    phase: Phase
    facilitator_token: str
    join_url: str
    facilitator_url: str
    challenges: list[ChallengePublic]
    categories: list[str]


class SessionCounts(SQLModel):
    participants: int
    contributions: int
    clusters: int
    ratings: int


class SessionPublic(SQLModel):
    code: str
    title: str
    phase: Phase
    challenges: list[ChallengePublic]
    categories: list[str]
    counts: SessionCounts
    show_contributions: bool
    show_names: bool
    place: str
    organiser: str
    lab_date: str


class ParticipantCreate(SQLModel):
    name: str | None = None


class ParticipantCreated(SQLModel):
    id: int
    name: str
    participant_token: str


class ParticipantPublic(SQLModel):
    id: int
    name: str
    joined_at: str = Field(description="When the participant joined (ISO 8601).")


class PhaseChange(SQLModel):
    phase: str


class PhasePublic(SQLModel):
    phase: Phase


class ContributionCreate(SQLModel):
    challenge_id: DbId
    text: str
    client_id: str | None = None


class ContributionUpdate(SQLModel):
    text: str


class ContributionPublic(SQLModel):
    """A contribution; `duplicate_of_id` and `author` appear only when they apply (never null)."""

    # Routes answering it set `response_model_exclude_unset=True`, which keeps those keys out.
    id: int
    challenge_id: int
    text: str
    cluster_id: int | None
    mine: bool = Field(
        description="Whether the caller wrote it (the facilitator wrote those without a participant)."
    )
    duplicate_of_id: int | SkipJsonSchema[None] = Field(
        default=None, description="Present only when it is marked as a duplicate of another."
    )
    author: str | SkipJsonSchema[None] = Field(
        default=None, description="Present only in the facilitator's answers."
    )
