"""Editing clusters through the JSON API: create, move, merge, delete, and their rules."""

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.clustering.embedders import semantic_vectors
from app.clustering.embeddings import ContributionEmbedding, store_vectors
from app.clustering.models import Cluster
from app.sessions.models import Contribution
from tests.conftest import Workshop, count, create_workshop, fresh


def brainstormed(client: TestClient) -> tuple[Workshop, list[int], list[int]]:
    w = create_workshop(client, participants=2)
    w.phase("brainstorm")
    first = [w.contribute(i % 2, 0, f"First challenge gap {i}")["id"] for i in range(4)]
    second = [w.contribute(i % 2, 1, f"Second challenge gap {i}")["id"] for i in range(2)]
    w.phase("clustering")
    return w, first, second


def clusters(w: Workshop) -> dict[int, dict]:
    return {c["id"]: c for c in w.client.get(w.url("/clusters"), headers=w.f).json()}


def test_create_update_and_list(client: TestClient) -> None:
    w, first, _ = brainstormed(client)
    created = w.cluster(0, "Regional AI hubs", "Ecosystem structure", first[:2])
    assert created["contribution_ids"] == first[:2]
    assert created["category"] == "Ecosystem structure"
    patched = client.patch(
        w.url(f"/clusters/{created['id']}"),
        json={
            "title": "Regional AI hubs for SMEs",
            "description": "Why it matters",
            "category": "key framework conditions",
            "contribution_ids": [first[1], first[2]],
        },
        headers=w.f,
    )
    assert patched.status_code == 200
    body = patched.json()
    assert body["title"] == "Regional AI hubs for SMEs"
    assert body["category"] == "Key framework conditions"
    assert body["contribution_ids"] == [first[1], first[2]]
    notes = {c["id"]: c for c in client.get(w.url("/contributions"), headers=w.p(0)).json()}
    assert notes[first[0]]["cluster_id"] is None
    assert notes[first[2]]["cluster_id"] == created["id"]
    assert clusters(w)[created["id"]]["description"] == "Why it matters"


def test_invalid_cluster_edits_change_nothing(client: TestClient, db: Session) -> None:
    w, first, second = brainstormed(client)
    url = w.url("/clusters")
    base = {"challenge_id": w.challenges[0]["id"], "title": "T", "category": "Ecosystem structure"}
    assert client.post(url, json={**base, "category": "Nope"}, headers=w.f).status_code == 422
    assert client.post(url, json={**base, "title": " "}, headers=w.f).status_code == 422
    assert client.post(url, json={**base, "title": "t" * 201}, headers=w.f).status_code == 422
    cross = client.post(url, json={**base, "contribution_ids": [second[0]]}, headers=w.f)
    assert cross.status_code == 422 and "another challenge" in cross.json()["detail"]
    assert (
        client.post(url, json={**base, "contribution_ids": [424242]}, headers=w.f).status_code
        == 422
    )
    assert client.post(url, json={**base, "challenge_id": 777}, headers=w.f).status_code == 404
    assert client.post(url, json=base, headers=w.p(0)).status_code == 403
    assert count(db, Cluster) == 0
    w.phase("scoring")
    refused = client.post(url, json=base, headers=w.f)
    assert refused.status_code == 409 and "clustering" in refused.json()["detail"]
    assert count(db, Cluster) == 0


def test_wording_can_be_corrected_in_every_phase_and_ratings_stay(client: TestClient) -> None:
    w, first, _ = brainstormed(client)
    cluster = w.cluster(0, "Regional AI hbus", "Ecosystem structure", first[:2])
    w.phase("scoring")
    rated = client.put(
        w.url(f"/clusters/{cluster['id']}/rating"),
        json={"relevance": 4, "policy_level": "eu"},
        headers=w.p(0),
    )
    assert rated.status_code == 200
    fixed = client.patch(
        w.url(f"/clusters/{cluster['id']}"),
        json={"title": "Regional AI hubs", "category": "Key framework conditions"},
        headers=w.f,
    )
    assert fixed.status_code == 200 and fixed.json()["title"] == "Regional AI hubs"
    moved = client.patch(
        w.url(f"/clusters/{cluster['id']}"), json={"contribution_ids": first}, headers=w.f
    )
    assert moved.status_code == 409 and "clustering" in moved.json()["detail"]
    assert clusters(w)[cluster["id"]]["contribution_ids"] == first[:2]
    assert clusters(w)[cluster["id"]]["category"] == "Key framework conditions"
    [row] = [r for r in client.get(w.url("/matrix"), headers=w.f).json()["clusters"]]
    assert row["title"] == "Regional AI hubs" and row["ratings"] == 1


