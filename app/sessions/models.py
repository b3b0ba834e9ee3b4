"""Tables and schemas of a workshop session, its challenges, participants and contributions."""

from datetime import datetime

from pydantic import Field as PydanticField
from pydantic import field_validator
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.i18n import DEFAULT_LANGUAGE, N_, _
from app.models_base import DbId, created_at_field
from app.vocabulary import Phase

# The method's defaults, stored in a new session in the language it is created in
# (`app.sessions.service.default_categories`); stored, they are the session's own text.
DEFAULT_CATEGORIES = [
    # Translators: default category: the actors themselves (artists, SMEs, developers…).
    N_("AI and sector players"),
    # Translators: default category: networks, intermediaries, collaboration spaces.
    N_("Ecosystem structure"),
    # Translators: default category: funding, regulation, IP, infrastructure.
    N_("Key framework conditions"),
]
DEFAULT_QUESTIONS = [
    # Translators: a standard guiding question of the reverse brainstorm (gaps in policies).
    N_("Which gaps stand in the way of solving this challenge?"),
    N_("Which intervention is missing today?"),
    N_("What could be done about it?"),
    N_("What type of intervention would it take?"),
]


# --- sessions --------------------------------------------------------------------------------


class SessionBase(SQLModel):
    """What the organisers choose for a session (the title-page details and the options)."""

    title: str
    show_contributions: bool = True
    show_names: bool = False
    place: str = ""
    organiser: str = ""
    lab_date: str = ""
    joins_open: bool = True


class WorkshopSession(SessionBase, table=True):
    """One workshop run. Named so that it never clashes with a database session."""

    __tablename__ = "sessions"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(index=True, unique=True, max_length=12)
    title: str = Field(max_length=200)
    phase: str = Field(default=Phase.setup, max_length=20)
    facilitator_token_hash: str = Field(max_length=64)
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    place: str = Field(default="", max_length=200)
    organiser: str = Field(default="", max_length=200)
    lab_date: str = Field(default="", max_length=40)
    # The session's language: the projector's, and the report's unless another is asked for.
    language: str = Field(default=DEFAULT_LANGUAGE, max_length=12)
    # Category name → a one-line description the clustering assistant reads; optional.
    category_descriptions: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    last_event_seq: int = 0
    timer_duration: int = 0
    timer_ends_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    timer_remaining: int | None = None
    # Scoring results shown to the room and to participants before the report phase
    # (`app.matrix.service.results_visible` is the rule).
    results_revealed: bool = False
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


# --- challenges ------------------------------------------------------------------------------


class ChallengeBase(SQLModel):
    title: str
    description: str
    questions: list[str]


class Challenge(ChallengeBase, table=True):
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


class ChallengeIn(SQLModel):
    """A challenge as sent to create a session: no questions means the method's standard
    ones, and a null description is the same as none."""

    title: str
    description: str | None = None
    questions: list[str] | None = None

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError(_("a challenge needs a title"))
        return value


class ChallengePublic(ChallengeBase):
    id: int


# --- participants ----------------------------------------------------------------------------


class ParticipantBase(SQLModel):
    name: str = ""


class Participant(ParticipantBase, table=True):
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


class ParticipantCreate(SQLModel):
    name: str | None = None


class ParticipantCreated(ParticipantBase):
    """What joining answers, once: the participant token is not stored in the clear."""

    id: int
    name: str
    participant_token: str


class ParticipantPublic(ParticipantBase):
    id: int
    name: str
    joined_at: str = Field(description="When the participant joined (ISO 8601).")

    @classmethod
    def of(cls, participant: Participant) -> "ParticipantPublic":
        return cls.model_validate(
            participant, update={"joined_at": participant.created_at.isoformat()}
        )


# --- contributions ---------------------------------------------------------------------------


class ContributionBase(SQLModel):
    challenge_id: int
    text: str


class Contribution(ContributionBase, table=True):
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


class ContributionCreate(ContributionBase):
    challenge_id: DbId
    client_id: str | None = None


class ContributionUpdate(SQLModel):
    text: str


class ContributionPublic(ContributionBase):
    """A contribution; `duplicate_of_id` and `author` appear only when they apply (never null)."""

    id: int
    cluster_id: int | None
    mine: bool = Field(
        description="Whether the caller wrote it (the facilitator wrote those without a participant)."
    )
    # pydantic's own Field: SQLModel's has no `exclude_if`.
    duplicate_of_id: int | SkipJsonSchema[None] = PydanticField(
        default=None,
        exclude_if=lambda value: value is None,
        description="Present only when it is marked as a duplicate of another.",
    )
    author: str | SkipJsonSchema[None] = PydanticField(
        default=None,
        exclude_if=lambda value: value is None,
        description="Present only in the facilitator's answers.",
    )


# --- sessions: API schemas -------------------------------------------------------------------


class SessionCreate(SessionBase):
    challenges: list[ChallengeIn]
    categories: list[str] | None = None
    language: str | None = PydanticField(
        default=None,
        description="The session's language (e.g. `fr`): the projector's and the report's, and "
        "the language of the default categories and questions. Default: the request's "
        "language (Accept-Language).",
    )


class SessionSettingsUpdate(SQLModel):
    title: str | None = None
    categories: list[str] | None = None
    show_contributions: bool | None = None
    show_names: bool | None = None
    place: str | None = None
    organiser: str | None = None
    lab_date: str | None = None
    language: str | None = None
    joins_open: bool | None = Field(
        default=None, description="False closes the session to new participants."
    )
    category_descriptions: dict[str, str] | None = Field(
        default=None,
        description="A one-line description per category name, read by the clustering "
        "assistant when it suggests a category.",
    )
    results_revealed: bool | None = Field(
        default=None,
        description="True shows the scoring results (the matrix) to participants and on the "
        "projector before the report phase; false hides them again. The facilitator always "
        "sees them; in the report phase everyone does.",
    )


class ContributionsRemoval(SQLModel):
    contribution_ids: list[DbId] = Field(max_length=1000)


class ContributionsRemoved(SQLModel):
    removed: int


class SessionCreated(SQLModel):
    code: str
    title: str
    phase: Phase
    language: str = DEFAULT_LANGUAGE
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


class SessionPublic(SessionBase):
    code: str
    phase: Phase
    language: str = DEFAULT_LANGUAGE
    challenges: list[ChallengePublic]
    categories: list[str]
    category_descriptions: dict[str, str] = {}
    results_revealed: bool = Field(
        default=False,
        description="Whether the facilitator has revealed the scoring results (see PATCH).",
    )
    counts: SessionCounts


class PhaseChange(SQLModel):
    phase: str


class PhasePublic(SQLModel):
    phase: Phase
