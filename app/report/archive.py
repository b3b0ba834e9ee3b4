"""Reading a JSON export back into a new session (the archive format of `render_json`)."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlmodel import Session

from app.clustering.models import Cluster
from app.config import get_settings
from app.errors import InvalidInput
from app.i18n import _, ngettext
from app.limits import clean_description, clean_text, clean_title
from app.matrix.models import Rating
from app.models_base import DbId, DbInt, utcnow
from app.report.render_json import KIND, SCHEMA_VERSION
from app.sessions.auth import hash_token, new_token
from app.sessions.models import (
    ChallengeIn,
    Contribution,
    Participant,
    SessionCreate,
)
from app.sessions.service import MAX_CATEGORIES, MAX_QUESTIONS, CreatedSession, create_session
from app.vocabulary import PHASES, PolicyLevel


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ArchiveSession(_Item):
    title: str
    phase: str = "report"
    lab_date: str = ""
    place: str = ""
    organiser: str = ""
    categories: list[str] | None = None
    show_names: bool = False
    show_contributions: bool = True
    created_at: datetime | None = None


class ArchiveChallenge(_Item):
    id: DbId
    position: DbInt = 0
    title: str
    description: str = ""
    questions: list[str] = []


class ArchiveParticipant(_Item):
    id: DbId
    name: str | None = None
    joined_at: datetime | None = None


class ArchiveCluster(_Item):
    id: DbId
    challenge_id: DbId
    title: str
    description: str = ""
    category: str = ""
    position: DbInt = 0
    origin: Literal["manual", "suggested", "edited"] = "manual"
    suggested_title: str | None = None
    suggested_contribution_ids: list[DbId] | None = None
    accepted_at: datetime | None = None


class ArchiveContribution(_Item):
    id: DbId
    challenge_id: DbId
    cluster_id: DbId | None = None
    participant_id: DbId | None = None
    text: str
    position: DbInt = 0
    duplicate_of_id: DbId | None = None
    created_at: datetime | None = None


class ArchiveRating(_Item):
    cluster_id: DbId
    participant_id: DbId
    relevance: int = Field(ge=1, le=5)
    policy_level: PolicyLevel


class Archive(_Item):
    schema_version: int
    session: ArchiveSession
    challenges: list[ArchiveChallenge]
    participants: list[ArchiveParticipant] = []
    clusters: list[ArchiveCluster] = []
    contributions: list[ArchiveContribution] = []
    ratings: list[ArchiveRating] = []


def check_version(data: Any) -> None:
    """Refuse anything but a JSON object of a schema version this server reads."""
    if not isinstance(data, dict):
        raise InvalidInput(_("This file is not a Policy Lab JSON export: expected a JSON object."))
    if "schema_version" not in data:
        raise InvalidInput(
            _("This file is not a Policy Lab JSON export: it has no “schema_version”.")
        )
    kind = data.get("kind", KIND)
    if kind != KIND:
        raise InvalidInput(
            _("This file is not a Policy Lab JSON export: it is a “%(kind)s” file.", kind=kind)
        )
    found = data["schema_version"]
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise InvalidInput(
            _(
                "Unknown schema version %(found)s: this server reads version %(version)s.",
                found=repr(found),
                version=SCHEMA_VERSION,
            )
        )
    if found > SCHEMA_VERSION:
        raise InvalidInput(
            _(
                "This export has schema version %(found)s, written by a newer Policy Lab; this "
                "server reads version %(version)s. Update Policy Lab to import it.",
                found=found,
                version=SCHEMA_VERSION,
            )
        )


def parse(data: Any) -> Archive:
    """The archive, checked for shape and version; a readable 422 otherwise."""
    check_version(data)
    try:
        return Archive.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(p) for p in error["loc"])
            problems.append(f"{where}: {error['msg']}")
        extra = exc.error_count() - 5
        more = (
            " " + ngettext("(and %(num)s more)", "(and %(num)s more)", extra) if extra > 0 else ""
        )
        raise InvalidInput(
            _(
                "This file is not a Policy Lab JSON export, or it is incomplete: %(problems)s",
                problems="; ".join(problems) + more,
            )
        ) from None


def _unique(items: list[Any], twice: str) -> dict[int, Any]:
    """Items by id; `twice` (a translated sentence with `%(id)s`) refuses a repeated id."""
    found: dict[int, Any] = {}
    for item in items:
        if item.id in found:
            raise InvalidInput(twice % {"id": item.id})
        found[item.id] = item
    return found


def _check_references(archive: Archive) -> None:
    challenges = _unique(archive.challenges, _("The export lists challenge %(id)s twice."))
    participants = _unique(archive.participants, _("The export lists participant %(id)s twice."))
    clusters = _unique(archive.clusters, _("The export lists cluster %(id)s twice."))
    contributions = _unique(archive.contributions, _("The export lists contribution %(id)s twice."))
    categories = archive.session.categories
    for cluster in archive.clusters:
        if cluster.challenge_id not in challenges:
            raise InvalidInput(_("Cluster %(id)s refers to a missing challenge.", id=cluster.id))
        if categories is not None and cluster.category and cluster.category not in categories:
            raise InvalidInput(
                _(
                    "Cluster %(id)s is filed under “%(category)s”, which is not one of the "
                    "session's categories.",
                    id=cluster.id,
                    category=cluster.category,
                )
            )
    for item in archive.contributions:
        if item.challenge_id not in challenges:
            raise InvalidInput(_("Contribution %(id)s refers to a missing challenge.", id=item.id))
        if item.participant_id is not None and item.participant_id not in participants:
            raise InvalidInput(
                _("Contribution %(id)s refers to a missing participant.", id=item.id)
            )
        if item.cluster_id is not None:
            home = clusters.get(item.cluster_id)
            if home is None or home.challenge_id != item.challenge_id:
                raise InvalidInput(
                    _("Contribution %(id)s refers to a missing cluster.", id=item.id)
                )
        if item.duplicate_of_id is not None and item.duplicate_of_id not in contributions:
            raise InvalidInput(
                _("Contribution %(id)s is a duplicate of a missing one.", id=item.id)
            )
    seen: set[tuple[int, int]] = set()
    for rating in archive.ratings:
        if rating.cluster_id not in clusters or rating.participant_id not in participants:
            raise InvalidInput(_("A rating refers to a missing cluster or participant."))
        key = (rating.cluster_id, rating.participant_id)
        if key in seen:
            raise InvalidInput(_("A participant rated the same cluster twice in the export."))
        seen.add(key)
    if archive.session.phase not in PHASES:
        raise InvalidInput(
            _("Unknown phase “%(phase)s” in the export.", phase=archive.session.phase)
        )


def _check_counts(archive: Archive) -> None:
    """The limits a new session has, checked on the counts before any text is cleaned."""
    settings = get_settings()
    if len(archive.challenges) > settings.max_challenges:
        raise InvalidInput(
            _(
                "The export has %(count)s challenges; this server allows at most %(max)s per "
                "session.",
                count=len(archive.challenges),
                max=settings.max_challenges,
            )
        )
    categories = archive.session.categories
    if categories is not None and len(categories) > MAX_CATEGORIES:
        raise InvalidInput(
            _(
                "The export has %(count)s categories; at most %(max)s are allowed.",
                count=len(categories),
                max=MAX_CATEGORIES,
            )
        )
    for challenge in archive.challenges:
        if len(challenge.questions) > MAX_QUESTIONS:
            raise InvalidInput(
                _(
                    "Challenge %(id)s has %(count)s guiding questions; at most %(max)s are "
                    "allowed.",
                    id=challenge.id,
                    count=len(challenge.questions),
                    max=MAX_QUESTIONS,
                )
            )


def restore(db: Session, data: Any) -> CreatedSession:
    """Create a new session with the archive's content; nothing is written if it is refused.

    Every check runs before the first row is added; the caller's transaction makes the
    import all-or-nothing.
    """
    archive = parse(data)
    _check_counts(archive)
    _check_references(archive)
    settings = get_settings()
    texts = {
        item.id: clean_text(
            item.text,
            field="contributions",
            label=_("Contribution %(id)s", id=item.id),
            max_chars=settings.contribution_max_chars,
        )
        for item in archive.contributions
    }
    names = {
        p.id: clean_text(
            p.name,
            field="participants",
            label=_("A name"),
            max_chars=settings.name_max_chars,
            required=False,
        )
        for p in archive.participants
    }
    titles = {
        c.id: clean_title(c.title, label=_("The title of cluster %(id)s", id=c.id))
        for c in archive.clusters
    }
    descriptions = {c.id: clean_description(c.description) for c in archive.clusters}
    filed_under = {
        c.id: clean_text(
            c.category,
            field="clusters",
            label=_("The category of cluster %(id)s", id=c.id),
            max_chars=200,
            required=False,
        )
        for c in archive.clusters
    }
    suggested_titles = {
        c.id: clean_text(
            c.suggested_title,
            field="clusters",
            label=_("The suggested title of cluster %(id)s", id=c.id),
            max_chars=200,
            required=False,
        )
        or None
        for c in archive.clusters
    }

    meta = archive.session
    ordered = sorted(archive.challenges, key=lambda c: (c.position, c.id))
    created = create_session(
        db,
        SessionCreate(
            title=meta.title,
            challenges=[
                ChallengeIn(title=c.title, description=c.description, questions=c.questions)
                for c in ordered
            ],
            categories=meta.categories,
            show_contributions=meta.show_contributions,
            show_names=meta.show_names,
            place=meta.place,
            organiser=meta.organiser,
            lab_date=meta.lab_date,
        ),
    )
    session = created.session
    session.phase = meta.phase
    if meta.created_at is not None:
        session.created_at = meta.created_at
    session.updated_at = utcnow()
    db.add(session)
    challenge_ids = {c.id: new.id for c, new in zip(ordered, created.challenges, strict=True)}

    people = {
        p.id: Participant(
            session_id=session.id,  # type: ignore[arg-type]
            name=names[p.id],
            token_hash=hash_token(new_token()),
            created_at=p.joined_at or utcnow(),
        )
        for p in sorted(archive.participants, key=lambda p: p.id)
    }
    clusters = {
        c.id: Cluster(
            session_id=session.id,  # type: ignore[arg-type]
            challenge_id=challenge_ids[c.challenge_id],  # type: ignore[arg-type]
            title=titles[c.id],
            description=descriptions[c.id],
            category=filed_under[c.id],
            position=c.position,
            origin=c.origin,
            suggested_title=suggested_titles[c.id],
            accepted_at=c.accepted_at,
        )
        for c in sorted(archive.clusters, key=lambda c: c.id)
    }
    db.add_all([*people.values(), *clusters.values()])
    db.flush()

    contributions = {
        item.id: Contribution(
            session_id=session.id,  # type: ignore[arg-type]
            challenge_id=challenge_ids[item.challenge_id],  # type: ignore[arg-type]
            participant_id=people[item.participant_id].id
            if item.participant_id is not None
            else None,
            text=texts[item.id],
            cluster_id=clusters[item.cluster_id].id if item.cluster_id is not None else None,
            position=item.position,
            created_at=item.created_at or utcnow(),
        )
        for item in sorted(archive.contributions, key=lambda c: c.id)
    }
    db.add_all(contributions.values())
    db.flush()
    for item in archive.contributions:
        if item.duplicate_of_id is not None:
            contributions[item.id].duplicate_of_id = contributions[item.duplicate_of_id].id
    for c in archive.clusters:
        if c.suggested_contribution_ids is not None:
            clusters[c.id].suggested_contribution_ids = [
                contributions[i].id  # type: ignore[misc]
                for i in c.suggested_contribution_ids
                if i in contributions
            ]
    db.add_all(
        Rating(
            session_id=session.id,  # type: ignore[arg-type]
            cluster_id=clusters[r.cluster_id].id,  # type: ignore[arg-type]
            participant_id=people[r.participant_id].id,  # type: ignore[arg-type]
            relevance=r.relevance,
            policy_level=r.policy_level.value,
        )
        for r in archive.ratings
    )
    db.flush()
    return created
