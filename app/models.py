"""Every table, imported in one place so metadata and migrations see them all."""

from app.clustering.models import Cluster
from app.live.models import Event
from app.matrix.models import Rating
from app.sessions.models import Challenge, Contribution, Participant, WorkshopSession

__all__ = [
    "Challenge",
    "Cluster",
    "Contribution",
    "Event",
    "Participant",
    "Rating",
    "WorkshopSession",
]