def test_move_merge_and_delete_keep_every_contribution(client: TestClient, db: Session) -> None:
    w, first, _ = brainstormed(client)
    a = w.cluster(0, "Hubs", "Ecosystem structure", [first[0]])
    b = w.cluster(0, "Vouchers", "AI and sector players", [first[1], first[2]])
    moved = client.post(
        w.url(f"/contributions/{first[3]}/move"),
        json={"cluster_id": a["id"], "position": 0},
        headers=w.f,
    )
    assert moved.status_code == 200
    assert clusters(w)[a["id"]]["contribution_ids"] == [first[3], first[0]]
    merged = client.post(
        w.url("/clusters/merge"), json={"source_id": b["id"], "target_id": a["id"]}, headers=w.f
    )
    assert merged.status_code == 200
    assert merged.json()["contribution_ids"] == [first[3], first[0], first[1], first[2]]
    assert set(clusters(w)) == {a["id"]}
    assert count(db, Contribution) == 6
    unclustered = client.post(
        w.url(f"/contributions/{first[0]}/move"), json={"cluster_id": None}, headers=w.f
    )
    assert unclustered.json()["cluster_id"] is None
    assert client.delete(w.url(f"/clusters/{a['id']}"), headers=w.p(0)).status_code == 403
    assert client.delete(w.url(f"/clusters/{a['id']}"), headers=w.f).status_code == 204
    assert client.delete(w.url(f"/clusters/{a['id']}"), headers=w.f).status_code == 404
    fresh(db)
    assert count(db, Contribution) == 6
    assert all(c.cluster_id is None for c in db.exec(select(Contribution)).all())


def test_merge_and_move_refusals(client: TestClient) -> None:
    w, first, second = brainstormed(client)
    a = w.cluster(0, "Hubs", "Ecosystem structure", [first[0]])
    other = w.cluster(1, "Data", "Key framework conditions", [second[0]])
    assert (
        client.post(
            w.url("/clusters/merge"), json={"source_id": a["id"], "target_id": a["id"]}, headers=w.f
        ).status_code
        == 422
    )
    assert (
        client.post(
            w.url("/clusters/merge"),
            json={"source_id": other["id"], "target_id": a["id"]},
            headers=w.f,
        ).status_code
        == 422
    )
    assert (
        client.post(
            w.url(f"/contributions/{second[1]}/move"), json={"cluster_id": a["id"]}, headers=w.f
        ).status_code
        == 422
    )
    assert set(clusters(w)) == {a["id"], other["id"]}


def test_duplicates_keep_both_texts(client: TestClient) -> None:
    w, first, _ = brainstormed(client)
    a = w.cluster(0, "Hubs", "Ecosystem structure", [first[0]])
    response = client.post(
        w.url(f"/contributions/{first[1]}/duplicate"), json={"original_id": first[0]}, headers=w.f
    )
    assert response.status_code == 200
    assert response.json() == {"id": first[1], "duplicate_of_id": first[0], "cluster_id": a["id"]}
    texts = [c["text"] for c in client.get(w.url("/contributions"), headers=w.f).json()]
    assert "First challenge gap 1" in texts


def test_clustering_is_allowed_during_the_brainstorm_too(client: TestClient) -> None:
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    note = w.contribute(0, 0, "Early gap")
    assert w.cluster(0, "Early cluster", "Ecosystem structure", [note["id"]])["id"]


