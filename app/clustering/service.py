"""Cluster editing (create, rename, move, merge, delete) and clustering suggestions."""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlmodel import Session, col, select

from app.clustering import embeddings, engine
from app.clustering.embedders import ClusteringEngineUnavailable, uses_model
from app.clustering.models import (
    Cluster,
    ClusterCreate,
    ClusterPublic,
    ClusterUpdate,
    SuggestionChoice,
    SuggestRequest,
)
from app.config import get_settings
from app.errors import AppError, InvalidInput, NotFound, Unavailable
from app.i18n import N_, _
from app.limits import FieldLabel, clean_description, clean_title
from app.live.service import record_event
from app.models_base import utcnow
from app.sessions.auth import Actor
from app.sessions.models import Contribution, WorkshopSession
from app.sessions.service import get_challenge, list_contributions, require_phase

EDIT_PHASES = ["brainstorm", "clustering"]
# Translators: %(phase)s is a phase inside a sentence (“set-up”, “scoring”, …).
EDITING_CLUSTERS = N_(
    "Editing clusters is only possible during the brainstorm or clustering phase; "
    "the session is in the %(phase)s phase."
)
# Translators: %(phase)s is a phase inside a sentence (“set-up”, “scoring”, …).
MOVING_CONTRIBUTIONS = N_(
    "Moving contributions between clusters is only possible during the brainstorm or "
    "clustering phase; the session is in the %(phase)s phase."
)
# Translators: %(phase)s is a phase inside a sentence (“set-up”, “scoring”, …).
MERGING_CLUSTERS = N_(
    "Merging clusters is only possible during the brainstorm or clustering phase; "
    "the session is in the %(phase)s phase."
)
# Translators: %(phase)s is a phase inside a sentence (“set-up”, “scoring”, …).
MERGING_DUPLICATES = N_(
    "Merging duplicates is only possible during the brainstorm or clustering phase; "
    "the session is in the %(phase)s phase."
)
CLUSTER_TITLE = FieldLabel(N_("Cluster title"), N_("The cluster title cannot be empty."))


def list_clusters(
    db: Session, session: WorkshopSession, challenge_id: int | None = None
) -> list[Cluster]:
    """The session's clusters (or one challenge's), in board order."""
    statement = select(Cluster).where(Cluster.session_id == session.id)
    if challenge_id is not None:
        statement = statement.where(Cluster.challenge_id == challenge_id)
    return list(db.exec(statement.order_by(col(Cluster.position), col(Cluster.id))))


def get_cluster(db: Session, session: WorkshopSession, cluster_id: int) -> Cluster:
    """A cluster of this session, or 404."""
    cluster = db.get(Cluster, cluster_id)
    if cluster is None or cluster.session_id != session.id:
        raise NotFound(_("This session has no cluster %(id)s.", id=cluster_id))
    return cluster


def members_by_cluster(db: Session, session: WorkshopSession) -> dict[int, list[int]]:
    """Cluster id → ids of its contributions, in board order."""
    members: dict[int, list[int]] = {}
    statement = (
        select(Contribution.id, Contribution.cluster_id)
        .where(Contribution.session_id == session.id, col(Contribution.cluster_id).is_not(None))
        .order_by(col(Contribution.position), col(Contribution.id))
    )
    for contribution_id, cluster_id in db.exec(statement):
        members.setdefault(cluster_id, []).append(contribution_id)  # type: ignore[arg-type]
    return members


def cluster_public(cluster: Cluster, contribution_ids: list[int]) -> ClusterPublic:
    """The API shape of a cluster, with its contributions in board order."""
    return ClusterPublic.model_validate(cluster, update={"contribution_ids": contribution_ids})


def _clean_category(session: WorkshopSession, category: str | None) -> str:
    if category is None or not category.strip():
        return session.categories[0] if session.categories else ""
    wanted = category.strip()
    for name in session.categories:
        if name.casefold() == wanted.casefold():
            return name
    raise InvalidInput(
        _(
            "“%(name)s” is not a category of this session. Use one of: %(names)s",
            name=wanted,
            names=", ".join(session.categories),
        ),
        field="category",
    )


def _contributions_for(
    db: Session, session: WorkshopSession, challenge_id: int, ids: Sequence[int]
) -> list[Contribution]:
    if len(set(ids)) != len(ids):
        raise InvalidInput(_("A contribution is listed twice."), field="contribution_ids")
    found = []
    for contribution_id in ids:
        contribution = db.get(Contribution, contribution_id)
        if contribution is None or contribution.session_id != session.id:
            raise InvalidInput(
                _("This session has no contribution %(id)s.", id=contribution_id),
                field="contribution_ids",
            )
        if contribution.challenge_id != challenge_id:
            raise InvalidInput(
                _("Contribution %(id)s belongs to another challenge.", id=contribution_id),
                field="contribution_ids",
            )
        found.append(contribution)
    return found


