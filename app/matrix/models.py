"""Ratings: one participant's relevance score and policy level for one cluster."""

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models_base import created_at_field
from app.vocabulary import PolicyLevel


class RatingBase(SQLModel):
    relevance: int
    policy_level: str


class Rating(RatingBase, table=True):
    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("cluster_id", "participant_id"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("sessions.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    cluster_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("clusters.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    participant_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("participants.id", ondelete="CASCADE"), index=True, nullable=False
        )
    )
    relevance: int
    policy_level: str = Field(max_length=20)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class RatingIn(RatingBase):
    relevance: int = Field(ge=1, le=5)
    policy_level: PolicyLevel


class RatingPublic(RatingBase):
    cluster_id: int
    policy_level: PolicyLevel


class PolicyLevelCounts(SQLModel):
    """How many ratings chose each policy level."""

    local_regional: int
    national: int
    eu: int


class MatrixRowPublic(SQLModel):
    """One cluster's aggregated ratings. Until it is rated, the relevance figures,
    `policy_level` and `agreement` are null."""

    id: int
    challenge_id: int
    title: str
    category: str
    description: str
    ratings: int = Field(description="How many ratings it has.")
    relevance_mean: float | None
    relevance_median: float | None
    relevance_sd: float | None = Field(description="Population standard deviation.")
    policy_levels: PolicyLevelCounts
    policy_level: PolicyLevel | None = Field(
        description="The most chosen level (ties: the more local one)."
    )
    agreement: float | None = Field(
        description="0–1, how much the relevance scores agree (1 = all equal)."
    )
    rank: int = Field(
        description="Order within its challenge: by mean relevance, then number of ratings."
    )
    relevance_counts: dict[str, int] = Field(
        description='How many ratings gave each relevance score, keyed "1" to "5".'
    )


class MatrixPublic(SQLModel):
    clusters: list[MatrixRowPublic]
