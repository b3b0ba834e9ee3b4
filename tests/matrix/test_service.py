"""The scoring rules and the matrix figures, tested on the service itself."""

import pytest
from sqlmodel import Session, select

from app.clustering import service as clustering
from app.clustering.models import ClusterCreate
from app.errors import Forbidden, NotFound, WrongPhase
from app.matrix import service
from app.matrix.models import Rating, RatingIn
from app.sessions import service as sessions
from app.sessions.auth import FACILITATOR, Actor
from app.vocabulary import PolicyLevel, is_contested, relevance_band
from tests.sessions.test_service import lab, participant


@pytest.fixture
def scoring(service_db: Session) -> tuple[Actor, list[Actor], list[int]]:
    """A session in the scoring phase: three participants, three clusters of challenge 1."""
    created = lab(service_db)
    session = created.session
    people = [participant(service_db, session, name) for name in ("Amira", "Jonas", "Chiara")]
    sessions.change_phase(service_db, session, "clustering")
    facilitator = Actor(session=session, role=FACILITATOR)
    clusters = [
        clustering.create_cluster(
            service_db,
            facilitator,
            ClusterCreate(challenge_id=created.challenges[0].id, title=title),  # type: ignore[arg-type]
        ).id
        for title in ("Compute vouchers", "Creator pay", "Regional hubs")
    ]
    sessions.change_phase(service_db, session, "scoring")
    return facilitator, people, clusters  # type: ignore[return-value]


def rate(db: Session, who: Actor, cluster: int, relevance: int, level: str) -> Rating:
    return service.rate(
        db, who, cluster, RatingIn(relevance=relevance, policy_level=PolicyLevel(level))
    )


def test_only_participants_rate_and_only_while_scoring(
    service_db: Session, scoring: tuple[Actor, list[Actor], list[int]]
) -> None:
    facilitator, people, clusters = scoring
    with pytest.raises(Forbidden):
        rate(service_db, facilitator, clusters[0], 5, "eu")
    with pytest.raises(NotFound):
        rate(service_db, people[0], 10_000, 5, "eu")
    sessions.change_phase(service_db, facilitator.session, "report")
    with pytest.raises(WrongPhase, match="scoring"):
        rate(service_db, people[0], clusters[0], 5, "eu")


def test_a_second_rating_replaces_the_first(
    service_db: Session, scoring: tuple[Actor, list[Actor], list[int]]
) -> None:
    _, people, clusters = scoring
    first = rate(service_db, people[0], clusters[0], 2, "national")
    second = rate(service_db, people[0], clusters[0], 4, "eu")
    assert first.id == second.id
    stored = service_db.exec(select(Rating)).one()
    assert (stored.relevance, stored.policy_level) == (4, "eu")


def test_the_matrix_figures_and_ranking(
    service_db: Session, scoring: tuple[Actor, list[Actor], list[int]]
) -> None:
    facilitator, people, clusters = scoring
    # Cluster 0: everyone agrees on 5; cluster 1: a room split between 1 and 5.
    for person in people:
        rate(service_db, person, clusters[0], 5, "local_regional")
    for person, score in zip(people, (1, 5, 5), strict=True):
        rate(service_db, person, clusters[1], score, "national" if score == 5 else "eu")
    rate(service_db, people[0], clusters[1], 1, "eu")  # replaced, not added
    rows = {r.id: r for r in service.compute_matrix(service_db, facilitator.session)}
    agreed, split, unrated = rows[clusters[0]], rows[clusters[1]], rows[clusters[2]]
    assert (agreed.relevance_mean, agreed.agreement, agreed.rank) == (5.0, 1.0, 1)
    assert agreed.policy_level == "local_regional" and not agreed.contested
    assert split.ratings == 3 and split.relevance_median == 5.0 and split.rank == 2
    assert split.policy_levels == {"local_regional": 0, "national": 2, "eu": 1}
    assert split.policy_level == "national"
    assert split.agreement is not None and split.agreement < 0.5 and split.contested
    assert unrated.ratings == 0 and unrated.relevance_mean is None and unrated.rank == 3


def test_a_tie_in_policy_levels_goes_to_the_more_local_one(
    service_db: Session, scoring: tuple[Actor, list[Actor], list[int]]
) -> None:
    facilitator, people, clusters = scoring
    rate(service_db, people[0], clusters[0], 3, "eu")
    rate(service_db, people[1], clusters[0], 3, "national")
    [row] = [r for r in service.compute_matrix(service_db, facilitator.session) if r.ratings]
    assert row.policy_level == "national"


def test_scoring_progress_counts_who_has_scored_everything(
    service_db: Session, scoring: tuple[Actor, list[Actor], list[int]]
) -> None:
    facilitator, people, clusters = scoring
    for cluster in clusters:
        rate(service_db, people[0], cluster, 3, "eu")
    rate(service_db, people[1], clusters[0], 3, "eu")
    first, second = service.scoring_progress(service_db, facilitator.session)
    assert (first.clusters, first.ratings, first.expected, first.participants_done) == (3, 4, 9, 1)
    assert (second.clusters, second.expected, second.participants_done) == (0, 0, 0)


def test_one_band_and_one_word_for_every_format() -> None:
    assert [relevance_band(m) for m in (1.0, 1.49, 1.5, 2.5, 4.49, 4.5, 5.0)] == [
        1,
        1,
        2,
        3,
        4,
        5,
        5,
    ]
    assert is_contested(0.4, 3) and not is_contested(0.4, 2) and not is_contested(0.5, 5)
    assert not is_contested(None, 0)
