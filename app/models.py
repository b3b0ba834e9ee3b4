"""Every table, imported in one place so metadata and migrations see them all."""

from app.clustering.embeddings import ContributionEmbedding
from app.clustering.models import Cluster
from app.live.models import Event
from app.matrix.models import Rating
from app.sessions.models import Challenge, Contribution, Participant, WorkshopSession

__all__ = [
    "Challenge",
    "Cluster",
    "Contribution",
    "ContributionEmbedding",
    "Event",
    "Participant",
    "Rating",
    "WorkshopSession",
]
