"""What the clustering screens show, built from the services.

The facilitator's clustering board of one challenge (`#board`: `#column-inbox`,
`#column-N`, the assistant's preview) and the read-only overview of the clusters forming
that participants and the projector see (`#participant-clusters`). Live fragments render
the same partials from these functions.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from app.clustering import service
from app.clustering.categories import certainty
from app.clustering.models import Cluster
from app.config import get_settings
from app.i18n import N_, gettext
from app.sessions import service as sessions_service
from app.sessions.auth import Actor
from app.sessions.models import Challenge, Contribution, WorkshopSession

GRANULARITY_STEPS = [
    (-1.0, N_("Much fewer, larger clusters")),
    (-0.5, N_("Fewer, larger clusters")),
    (0.0, N_("Automatic")),
    (0.5, N_("More, smaller clusters")),
    (1.0, N_("Many more, smaller clusters")),
]


# --- the overview: clusters forming (participants during clustering, projector) -------------


@dataclass
class ClusterSummary:
    cluster: Cluster
    size: int
    texts: list[str] = field(default_factory=list)


@dataclass
class ChallengeClusters:
    challenge: Challenge
    clusters: list[ClusterSummary]
    unclustered: int
    ungrouped_texts: list[str] = field(default_factory=list)


def cluster_overview(
    db: Session, session: WorkshopSession, *, with_texts: bool = False
) -> list[ChallengeClusters]:
    """Per challenge: its clusters with sizes (and member texts, never authors)."""
    members = service.members_by_cluster(db, session)
    contributions = sessions_service.list_contributions(db, session)
    texts = {c.id: c.text for c in contributions} if with_texts else {}
    clusters = service.list_clusters(db, session)
    overview = []
    for challenge in sessions_service.list_challenges(db, session):
        own = [c for c in clusters if c.challenge_id == challenge.id]
        summaries = [
            ClusterSummary(
                cluster=c,
                size=len(members.get(c.id, [])),  # type: ignore[arg-type]
                texts=[texts[i] for i in members.get(c.id, []) if i in texts],  # type: ignore[arg-type]
            )
            for c in own
        ]
        loose = [
            c for c in contributions if c.challenge_id == challenge.id and c.cluster_id is None
        ]
        overview.append(
            ChallengeClusters(
                challenge, summaries, len(loose), [c.text for c in loose] if with_texts else []
            )
        )
    return overview


def clusters_context(db: Session, session: WorkshopSession) -> dict[str, Any]:
    """Partial `participant/_clusters.html` (#participant-clusters): which contributions went
    into which cluster, and which are not grouped yet (texts only, never authors)."""
    return {"session": session, "cluster_groups": cluster_overview(db, session, with_texts=True)}


# --- the facilitator's board -----------------------------------------------------------------


@dataclass
class PreviewSuggestion:
    """One proposed cluster as the preview form carries it (nothing of it is saved)."""

    title: str
    category: str | None
    ids: list[int]
    suggested_title: str
    terms: list[str] = field(default_factory=list)
    error: str | None = None
    # The category the assistant suggested (None when unsure) and how sure it was (0–1).
    suggested_category: str | None = None
    confidence: float | None = None

    @property
    def certainty(self) -> str | None:
        """How the preview words the assistant's confidence in its category."""
        return certainty(self.suggested_category, self.confidence)


@dataclass
class Preview:
    """The clustering assistant's proposal for one challenge, kept in the page's form."""

    challenge_id: int = 0
    scope: str = "unclustered"
    granularity: float = 0.0
    suggestions: list[PreviewSuggestion] = field(default_factory=list)
    duplicates: list[list[int]] = field(default_factory=list)
    take_from_clusters: bool = False
    considered: int = 0
    error: str | None = None
    notice: str | None = None


def board_context(
    db: Session,
    actor: Actor,
    challenge_id: int | None = None,
    *,
    forms: dict[str, Any] | None = None,
    preview: Preview | None = None,
) -> dict[str, Any]:
    """Everything the clustering board shows for one challenge (default: the first)."""
    session = actor.session
    challenges = sessions_service.list_challenges(db, session)
    if challenge_id is None:
        challenge = challenges[0]
    else:
        challenge = sessions_service.get_challenge(db, session, challenge_id)
    contributions = sessions_service.list_contributions(db, session, challenge.id)
    clusters = service.list_clusters(db, session, challenge.id)
    members: dict[int | None, list[Contribution]] = defaultdict(list)
    for contribution in sorted(contributions, key=lambda c: (c.position, c.id or 0)):
        if contribution.cluster_id is not None:
            members[contribution.cluster_id].append(contribution)
    inbox = [c for c in contributions if c.cluster_id is None]
    unclustered: defaultdict[int, int] = defaultdict(int)
    for contribution in sessions_service.list_contributions(db, session):
        if contribution.cluster_id is None:
            unclustered[contribution.challenge_id] += 1
    return {
        "session": session,
        "nav_active": "clustering",
        "challenges": challenges,
        "challenge": challenge,
        "unclustered": unclustered,
        "editable": session.phase in service.EDIT_PHASES,
        "categories": session.categories,
        "contributions": contributions,
        "by_id": {c.id: c for c in contributions},
        "inbox": inbox,
        "clusters": [{"cluster": c, "members": members[c.id]} for c in clusters],
        "cluster_titles": {c.id: c.title for c in clusters},
        "title_max": get_settings().title_max_chars,
        "forms": forms or {},
        "preview": preview,
        "where": None,
        "focus_note": None,
        "focus_toolbar": False,
        "granularity_steps": [(value, gettext(label)) for value, label in GRANULARITY_STEPS],
    }
