"""The clustering rules, tested on the service itself (pages and API only call it)."""

import pytest
from sqlmodel import Session, select

from app.clustering import service
from app.clustering.models import Cluster, ClusterCreate, ClusterUpdate, SuggestionChoice
from app.clustering.service import SuggestionsRefused
from app.errors import InvalidInput, NotFound, WrongPhase
from app.sessions import service as sessions
from app.sessions.auth import FACILITATOR, Actor
from app.sessions.models import Contribution
from tests.sessions.test_service import lab, participant


@pytest.fixture
def board(service_db: Session) -> tuple[Actor, list[int], list[int]]:
    """A session in the clustering phase: six notes in challenge 1, two in challenge 2;
    returns the facilitator and the ids of both challenges' notes."""
    created = lab(service_db)
    session = created.session
    sessions.change_phase(service_db, session, "brainstorm")
    amira = participant(service_db, session)
    first = [
        sessions.add_contribution(service_db, amira, created.challenges[0].id, f"Note {i}")[0].id  # type: ignore[arg-type]
        for i in range(6)
    ]
    second = [
        sessions.add_contribution(service_db, amira, created.challenges[1].id, f"Other {i}")[0].id  # type: ignore[arg-type]
        for i in range(2)
    ]
    sessions.change_phase(service_db, session, "clustering")
    return Actor(session=session, role=FACILITATOR), first, second  # type: ignore[return-value]


def cluster_of(db: Session, contribution_id: int) -> int | None:
    found = db.get(Contribution, contribution_id)
    assert found is not None
    return found.cluster_id


def test_clusters_change_while_clustering_and_only_their_wording_after(
    service_db: Session, board: tuple[Actor, list[int], list[int]]
) -> None:
    actor, ids, _ = board
    challenge = service_db.get(Contribution, ids[0]).challenge_id  # type: ignore[union-attr]
    cluster = service.create_cluster(
        service_db,
        actor,
        ClusterCreate(challenge_id=challenge, title="Compute", contribution_ids=ids[:2]),
    )
    assert cluster.category == actor.session.categories[0]  # none given: the first
    sessions.change_phase(service_db, actor.session, "scoring")
    with pytest.raises(WrongPhase):
        service.create_cluster(
            service_db, actor, ClusterCreate(challenge_id=challenge, title="Late")
        )
    with pytest.raises(WrongPhase):
        service.update_cluster(service_db, actor, cluster.id, ClusterUpdate(contribution_ids=[]))  # type: ignore[arg-type]
    # A typo seen on the projector during scoring can still be corrected.
    service.update_cluster(service_db, actor, cluster.id, ClusterUpdate(title="Compute access"))  # type: ignore[arg-type]
    assert cluster.title == "Compute access"


def test_a_cluster_takes_notes_of_its_own_challenge_only(
    service_db: Session, board: tuple[Actor, list[int], list[int]]
) -> None:
    actor, ids, others = board
    challenge = service_db.get(Contribution, ids[0]).challenge_id  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="another challenge") as refused:
        service.create_cluster(
            service_db,
            actor,
            ClusterCreate(
                challenge_id=challenge, title="Mixed", contribution_ids=[ids[0], others[0]]
            ),
        )
    assert refused.value.field == "contribution_ids"
    with pytest.raises(InvalidInput, match="category"):
        service.create_cluster(
            service_db, actor, ClusterCreate(challenge_id=challenge, title="X", category="Nope")
        )
    cluster = service.create_cluster(
        service_db, actor, ClusterCreate(challenge_id=challenge, title="Compute")
    )
    with pytest.raises(InvalidInput, match="within its own challenge"):
        service.move_contribution(service_db, actor, others[0], cluster.id)


