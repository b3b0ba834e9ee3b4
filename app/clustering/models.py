"""Clusters: groups of contributions, each a proposed policy solution under a category."""

from datetime import datetime
from typing import Literal

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer
from sqlmodel import Field, SQLModel

from app.models_base import DbId, created_at_field


class ClusterBase(SQLModel):
    challenge_id: int
    title: str
    category: str
    description: str


class Cluster(ClusterBase, table=True):
    __tablename__ = "clusters"

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
    title: str = Field(max_length=200)
    description: str = ""
    category: str = Field(default="", max_length=200)
    position: int = 0
    # Provenance, so the report can say which clusters the tool proposed and which were edited:
    # manual | suggested | edited (rule: app.clustering.service.mark_edited).
    origin: str = Field(default="manual", max_length=20)
    suggested_title: str | None = Field(default=None, max_length=200)
    suggested_contribution_ids: list[int] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    accepted_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class ClusterCreate(ClusterBase):
    challenge_id: DbId
    category: str | None = None  # type: ignore[assignment]  # none: the first category
    description: str = ""
    contribution_ids: list[DbId] = []


class ClusterUpdate(SQLModel):
    title: str | None = None
    category: str | None = None
    description: str | None = None
    contribution_ids: list[DbId] | None = None


class ClusterPublic(ClusterBase):
    id: int
    contribution_ids: list[int] = Field(description="Its contributions, in board order.")
    origin: Literal["manual", "suggested", "edited"] = Field(
        description="`manual` when the facilitator made it; `suggested` when it was accepted "
        "from the tool's suggestions; `edited` when it was accepted from them and then renamed "
        "or given or relieved of contributions."
    )


class ContributionMoved(SQLModel):
    id: int
    cluster_id: int | None


class DuplicateMarked(SQLModel):
    id: int
    duplicate_of_id: int
    cluster_id: int | None


class SuggestRequest(SQLModel):
    challenge_id: DbId
    only_unclustered: bool = False
    granularity: float = 0.0
    n_clusters: int | None = None


class SuggestionPublic(SQLModel):
    title: str
    category: str | None = Field(
        default=None, description="The suggested category; null when the tool is unsure."
    )
    category_confidence: float | None = Field(
        default=None,
        description="How sure the category suggestion is (0–1), also when none is suggested.",
    )
    contribution_ids: list[DbId]
    terms: list[str] = []


class SuggestionChoice(SQLModel):
    """A suggestion the facilitator accepts, possibly reworded or re-filed first."""

    title: str
    category: str | None = None
    contribution_ids: list[int]
    suggested_title: str | None = Field(
        default=None, description="The title the tool proposed, when it was reworded."
    )


class AcceptRequest(SQLModel):
    challenge_id: int
    suggestions: list[SuggestionChoice]
    take_from_clusters: bool = Field(
        default=False,
        description="Also move contributions that are in other clusters already (otherwise "
        "they stay where they are).",
    )


class SuggestResponse(SQLModel):
    suggestions: list[SuggestionPublic]
    duplicates: list[list[int]] = []


class MoveRequest(SQLModel):
    cluster_id: int | None
    position: int | None = None


class DuplicateRequest(SQLModel):
    original_id: int


class MergeRequest(SQLModel):
    source_id: DbId
    target_id: DbId