def mark_edited(db: Session, cluster: Cluster | None) -> None:
    """The provenance rule, in one place: a cluster accepted from the assistant
    (`suggested`) becomes `edited`, for good, once the facilitator changes what it says or
    holds after accepting it: a new title, or a contribution moved into or out of it (by
    hand, by drag and drop, through the API's `contribution_ids`, by merging another cluster
    into it, or by a later cluster taking one of its contributions). Its description,
    category and the order of its contributions are not what the assistant proposed, so
    changing them leaves it `suggested`; so do duplicates following their original. Titles
    and categories changed in the preview, before accepting, are the facilitator's choice
    of the suggestion, not an edit of it. Manual clusters stay `manual`."""
    if cluster is not None and cluster.origin == "suggested":
        cluster.origin = "edited"
        db.add(cluster)


def _set_members(
    db: Session, cluster: Cluster, contributions: list[Contribution], *, new: bool = False
) -> None:
    """Make `contributions` the cluster's members, in this order. Clusters that lose or gain
    a contribution are marked edited (`mark_edited`), except a cluster being created (`new`)."""
    wanted = {c.id for c in contributions}
    changed = False
    for current in db.exec(select(Contribution).where(Contribution.cluster_id == cluster.id)):
        if current.id not in wanted:
            current.cluster_id = None
            db.add(current)
            changed = True
    for position, contribution in enumerate(contributions):
        if contribution.cluster_id != cluster.id:
            changed = True
            if contribution.cluster_id is not None:
                mark_edited(db, db.get(Cluster, contribution.cluster_id))
        contribution.cluster_id = cluster.id
        contribution.position = position
        db.add(contribution)
    if changed and not new:
        mark_edited(db, cluster)


def create_cluster(
    db: Session, actor: Actor, data: ClusterCreate, *, origin: str = "manual"
) -> Cluster:
    """A new cluster, optionally taking contributions from wherever they were."""
    session = actor.session
    require_phase(session, EDIT_PHASES, EDITING_CLUSTERS)
    challenge = get_challenge(db, session, data.challenge_id)
    contributions = _contributions_for(db, session, challenge.id, data.contribution_ids)  # type: ignore[arg-type]
    position = len(list_clusters(db, session, challenge.id))
    cluster = Cluster(
        session_id=session.id,  # type: ignore[arg-type]
        challenge_id=challenge.id,  # type: ignore[arg-type]
        title=clean_title(data.title, label=CLUSTER_TITLE),
        description=clean_description(data.description),
        category=_clean_category(session, data.category),
        position=position,
        origin=origin,
    )
    if origin == "suggested":
        cluster.suggested_title = cluster.title
        cluster.suggested_contribution_ids = list(data.contribution_ids)
        cluster.accepted_at = utcnow()
    db.add(cluster)
    db.flush()
    _set_members(db, cluster, contributions, new=True)
    record_event(db, session, "cluster_changed", cluster_id=cluster.id, challenge_id=challenge.id)
    db.flush()
    return cluster


def update_cluster(db: Session, actor: Actor, cluster_id: int, data: ClusterUpdate) -> Cluster:
    """Rename, re-describe, re-file or re-fill a cluster.

    Wording and category may be corrected in every phase (a typo seen on the projector
    during scoring; the ratings stay with the cluster); its contributions change only while
    clustering is open.
    """
    session = actor.session
    if data.contribution_ids is not None:
        require_phase(session, EDIT_PHASES, MOVING_CONTRIBUTIONS)
    cluster = get_cluster(db, session, cluster_id)
    if data.title is not None:
        title = clean_title(data.title, label=CLUSTER_TITLE)
        if title != cluster.title:
            mark_edited(db, cluster)
        cluster.title = title
    if data.description is not None:
        cluster.description = clean_description(data.description)
    if data.category is not None:
        cluster.category = _clean_category(session, data.category)
    if data.contribution_ids is not None:
        contributions = _contributions_for(db, session, cluster.challenge_id, data.contribution_ids)
        _set_members(db, cluster, contributions)
    cluster.updated_at = utcnow()
    db.add(cluster)
    record_event(
        db, session, "cluster_changed", cluster_id=cluster.id, challenge_id=cluster.challenge_id
    )
    db.flush()
    return cluster