def test_suggest_proposes_clusters_and_saves_nothing(client: TestClient, db: Session) -> None:
    w = create_workshop(client, participants=2)
    w.phase("brainstorm")
    texts = [
        "More funding for AI training of artists",
        "Funding for AI training courses for artists",
        "Copyright remuneration when works train AI models",
        "Pay creators when their works are used to train AI models",
        "Shared testbeds for museums and AI start-ups",
        "Testbeds where museums and AI start-ups prototype together",
    ]
    ids = [w.contribute(i % 2, 0, text)["id"] for i, text in enumerate(texts)]
    w.phase("clustering")
    response = client.post(
        w.url("/clusters/suggest"), json={"challenge_id": w.challenges[0]["id"]}, headers=w.f
    )
    assert response.status_code == 200
    suggestions = response.json()["suggestions"]
    assert sorted(i for s in suggestions for i in s["contribution_ids"]) == sorted(ids)
    for s in suggestions:
        assert s["title"]
        assert 0.0 <= s["category_confidence"] <= 1.0
        # A category is suggested only when the tool is fairly sure, else left empty.
        assert s["category"] in w.categories if s["category_confidence"] >= 0.5 else True
        assert s["category"] is None or s["category"] in w.categories
    groups = [set(s["contribution_ids"]) for s in suggestions]
    assert {ids[0], ids[1]} <= next(g for g in groups if ids[0] in g)
    assert count(db, Cluster) == 0
    assert (
        client.post(
            w.url("/clusters/suggest"), json={"challenge_id": w.challenges[0]["id"]}, headers=w.p(0)
        ).status_code
        == 403
    )
    assert (
        client.post(
            w.url("/clusters/suggest"), json={"challenge_id": 4242}, headers=w.f
        ).status_code
        == 404
    )