def test_moving_merging_and_deleting_keep_every_note(
    service_db: Session, board: tuple[Actor, list[int], list[int]]
) -> None:
    actor, ids, _ = board
    challenge = service_db.get(Contribution, ids[0]).challenge_id  # type: ignore[union-attr]
    a = service.create_cluster(
        service_db,
        actor,
        ClusterCreate(challenge_id=challenge, title="A", contribution_ids=ids[:2]),
    )
    b = service.create_cluster(
        service_db,
        actor,
        ClusterCreate(challenge_id=challenge, title="B", contribution_ids=ids[2:4]),
    )
    service.move_contribution(service_db, actor, ids[4], a.id, position=0)
    assert service.members_by_cluster(service_db, actor.session)[a.id] == [ids[4], ids[0], ids[1]]  # type: ignore[index]
    merged = service.merge_clusters(service_db, actor, b.id, a.id)  # type: ignore[arg-type]
    assert (
        sorted(service.members_by_cluster(service_db, actor.session)[merged.id])
        == sorted(  # type: ignore[index]
            ids[:5]
        )
    )
    assert service_db.exec(select(Cluster)).all() == [merged]
    service.delete_cluster(service_db, actor, merged.id)  # type: ignore[arg-type]
    assert [cluster_of(service_db, i) for i in ids] == [None] * 6
    with pytest.raises(NotFound):
        service.delete_cluster(service_db, actor, merged.id)  # type: ignore[arg-type]


def test_accepting_suggestions_respects_clusters_and_duplicates(
    service_db: Session, board: tuple[Actor, list[int], list[int]]
) -> None:
    actor, ids, _ = board
    challenge = service_db.get(Contribution, ids[0]).challenge_id  # type: ignore[union-attr]
    service.mark_duplicate(service_db, actor, ids[1], ids[0])
    manual = service.create_cluster(
        service_db,
        actor,
        ClusterCreate(challenge_id=challenge, title="Hand-made", contribution_ids=[ids[2]]),
    )
    accepted = service.accept_suggestions(
        service_db,
        actor,
        challenge,
        [
            SuggestionChoice(
                title="Compute", contribution_ids=[ids[0], ids[2]], suggested_title="gpu"
            ),
            SuggestionChoice(title="Only clustered", contribution_ids=[ids[2]]),
        ],
    )
    [compute] = accepted.clusters
    assert compute.origin == "suggested" and compute.suggested_title == "gpu"
    assert cluster_of(service_db, ids[0]) == cluster_of(service_db, ids[1]) == compute.id
    assert cluster_of(service_db, ids[2]) == manual.id  # stayed, and said so
    assert accepted.left_in_place == [ids[2]]
    assert accepted.skipped == [1]  # all its notes are clustered already
    # With consent, the notes move.
    taken = service.accept_suggestions(
        service_db,
        actor,
        challenge,
        [SuggestionChoice(title="Taken", contribution_ids=[ids[2]])],
        take_from_clusters=True,
    )
    assert cluster_of(service_db, ids[2]) == taken.clusters[0].id


def test_accepting_several_suggestions_is_all_or_nothing(
    service_db: Session, board: tuple[Actor, list[int], list[int]]
) -> None:
    actor, ids, _ = board
    challenge = service_db.get(Contribution, ids[0]).challenge_id  # type: ignore[union-attr]
    with pytest.raises(SuggestionsRefused) as refused:
        service.accept_suggestions(
            service_db,
            actor,
            challenge,
            [
                SuggestionChoice(title="Fine", contribution_ids=[ids[0]]),
                SuggestionChoice(title=" ", contribution_ids=[ids[1]]),
            ],
        )
    assert list(refused.value.refused) == [1]
    assert "suggestion 2" in refused.value.message


def test_a_duplicate_points_at_the_root_of_a_chain(
    service_db: Session, board: tuple[Actor, list[int], list[int]]
) -> None:
    actor, ids, _ = board
    service.mark_duplicate(service_db, actor, ids[1], ids[0])
    service.mark_duplicate(service_db, actor, ids[2], ids[1])
    assert service_db.get(Contribution, ids[2]).duplicate_of_id == ids[0]  # type: ignore[union-attr]
    original = service.merge_duplicates(service_db, actor, [ids[3], ids[4]])
    assert original.id == ids[3]
    assert service_db.get(Contribution, ids[4]).duplicate_of_id == ids[3]  # type: ignore[union-attr]
    with pytest.raises(InvalidInput):
        service.merge_duplicates(service_db, actor, [ids[5]])


def accept(db: Session, actor: Actor, challenge: int, title: str, ids: list[int]) -> Cluster:
    [cluster] = service.accept_suggestions(
        db,
        actor,
        challenge,
        [SuggestionChoice(title=title, contribution_ids=ids, suggested_title="kw " + title)],
    ).clusters
    return cluster