def delete_cluster(db: Session, actor: Actor, cluster_id: int) -> None:
    """Delete a cluster; its contributions go back to the unclustered pile."""
    session = actor.session
    require_phase(session, EDIT_PHASES, EDITING_CLUSTERS)
    cluster = get_cluster(db, session, cluster_id)
    for contribution in db.exec(select(Contribution).where(Contribution.cluster_id == cluster.id)):
        contribution.cluster_id = None
        db.add(contribution)
    db.flush()
    challenge_id = cluster.challenge_id
    db.delete(cluster)
    record_event(db, session, "cluster_removed", cluster_id=cluster_id, challenge_id=challenge_id)
    db.flush()


def move_contribution(
    db: Session,
    actor: Actor,
    contribution_id: int,
    cluster_id: int | None,
    position: int | None = None,
) -> Contribution:
    """Put one contribution into a cluster (at `position`) or back to the unclustered pile."""
    session = actor.session
    require_phase(session, EDIT_PHASES, EDITING_CLUSTERS)
    contribution = db.get(Contribution, contribution_id)
    if contribution is None or contribution.session_id != session.id:
        raise NotFound(_("This session has no contribution %(id)s.", id=contribution_id))
    if cluster_id is None:
        if contribution.cluster_id is not None:
            mark_edited(db, db.get(Cluster, contribution.cluster_id))
        contribution.cluster_id = None
        db.add(contribution)
    else:
        cluster = get_cluster(db, session, cluster_id)
        if cluster.challenge_id != contribution.challenge_id:
            raise InvalidInput(_("A contribution can only move within its own challenge."))
        members = [
            c
            for c in db.exec(
                select(Contribution)
                .where(Contribution.cluster_id == cluster.id, Contribution.id != contribution.id)
                .order_by(col(Contribution.position), col(Contribution.id))
            )
        ]
        index = len(members) if position is None else max(0, min(position, len(members)))
        members.insert(index, contribution)
        _set_members(db, cluster, members)
    record_event(
        db,
        session,
        "cluster_changed",
        cluster_id=cluster_id,
        contribution_id=contribution_id,
        challenge_id=contribution.challenge_id,
    )
    db.flush()
    return contribution


def merge_clusters(db: Session, actor: Actor, source_id: int, target_id: int) -> Cluster:
    """Move every contribution of `source` into `target` and delete `source`.

    Each original contribution (and its author) stays, so the report keeps the trail; the
    source's ratings go with it, the target's ratings still apply.
    """
    session = actor.session
    require_phase(session, EDIT_PHASES, MERGING_CLUSTERS)
    if source_id == target_id:
        raise InvalidInput(_("Choose two different clusters to merge."))
    source = get_cluster(db, session, source_id)
    target = get_cluster(db, session, target_id)
    if source.challenge_id != target.challenge_id:
        raise InvalidInput(_("Only clusters of the same challenge can be merged."))
    members = members_by_cluster(db, session)
    combined = members.get(target.id, []) + members.get(source.id, [])  # type: ignore[arg-type]
    contributions = _contributions_for(db, session, target.challenge_id, combined)
    _set_members(db, target, contributions)
    if source.description and source.description not in target.description:
        target.description = clean_description(
            "\n".join(filter(None, [target.description, source.description]))[:2000]
        )
    target.updated_at = utcnow()
    db.add(target)
    db.flush()
    db.delete(source)
    record_event(
        db, session, "cluster_removed", cluster_id=source_id, challenge_id=target.challenge_id
    )
    record_event(
        db, session, "cluster_changed", cluster_id=target.id, challenge_id=target.challenge_id
    )
    db.flush()
    return target


def mark_duplicate(
    db: Session, actor: Actor, contribution_id: int, original_id: int
) -> Contribution:
    """Flag a contribution as saying the same as another; both texts stay for the trail."""
    session = actor.session
    require_phase(session, EDIT_PHASES, MERGING_DUPLICATES)
    duplicate = db.get(Contribution, contribution_id)
    original = db.get(Contribution, original_id)
    for item, cid in ((duplicate, contribution_id), (original, original_id)):
        if item is None or item.session_id != session.id:
            raise NotFound(_("This session has no contribution %(id)s.", id=cid))
    assert duplicate is not None and original is not None
    if duplicate.id == original.id or duplicate.challenge_id != original.challenge_id:
        raise InvalidInput(_("Choose two different contributions of the same challenge."))
    root = original
    while root.duplicate_of_id is not None:
        parent = db.get(Contribution, root.duplicate_of_id)
        if parent is None or parent.id == duplicate.id:
            break
        root = parent
    duplicate.duplicate_of_id = root.id
    duplicate.cluster_id = root.cluster_id
    db.add(duplicate)
    for child in db.exec(select(Contribution).where(Contribution.duplicate_of_id == duplicate.id)):
        child.duplicate_of_id = root.id
        child.cluster_id = root.cluster_id
        db.add(child)
    record_event(
        db,
        session,
        "contribution_updated",
        contribution_id=duplicate.id,
        challenge_id=duplicate.challenge_id,
    )
    db.flush()
    return duplicate