def test_unavailable_engine_is_a_clear_503(client: TestClient, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.clustering import embeddings
    from app.clustering.embedders import ClusteringEngineUnavailable

    def broken(*_args: object) -> None:
        raise ClusteringEngineUnavailable("The semantic engine is not available here.")

    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    w.contribute(0, 0, "A gap")
    monkeypatch.setattr(embeddings, "vectors_for", broken)
    response = client.post(
        w.url("/clusters/suggest"), json={"challenge_id": w.challenges[0]["id"]}, headers=w.f
    )
    assert response.status_code == 503
    assert "not available" in response.json()["detail"]


def _stored(db: Session) -> dict[int, ContributionEmbedding]:
    fresh(db)
    return {e.contribution_id: e for e in db.exec(select(ContributionEmbedding))}


def test_contributions_are_embedded_after_commit_and_again_when_edited(
    client: TestClient, db: Session
) -> None:
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    first = w.contribute(0, 0, "Funding for AI training of artists")
    second = w.contribute(None, 0, "Regional hubs for creative SMEs")
    assert client.app.state.embeddings.wait_idle(60)  # type: ignore[attr-defined]
    stored = _stored(db)
    assert set(stored) == {first["id"], second["id"]}
    vector = np.frombuffer(stored[first["id"]].vector, dtype="<f4")
    assert vector.shape == (512,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4
    assert stored[first["id"]].model.startswith("use-multilingual-v3/")
    first_hash = stored[first["id"]].text_hash

    edited = client.patch(
        w.url(f"/contributions/{first['id']}"),
        json={"text": "Copyright rules for AI generated works"},
        headers=w.p(0),
    )
    assert edited.status_code == 200, edited.text
    assert client.app.state.embeddings.wait_idle(60)  # type: ignore[attr-defined]
    again = _stored(db)[first["id"]]
    assert again.text_hash != first_hash
    assert not np.allclose(np.frombuffer(again.vector, dtype="<f4"), vector)


def test_suggest_embeds_what_is_missing_and_stores_it(
    client: TestClient, db: Session, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    # With the background worker stopped, "Suggest" embeds on demand and keeps the rows.
    client.app.state.embeddings.stop()  # type: ignore[attr-defined]
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    ids = [
        w.contribute(0, 0, text)["id"]
        for text in (
            "Funding for AI training of artists",
            "Financement de la formation des artistes à l'IA",
            "Regional hubs for creative SMEs",
        )
    ]
    assert _stored(db) == {}
    w.phase("clustering")
    response = client.post(
        w.url("/clusters/suggest"), json={"challenge_id": w.challenges[0]["id"]}, headers=w.f
    )
    assert response.status_code == 200
    assert set(_stored(db)) == set(ids)
    groups = [set(s["contribution_ids"]) for s in response.json()["suggestions"]]
    assert {ids[0], ids[1]} in groups  # the same idea in English and French

    # The stored rows are what the next suggestion uses: the model is not asked again.
    from app.clustering import embeddings

    def no_model(texts: list[str]) -> None:
        raise AssertionError(f"embedded again: {texts}")

    monkeypatch.setattr(embeddings, "semantic_vectors", no_model)
    again = client.post(
        w.url("/clusters/suggest"), json={"challenge_id": w.challenges[0]["id"]}, headers=w.f
    )
    assert again.status_code == 200
    assert again.json()["suggestions"] == response.json()["suggestions"]


def test_storing_an_embedding_twice_is_an_idempotent_upsert(
    client: TestClient, engine: Engine, db: Session
) -> None:
    # Two worker processes may embed the same note at once: both stores succeed, one row.
    client.app.state.embeddings.stop()  # type: ignore[attr-defined]
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    note = w.contribute(0, 0, "Funding for AI training")
    first, second = np.eye(512, dtype=np.float32)[:2]
    assert store_vectors(engine, [(note["id"], "Funding for AI training", first)]) == 1
    assert store_vectors(engine, [(note["id"], "Funding for AI training", second)]) == 1
    stored = _stored(db)
    assert list(stored) == [note["id"]]
    assert np.frombuffer(stored[note["id"]].vector, dtype="<f4")[1] == 1.0
    # A contribution deleted meanwhile is skipped, the others are stored.
    assert store_vectors(engine, [(4242, "gone", first), (note["id"], "x", first)]) == 1


def test_where_and_duplicates_read_the_stored_embeddings(
    client: TestClient, engine: Engine, db: Session
) -> None:
    # "Where does this go?" and the duplicate check compare the stored vectors (the ones the
    # suggestions use), not a fresh reading of the text: a note whose stored vector says
    # "copyright" is sent to the copyright cluster and paired with the note it matches,
    # though its words share nothing with them.
    client.app.state.embeddings.stop()  # type: ignore[attr-defined]
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    copyright = [
        "Creators are not paid when their works train AI models",
        "Remuneration for creators whose works train AI models is missing",
    ]
    compute = [
        "Small studios cannot afford GPU compute for AI experiments",
        "GPU compute is too expensive for small creative studios",
    ]
    ids = [w.contribute(0, 0, t)["id"] for t in copyright + compute]
    odd = w.contribute(0, 0, "Xylophone")["id"]
    w.phase("clustering")
    w.cluster(0, "Pay creators", "Key framework conditions", ids[:2])
    w.cluster(0, "Affordable compute", "Key framework conditions", ids[2:])
    vectors = semantic_vectors([*copyright, *compute])
    store_vectors(
        engine, [(i, t, v) for i, t, v in zip(ids, copyright + compute, vectors, strict=True)]
    )
    store_vectors(engine, [(odd, "Xylophone", vectors[0])])
    w.client.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    where = client.get(
        f"/s/{w.code}/facilitate/clustering/where?contribution_id={odd}",
        headers={"HX-Request": "true", "Accept": "text/html"},
    )
    assert where.status_code == 200
    assert "fits best in <strong>Pay creators</strong>" in where.text
    suggested = client.post(
        w.url("/clusters/suggest"),
        json={"challenge_id": w.challenges[0]["id"]},
        headers=w.f,
    )
    assert [ids[0], odd] in suggested.json()["duplicates"]
