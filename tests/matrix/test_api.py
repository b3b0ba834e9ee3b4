"""Ratings and the matrix through the JSON API, checked against figures computed by hand."""

import math

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.matrix.models import Rating
from tests.conftest import Workshop, count, create_workshop


def scored_workshop(client: TestClient) -> tuple[Workshop, dict[str, int]]:
    """Five participants, two challenges, six clusters, ratings chosen for easy hand sums."""
    w = create_workshop(client, participants=5)
    w.phase("brainstorm")
    notes = [w.contribute(i % 5, i % 2, f"Gap number {i}")["id"] for i in range(12)]
    w.phase("clustering")
    first, second = notes[0::2], notes[1::2]
    ids = {
        "A": w.cluster(0, "A: regional AI hubs", "Ecosystem structure", first[0:2])["id"],
        "B": w.cluster(0, "B: training vouchers", "AI and sector players", first[2:4])["id"],
        "C": w.cluster(0, "C: remuneration rights", "Key framework conditions", first[4:6])["id"],
        "D": w.cluster(1, "D: open datasets", "Key framework conditions", second[0:2])["id"],
        "E": w.cluster(1, "E: matchmaking", "Ecosystem structure", second[2:4])["id"],
        "F": w.cluster(1, "F: unrated idea", "Ecosystem structure", second[4:6])["id"],
    }
    w.phase("scoring")
    for who, score, level in [
        (0, 5, "eu"),
        (1, 4, "eu"),
        (2, 5, "national"),
        (3, 3, "national"),
        (4, 4, "local_regional"),
    ]:
        w.rate(who, ids["A"], score, level)
    w.rate(0, ids["B"], 5, "eu")  # replaced below
    for who in (0, 1, 2):
        w.rate(who, ids["B"], 2, "local_regional")
    for who, score in [(0, 5), (1, 1), (2, 5), (3, 1)]:
        w.rate(who, ids["C"], score, "eu")
    for who in (0, 1):
        w.rate(who, ids["D"], 4, "national")
    for who, level in [(0, "eu"), (1, "eu"), (2, "local_regional")]:
        w.rate(who, ids["E"], 4, level)
    return w, ids


def test_matrix_matches_hand_calculation(client: TestClient) -> None:
    w, ids = scored_workshop(client)
    rows = client.get(w.url("/matrix"), headers=w.f).json()["clusters"]
    by_id = {row["id"]: row for row in rows}
    a = by_id[ids["A"]]
    # A: 5,4,5,3,4 → mean 4.2, median 4, population sd sqrt(2.8/5)
    assert a["ratings"] == 5
    assert a["relevance_mean"] == pytest.approx(4.2)
    assert a["relevance_median"] == 4
    assert a["relevance_sd"] == pytest.approx(math.sqrt(0.56))
    assert a["agreement"] == pytest.approx(1 - math.sqrt(0.56) / 2)
    assert a["policy_levels"] == {"local_regional": 1, "national": 2, "eu": 2}
    assert a["policy_level"] == "national"  # tie between national and EU goes to the more local
    b = by_id[ids["B"]]
    assert (b["ratings"], b["relevance_mean"], b["relevance_sd"], b["agreement"]) == (
        3,
        2.0,
        0.0,
        1.0,
    )
    assert b["policy_level"] == "local_regional"
    c = by_id[ids["C"]]
    assert (c["relevance_mean"], c["relevance_median"], c["relevance_sd"], c["agreement"]) == (
        3.0,
        3.0,
        2.0,
        0.0,
    )
    assert c["policy_level"] == "eu"
    f = by_id[ids["F"]]
    assert f["ratings"] == 0 and f["relevance_mean"] is None and f["policy_level"] is None
    assert f["agreement"] is None
    # Ranks within each challenge: by mean, then by number of ratings; unrated last.
    assert [(r["title"][0], r["rank"]) for r in rows] == [
        ("A", 1),
        ("C", 2),
        ("B", 3),
        ("E", 1),
        ("D", 2),
        ("F", 3),
    ]
    assert by_id[ids["E"]]["policy_level"] == "eu"
    assert client.get(w.url(), headers=w.f).json()["counts"]["ratings"] == 5 + 3 + 4 + 2 + 3


def test_second_rating_replaces_the_first(client: TestClient, db: Session) -> None:
    w, ids = scored_workshop(client)
    before = count(db, Rating)
    w.rate(3, ids["D"], 1, "eu")
    w.rate(3, ids["D"], 2, "local_regional")
    assert count(db, Rating) == before + 1
    mine = client.get(w.url("/ratings/mine"), headers=w.p(3)).json()
    assert {"cluster_id": ids["D"], "relevance": 2, "policy_level": "local_regional"} in mine


def test_rating_rules(client: TestClient, db: Session) -> None:
    w, ids = scored_workshop(client)
    before = count(db, Rating)
    url = w.url(f"/clusters/{ids['A']}/rating")
    body = {"relevance": 3, "policy_level": "eu"}
    assert (
        client.put(url, json={"relevance": 6, "policy_level": "eu"}, headers=w.p(0)).status_code
        == 422
    )
    assert (
        client.put(url, json={"relevance": 0, "policy_level": "eu"}, headers=w.p(0)).status_code
        == 422
    )
    assert (
        client.put(url, json={"relevance": 3, "policy_level": "global"}, headers=w.p(0)).status_code
        == 422
    )
    assert client.put(url, json=body, headers=w.f).status_code == 403
    assert client.put(url, json=body).status_code == 401
    assert client.put(w.url("/clusters/99999/rating"), json=body, headers=w.p(0)).status_code == 404
    other = create_workshop(client, participants=1)
    assert client.put(url, json=body, headers=other.p(0)).status_code == 403
    w.phase("clustering")
    refused = client.put(url, json=body, headers=w.p(0))
    assert refused.status_code == 409 and "scoring" in refused.json()["detail"]
    assert count(db, Rating) == before
    rows = client.get(w.url("/matrix"), headers=w.f).json()["clusters"]
    assert next(r for r in rows if r["id"] == ids["A"])["relevance_mean"] == pytest.approx(4.2)


def test_stepping_back_to_clustering_keeps_ratings_that_still_apply(client: TestClient) -> None:
    w, ids = scored_workshop(client)
    w.phase("clustering")
    response = client.patch(
        w.url(f"/clusters/{ids['A']}"), json={"title": "A: regional AI hubs and labs"}, headers=w.f
    )
    assert response.status_code == 200
    w.phase("scoring")
    rows = client.get(w.url("/matrix"), headers=w.f).json()["clusters"]
    a = next(r for r in rows if r["id"] == ids["A"])
    assert a["title"] == "A: regional AI hubs and labs" and a["ratings"] == 5