def suggest(db: Session, actor: Actor, request: SuggestRequest) -> dict[str, object]:
    """Proposed clusters for a challenge's contributions; nothing is saved."""
    session = actor.session
    challenge = get_challenge(db, session, request.challenge_id)
    contributions = [
        c
        for c in list_contributions(db, session, challenge.id)
        if c.duplicate_of_id is None and (not request.only_unclustered or c.cluster_id is None)
    ]
    if request.n_clusters is not None and request.n_clusters < 1:
        raise InvalidInput(_("n_clusters must be at least 1."), field="n_clusters")
    if not -1.0 <= request.granularity <= 1.0:
        raise InvalidInput(_("granularity must be between -1 and 1."), field="granularity")
    texts = [c.text for c in contributions]
    chosen_engine = get_settings().clustering_engine
    try:
        known = _known_vectors(db, contributions, chosen_engine)
        suggestions = engine.suggest_clusters(
            texts,
            categories=session.categories,
            n_clusters=request.n_clusters,
            granularity=request.granularity,
            engine=chosen_engine,
            known_vectors=known,
            category_descriptions=session.category_descriptions or None,
        )
        duplicates = engine.find_near_duplicates(texts, engine=chosen_engine, known_vectors=known)
    except ClusteringEngineUnavailable as exc:
        raise Unavailable(str(exc)) from exc
    return {
        "suggestions": [
            {
                "title": s.title,
                "category": s.category,
                "category_confidence": s.category_confidence,
                "contribution_ids": [contributions[i].id for i in s.member_indices],
                "terms": list(s.terms),
            }
            for s in suggestions
        ],
        "duplicates": [[contributions[i].id for i in group] for group in duplicates],
    }


def _known_vectors(
    db: Session, contributions: Sequence[Contribution], chosen_engine: str
) -> dict[str, np.ndarray] | None:
    """Stored semantic vectors of the contributions (missing ones embedded and stored now)
    when the engine reads meaning; None for the n-gram engine."""
    if not contributions or not uses_model(chosen_engine):
        return None
    return embeddings.vectors_for(db, contributions)


def where_does_it_go(
    db: Session, actor: Actor, contribution_id: int
) -> tuple[Cluster, float] | None:
    """The existing cluster most similar to a contribution (and how similar), or None."""
    session = actor.session
    contribution = db.get(Contribution, contribution_id)
    if contribution is None or contribution.session_id != session.id:
        raise NotFound(_("This session has no contribution %(id)s.", id=contribution_id))
    clusters = [
        c
        for c in list_clusters(db, session, contribution.challenge_id)
        if c.id != contribution.cluster_id
    ]
    if not clusters:
        return None
    texts: dict[int, list[str]] = {c.id: [c.title] for c in clusters}  # type: ignore[misc]
    members = [contribution]
    for member in list_contributions(db, session, contribution.challenge_id):
        if member.cluster_id in texts and member.id != contribution.id:
            texts[member.cluster_id].append(member.text)
            members.append(member)
    chosen_engine = get_settings().clustering_engine
    try:
        found = engine.nearest_cluster(
            contribution.text,
            [texts[c.id] for c in clusters],  # type: ignore[index]
            engine=chosen_engine,
            known_vectors=_known_vectors(db, members, chosen_engine),
        )
    except ClusteringEngineUnavailable as exc:
        raise Unavailable(str(exc)) from exc
    if found is None:
        return None
    index, similarity = found
    return clusters[index], similarity