def test_a_suggested_cluster_the_facilitator_rebuilds_becomes_edited(
    service_db: Session, board: tuple[Actor, list[int], list[int]]
) -> None:
    """Renamed, or a contribution moved in or out after accepting: `edited`, for good.
    Naming it in the preview, re-describing, re-filing and reordering are not edits."""
    actor, ids, _ = board
    challenge = service_db.get(Contribution, ids[0]).challenge_id  # type: ignore[union-attr]
    db = service_db

    def origin(cluster: Cluster) -> str:
        db.refresh(cluster)
        return cluster.origin

    # Named in the preview (title ≠ the assistant's keywords): still the assistant's cluster.
    kept = accept(db, actor, challenge, "Kept", [ids[0], ids[1]])
    assert origin(kept) == "suggested"
    service.update_cluster(
        db,
        actor,
        kept.id,
        ClusterUpdate(description="Why", category="Ecosystem structure"),  # type: ignore[arg-type]
    )
    service.update_cluster(db, actor, kept.id, ClusterUpdate(title="Kept"))  # type: ignore[arg-type]
    service.move_contribution(db, actor, ids[1], kept.id, 0)  # type: ignore[arg-type]  # reorder
    assert origin(kept) == "suggested"

    renamed = accept(db, actor, challenge, "Renamed", [ids[2]])
    service.update_cluster(db, actor, renamed.id, ClusterUpdate(title="Renamed again"))  # type: ignore[arg-type]
    assert origin(renamed) == "edited"
    service.update_cluster(db, actor, renamed.id, ClusterUpdate(title="Renamed"))  # type: ignore[arg-type]
    assert origin(renamed) == "edited"  # for good: named back is still rebuilt

    # Moving a note out of one suggested cluster into another edits both.
    giver = accept(db, actor, challenge, "Giver", [ids[3], ids[4]])
    taker = accept(db, actor, challenge, "Taker", [ids[5]])
    service.move_contribution(db, actor, ids[4], taker.id)  # type: ignore[arg-type]
    assert (origin(giver), origin(taker)) == ("edited", "edited")
    # Out to the unclustered pile, or a new member list through the API, edits too.
    kept_too = kept
    service.move_contribution(db, actor, ids[0], None)
    assert origin(kept_too) == "edited"

    manual = service.create_cluster(
        db, actor, ClusterCreate(challenge_id=challenge, title="Hand-made", contribution_ids=[])
    )
    service.move_contribution(db, actor, ids[0], manual.id)  # type: ignore[arg-type]
    service.update_cluster(db, actor, manual.id, ClusterUpdate(title="Hand-made 2"))  # type: ignore[arg-type]
    assert origin(manual) == "manual"


def test_merging_into_or_taking_from_a_suggested_cluster_edits_it(
    service_db: Session, board: tuple[Actor, list[int], list[int]]
) -> None:
    actor, ids, _ = board
    challenge = service_db.get(Contribution, ids[0]).challenge_id  # type: ignore[union-attr]
    db = service_db
    target = accept(db, actor, challenge, "Target", [ids[0]])
    source = accept(db, actor, challenge, "Source", [ids[1]])
    service.merge_clusters(db, actor, source.id, target.id)  # type: ignore[arg-type]
    db.refresh(target)
    assert target.origin == "edited"

    refilled = accept(db, actor, challenge, "Refilled", [ids[2], ids[3]])
    service.update_cluster(db, actor, refilled.id, ClusterUpdate(contribution_ids=[ids[3], ids[2]]))  # type: ignore[arg-type]
    db.refresh(refilled)
    assert refilled.origin == "suggested"  # the same contributions, another order
    service.update_cluster(db, actor, refilled.id, ClusterUpdate(contribution_ids=[ids[2]]))  # type: ignore[arg-type]
    db.refresh(refilled)
    assert refilled.origin == "edited"

    # A later suggestion accepted with consent takes a contribution from an accepted one.
    plain = accept(db, actor, challenge, "Plain", [ids[4]])
    service.accept_suggestions(
        db,
        actor,
        challenge,
        [SuggestionChoice(title="Greedy", contribution_ids=[ids[4], ids[5]])],
        take_from_clusters=True,
    )
    db.refresh(plain)
    assert plain.origin == "edited"