def accept_suggestion(
    db: Session,
    actor: Actor,
    challenge_id: int,
    title: str,
    category: str | None,
    contribution_ids: Sequence[int],
    *,
    suggested_title: str | None = None,
    take_from_clusters: bool = False,
    require_category: bool = False,
) -> tuple[Cluster, list[int]]:
    """Save one suggestion as a cluster; contributions already in a cluster stay there unless
    `take_from_clusters`. Returns the cluster and the ids left where they were.

    With `require_category` (the board's preview, which leaves the category empty when the
    assistant is unsure) a missing category is refused instead of taking the first one."""
    session = actor.session
    require_phase(session, EDIT_PHASES, EDITING_CLUSTERS)
    if require_category and session.categories and not (category or "").strip():
        raise InvalidInput(_("Choose a category for this cluster."), field="category")
    challenge = get_challenge(db, session, challenge_id)
    proposed = _contributions_for(db, session, challenge.id, list(contribution_ids))  # type: ignore[arg-type]
    taken = [c for c in proposed if c.cluster_id is None or take_from_clusters]
    skipped = [c.id for c in proposed if c.cluster_id is not None and not take_from_clusters]
    if not taken:
        raise InvalidInput(
            _(
                "Every contribution of this suggestion is already in a cluster. Tick “also "
                "move contributions from existing clusters” to take them."
            ),
            field="take_from_clusters",
        )
    # Duplicates follow their original, so a merged pair never ends up split.
    taken_ids = {c.id for c in taken}
    for duplicate in list_contributions(db, session, challenge.id):
        if (
            duplicate.duplicate_of_id in taken_ids
            and duplicate.id not in taken_ids
            and (duplicate.cluster_id is None or take_from_clusters)
        ):
            taken.append(duplicate)
            taken_ids.add(duplicate.id)
    cluster = create_cluster(
        db,
        actor,
        ClusterCreate(
            challenge_id=challenge.id,  # type: ignore[arg-type]
            title=title,
            category=category,
            contribution_ids=[c.id for c in taken],  # type: ignore[misc]
        ),
        origin="suggested",
    )
    # Provenance: what the tool proposed, so the report can tell accepted from edited.
    cluster.suggested_title = (suggested_title or "").strip()[:200] or cluster.title
    cluster.suggested_contribution_ids = list(contribution_ids)
    db.add(cluster)
    db.flush()
    return cluster, skipped  # type: ignore[return-value]


class SuggestionsRefused(InvalidInput):
    """Accepting several suggestions at once is all or nothing: the messages of the refused
    ones, by their index in the request."""

    def __init__(self, refused: dict[int, str]) -> None:
        details = "; ".join(
            # Translators: one refused suggestion among several accepted at once.
            _("suggestion %(number)s: %(problem)s", number=i + 1, problem=message)
            for i, message in refused.items()
        )
        super().__init__(
            _("Nothing was saved (%(details)s).", details=details), field="suggestions"
        )
        self.refused = refused


@dataclass
class Accepted:
    """What accepting suggestions did."""

    clusters: list[Cluster] = field(default_factory=list)
    # Contributions already in other clusters, left where they were.
    left_in_place: list[int] = field(default_factory=list)
    # Suggestions (by index) not taken because all their contributions are in clusters
    # already; only when several were accepted at once.
    skipped: list[int] = field(default_factory=list)


def accept_suggestions(
    db: Session,
    actor: Actor,
    challenge_id: int,
    suggestions: Sequence[SuggestionChoice],
    *,
    take_from_clusters: bool = False,
    require_category: bool = False,
) -> Accepted:
    """Save suggestions as clusters (see `accept_suggestion`), all or nothing: when one is
    refused, nothing is kept and `SuggestionsRefused` names each refused one."""
    accepted = Accepted()
    refused: dict[int, str] = {}
    for index, suggestion in enumerate(suggestions):
        try:
            cluster, left = accept_suggestion(
                db,
                actor,
                challenge_id,
                suggestion.title,
                suggestion.category,
                suggestion.contribution_ids,
                suggested_title=suggestion.suggested_title,
                take_from_clusters=take_from_clusters,
                require_category=require_category,
            )
        except AppError as error:
            if error.field is None:  # not about this suggestion: the whole request is refused
                raise
            if error.field == "take_from_clusters" and len(suggestions) > 1:
                accepted.skipped.append(index)
            else:
                refused[index] = error.message
            continue
        accepted.clusters.append(cluster)
        accepted.left_in_place.extend(left)
    if refused:
        raise SuggestionsRefused(refused)
    return accepted


def merge_duplicates(db: Session, actor: Actor, contribution_ids: Sequence[int]) -> Contribution:
    """Mark a group of near-duplicates as one: the original keeps its place (a clustered one
    is preferred), the others point to it; every text and author stays."""
    ids = sorted(set(contribution_ids))
    if len(ids) < 2:
        raise InvalidInput(_("Choose at least two contributions to merge."))
    found = []
    for contribution_id in ids:
        contribution = db.get(Contribution, contribution_id)
        if contribution is None or contribution.session_id != actor.session.id:
            raise NotFound(_("This session has no contribution %(id)s.", id=contribution_id))
        found.append(contribution)
    original = next((c for c in found if c.cluster_id is not None), found[0])
    for contribution in found:
        if contribution.id != original.id:
            mark_duplicate(db, actor, contribution.id, original.id)  # type: ignore[arg-type]
    return original
