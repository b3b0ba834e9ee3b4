"""Sessions, participants, phases and contributions through the JSON API."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.config import get_settings
from app.sessions.models import DEFAULT_CATEGORIES, DEFAULT_QUESTIONS, Contribution, WorkshopSession
from tests.conftest import Workshop, bearer, count, create_workshop, fresh


def test_create_session_returns_links_defaults_and_secret_once(client: TestClient) -> None:
    response = client.post(
        "/api/v1/sessions",
        json={
            "title": "  AI in the creative industries ",
            "challenges": [
                {"title": "Skills for AI", "description": "Brief", "questions": ["Q1?"]},
                {"title": "Innovation ecosystems"},
                {"title": "Data access", "description": None, "questions": None},
            ],
        },
    )
    assert response.status_code == 201
    data = response.json()
    assert data["title"] == "AI in the creative industries"
    assert data["phase"] == "setup"
    assert len(data["code"]) == 6
    assert data["categories"] == DEFAULT_CATEGORIES
    assert data["challenges"][0]["questions"] == ["Q1?"]
    assert data["challenges"][1]["questions"] == DEFAULT_QUESTIONS
    assert data["challenges"][2]["description"] == ""  # optional fields may be null
    assert data["challenges"][2]["questions"] == DEFAULT_QUESTIONS
    assert data["join_url"].endswith(f"/join/{data['code']}")
    assert data["facilitator_url"].endswith(f"/f/{data['code']}?key={data['facilitator_token']}")
    session = client.get(
        f"/api/v1/sessions/{data['code']}", headers=bearer(data["facilitator_token"])
    )
    assert session.status_code == 200
    assert "facilitator_token" not in session.json()
    assert session.json()["counts"] == {
        "participants": 0,
        "contributions": 0,
        "clusters": 0,
        "ratings": 0,
    }


def test_facilitator_token_is_stored_hashed(client: TestClient, db: Session) -> None:
    workshop = create_workshop(client)
    stored = db.exec(select(WorkshopSession)).one()
    assert workshop.facilitator_token not in stored.facilitator_token_hash
    assert len(stored.facilitator_token_hash) == 64


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"title": "Lab", "challenges": []}, "at least one challenge"),
        ({"title": " ", "challenges": [{"title": "A"}]}, "title cannot be empty"),
        ({"title": "x" * 201, "challenges": [{"title": "A"}]}, "at most 200"),
        ({"title": "Lab", "challenges": [{"title": f"C{i}"} for i in range(7)]}, "At most 6"),
        ({"title": "Lab", "challenges": [{"title": "A"}], "categories": ["X", "x"]}, "twice"),
        (
            {"title": "Lab", "challenges": [{"title": "A"}], "categories": []},
            "at least one category",
        ),
        ({"title": "Lab", "challenges": [{"title": ""}]}, "challenge needs a title"),
        ({"challenges": [{"title": "A"}]}, "title"),
    ],
)
def test_invalid_sessions_are_refused_and_nothing_is_created(
    client: TestClient, db: Session, body: dict, message: str
) -> None:
    response = client.post("/api/v1/sessions", json=body)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert count(db, WorkshopSession) == 0


def test_organiser_key_is_required_when_configured(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYLAB_ORGANISER_KEY", "s3cret")
    get_settings.cache_clear()
    body = {"title": "Lab", "challenges": [{"title": "A"}]}
    missing = client.post("/api/v1/sessions", json=body)
    assert missing.status_code == 401 and "organiser key" in missing.json()["detail"]
    for wrong in ({"X-Organiser-Key": "no"}, bearer("no")):
        refused = client.post("/api/v1/sessions", json=body, headers=wrong)
        assert refused.status_code == 401 and "not this server's" in refused.json()["detail"]
    assert count(db, WorkshopSession) == 0
    from app import ratelimit

    monkeypatch.setitem(ratelimit.LIMITS, "organiser_key", 2)  # two wrong guesses so far
    guessing = client.post("/api/v1/sessions", json=body, headers=bearer("guess"))
    assert guessing.status_code == 429
    # Past the limit the right key waits too (else guessing would go on at full speed),
    # until the minute has passed.
    waiting = client.post("/api/v1/sessions", json=body, headers=bearer("s3cret"))
    assert waiting.status_code == 429
    ratelimit.reset()
    for right in ({"X-Organiser-Key": "s3cret"}, bearer("s3cret")):
        assert client.post("/api/v1/sessions", json=body, headers=right).status_code == 201
    assert count(db, WorkshopSession) == 2


def test_join_with_code_in_any_case_and_name_limit(client: TestClient, db: Session) -> None:
    workshop = create_workshop(client)
    joined = client.post(
        f"/api/v1/sessions/{workshop.code.lower()}/participants", json={"name": " Ana "}
    )
    assert joined.status_code == 201
    assert joined.json()["name"] == "Ana"
    anonymous = client.post(workshop.url("/participants"), json={})
    assert anonymous.status_code == 201 and anonymous.json()["name"] == ""
    bodiless = client.post(workshop.url("/participants"))
    assert bodiless.status_code == 201 and bodiless.json()["participant_token"]
    too_long = client.post(workshop.url("/participants"), json={"name": "n" * 61})
    assert too_long.status_code == 422
    assert "at most 60" in too_long.json()["detail"]
    assert client.get(workshop.url(), headers=workshop.f).json()["counts"]["participants"] == 3
    unknown = client.post("/api/v1/sessions/ZZZZZZ/participants", json={})
    assert unknown.status_code == 404


def test_phases_move_forwards_and_back_by_the_facilitator_only(workshop: Workshop) -> None:
    client = workshop.client
    for phase in ["brainstorm", "clustering", "scoring", "clustering", "report", "setup"]:
        response = client.post(workshop.url("/phase"), json={"phase": phase}, headers=workshop.f)
        assert response.json() == {"phase": phase}
    refused = client.post(workshop.url("/phase"), json={"phase": "scoring"}, headers=workshop.p(0))
    assert refused.status_code == 403
    assert client.post(workshop.url("/phase"), json={"phase": "scoring"}).status_code == 401
    bad = client.post(workshop.url("/phase"), json={"phase": "party"}, headers=workshop.f)
    assert bad.status_code == 422 and "Unknown phase" in bad.json()["detail"]
    assert client.get(workshop.url(), headers=workshop.p(0)).json()["phase"] == "setup"


def test_tokens_are_checked(workshop: Workshop) -> None:
    client = workshop.client
    other = create_workshop(client, participants=1)
    assert client.get(workshop.url()).status_code == 401
    assert client.get(workshop.url()).headers["www-authenticate"] == "Bearer"
    assert client.get(workshop.url(), headers=bearer("not-a-token")).status_code == 401
    assert client.get(workshop.url(), headers=other.p(0)).status_code == 403
    assert client.get(workshop.url(), headers=other.f).status_code == 403
    assert client.get(workshop.url(), headers=workshop.p(0)).status_code == 200
    body = client.get("/api/v1/sessions/NOPE42", headers=workshop.f)
    assert body.status_code == 404 and body.json()["detail"]


def test_contributions_only_during_the_brainstorm(workshop: Workshop, db: Session) -> None:
    client = workshop.client
    body = {"challenge_id": workshop.challenges[0]["id"], "text": "Missing funding"}
    refused = client.post(workshop.url("/contributions"), json=body, headers=workshop.p(0))
    assert refused.status_code == 409
    assert "brainstorm" in refused.json()["detail"] and "set-up" in refused.json()["detail"]
    assert count(db, Contribution) == 0
    workshop.phase("brainstorm")
    created = client.post(workshop.url("/contributions"), json=body, headers=workshop.p(0))
    assert created.status_code == 201
    assert created.json()["cluster_id"] is None
    assert created.json()["text"] == "Missing funding"
    workshop.phase("clustering")
    assert (
        client.post(workshop.url("/contributions"), json=body, headers=workshop.p(0)).status_code
        == 409
    )
    assert count(db, Contribution) == 1


def test_contribution_limits(
    workshop: Workshop, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = workshop.client
    workshop.phase("brainstorm")
    challenge = workshop.challenges[0]["id"]
    url = workshop.url("/contributions")
    empty = client.post(url, json={"challenge_id": challenge, "text": "   "}, headers=workshop.p(0))
    assert empty.status_code == 422 and "cannot be empty" in empty.json()["detail"]
    long = client.post(
        url, json={"challenge_id": challenge, "text": "x" * 501}, headers=workshop.p(0)
    )
    assert long.status_code == 422 and "at most 500" in long.json()["detail"]
    exactly = client.post(
        url, json={"challenge_id": challenge, "text": " " + "y" * 500 + " "}, headers=workshop.p(0)
    )
    assert exactly.status_code == 201
    unknown = client.post(url, json={"challenge_id": 9999, "text": "ok"}, headers=workshop.p(0))
    assert unknown.status_code == 404
    monkeypatch.setenv("POLICYLAB_CONTRIBUTIONS_PER_CHALLENGE", "2")
    get_settings.cache_clear()
    assert (
        client.post(
            url, json={"challenge_id": challenge, "text": "two"}, headers=workshop.p(0)
        ).status_code
        == 201
    )
    over = client.post(
        url, json={"challenge_id": challenge, "text": "three"}, headers=workshop.p(0)
    )
    assert over.status_code == 413 and "limit of 2" in over.json()["detail"]
    other_challenge = workshop.challenges[1]["id"]
    assert (
        client.post(
            url, json={"challenge_id": other_challenge, "text": "ok"}, headers=workshop.p(0)
        ).status_code
        == 201
    )
    assert count(db, Contribution) == 3


def test_same_client_id_is_stored_once(workshop: Workshop, db: Session) -> None:
    client = workshop.client
    workshop.phase("brainstorm")
    body = {"challenge_id": workshop.challenges[0]["id"], "text": "Retry me", "client_id": "c-123"}
    first = client.post(workshop.url("/contributions"), json=body, headers=workshop.p(0))
    second = client.post(workshop.url("/contributions"), json=body, headers=workshop.p(0))
    # The answer to a retry is the answer the lost one would have been.
    assert first.status_code == 201 and second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert count(db, Contribution) == 1


def test_client_ids_belong_to_their_author(workshop: Workshop, db: Session) -> None:
    client = workshop.client
    workshop.phase("brainstorm")
    challenge = workshop.challenges[0]["id"]
    long_id = "x" * 200  # longer than the stored column: still one id per author
    ids = {}
    for who, headers in (("p0", workshop.p(0)), ("p1", workshop.p(1)), ("f", workshop.f)):
        for client_id in ("c-1", long_id):
            body = {
                "challenge_id": challenge,
                "text": f"{who} {client_id[:3]}",
                "client_id": client_id,
            }
            answers = [
                client.post(workshop.url("/contributions"), json=body, headers=headers)
                for _ in range(2)
            ]
            assert [a.status_code for a in answers] == [201, 201]
            assert answers[0].json()["id"] == answers[1].json()["id"]
            ids[who, client_id] = answers[0].json()["id"]
    assert len(set(ids.values())) == 6  # the same ids from three authors: six contributions
    assert count(db, Contribution) == 6


def test_authors_are_visible_to_the_facilitator_only(workshop: Workshop) -> None:
    client = workshop.client
    workshop.phase("brainstorm")
    workshop.contribute(0, 0, "Gap one")
    workshop.contribute(None, 0, "Facilitator's note")
    as_facilitator = client.get(workshop.url("/contributions"), headers=workshop.f).json()
    assert [c["author"] for c in as_facilitator] == ["Person 1", "Facilitator"]
    as_participant = client.get(workshop.url("/contributions"), headers=workshop.p(1)).json()
    assert all("author" not in c for c in as_participant)
    assert [c["text"] for c in as_participant] == ["Gap one", "Facilitator's note"]


def test_contribution_answers_leave_out_keys_that_do_not_apply(workshop: Workshop) -> None:
    client = workshop.client
    workshop.phase("brainstorm")
    plain = {"id", "challenge_id", "text", "cluster_id", "mine"}
    mine = workshop.contribute(0, 0, "Gap one")
    assert set(mine) == plain  # no author, not even null
    url = workshop.url(f"/contributions/{mine['id']}")
    edited = client.patch(url, json={"text": "Gap one, sharper"}, headers=workshop.p(0))
    assert set(edited.json()) == plain
    same = workshop.contribute(None, 0, "Same gap")
    assert set(same) == plain | {"author"}
    assert same["author"] == "Facilitator" and same["mine"] is True  # the facilitator's own
    workshop.phase("clustering")
    duplicate = workshop.url(f"/contributions/{same['id']}/duplicate")
    assert client.post(duplicate, json={"original_id": mine["id"]}, headers=workshop.f).is_success
    as_participant = client.get(workshop.url("/contributions"), headers=workshop.p(1)).json()
    assert [set(c) for c in as_participant] == [plain, plain | {"duplicate_of_id"}]
    as_facilitator = client.get(workshop.url("/contributions"), headers=workshop.f).json()
    assert [c["author"] for c in as_facilitator] == ["Person 1", "Facilitator"]
    assert as_facilitator[1]["duplicate_of_id"] == mine["id"]


def test_hidden_board_shows_participants_only_their_own(client: TestClient) -> None:
    workshop = create_workshop(client, participants=2, show_contributions=False)
    workshop.phase("brainstorm")
    workshop.contribute(0, 0, "Mine")
    workshop.contribute(1, 0, "Theirs")
    own = client.get(workshop.url("/contributions"), headers=workshop.p(0)).json()
    assert [c["text"] for c in own] == ["Mine"]
    assert own[0]["mine"] is True
    facilitator = client.get(workshop.url("/contributions"), headers=workshop.f).json()
    assert len(facilitator) == 2
    workshop.phase("clustering")
    assert len(client.get(workshop.url("/contributions"), headers=workshop.p(0)).json()) == 2


def test_authors_edit_and_delete_their_own_while_the_brainstorm_is_open(
    workshop: Workshop, db: Session
) -> None:
    client = workshop.client
    workshop.phase("brainstorm")
    mine = workshop.contribute(0, 0, "Typo hre")
    url = workshop.url(f"/contributions/{mine['id']}")
    assert (
        client.patch(url, json={"text": "Typo here"}, headers=workshop.p(0)).json()["text"]
        == "Typo here"
    )
    assert client.patch(url, json={"text": "Vandalism"}, headers=workshop.p(1)).status_code == 403
    assert client.delete(url, headers=workshop.p(1)).status_code == 403
    assert client.patch(url, json={"text": ""}, headers=workshop.p(0)).status_code == 422
    workshop.phase("clustering")
    assert client.patch(url, json={"text": "Late edit"}, headers=workshop.p(0)).status_code == 409
    assert client.delete(url, headers=workshop.p(0)).status_code == 409
    fresh(db)
    assert db.get(Contribution, mine["id"]).text == "Typo here"  # type: ignore[union-attr]
    moderated = client.patch(url, json={"text": "Moderated"}, headers=workshop.f)
    assert moderated.status_code == 200
    # The facilitator's answer names the author as the list does.
    assert moderated.json()["author"] == "Person 1" and moderated.json()["mine"] is False
    assert client.delete(url, headers=workshop.f).status_code == 204
    assert count(db, Contribution) == 0


def test_update_settings_and_rename_category_keeps_clusters_filed(workshop: Workshop) -> None:
    client = workshop.client
    workshop.phase("brainstorm")
    note = workshop.contribute(0, 0, "Tax credits for creative SMEs")
    cluster = workshop.cluster(0, "Tax credits", "Key framework conditions", [note["id"]])
    renamed = ["AI and sector players", "Ecosystem structure", "Framework conditions"]
    response = client.patch(
        workshop.url(), json={"categories": renamed, "show_names": True}, headers=workshop.f
    )
    assert response.status_code == 200
    assert response.json()["categories"] == renamed
    assert response.json()["show_names"] is True
    clusters = client.get(workshop.url("/clusters"), headers=workshop.f).json()
    assert clusters[0]["id"] == cluster["id"]
    assert clusters[0]["category"] == "Framework conditions"
    assert (
        client.patch(workshop.url(), json={"title": "x"}, headers=workshop.p(0)).status_code == 403
    )


def test_delete_session_removes_everything(workshop: Workshop, db: Session) -> None:
    client = workshop.client
    workshop.phase("brainstorm")
    note = workshop.contribute(0, 0, "A gap")
    cluster = workshop.cluster(0, "A solution", "Ecosystem structure", [note["id"]])
    workshop.phase("scoring")
    workshop.rate(0, cluster["id"], 4, "eu")
    assert client.delete(workshop.url(), headers=workshop.p(0)).status_code == 403
    assert client.delete(workshop.url(), headers=workshop.f).status_code == 204
    assert client.get(workshop.url(), headers=workshop.f).status_code == 404
    from app.models import Challenge, Cluster, Event, Participant, Rating

    for model in (WorkshopSession, Challenge, Participant, Contribution, Cluster, Rating, Event):
        assert count(db, model) == 0, model


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_the_facilitator_removes_a_participant_and_their_notes(
    client: TestClient, db: Session
) -> None:
    w = create_workshop(client, participants=2)
    w.phase("brainstorm")
    spam = [w.contribute(0, 0, f"Spam {i}")["id"] for i in range(2)]
    kept = w.contribute(1, 0, "A real gap")["id"]
    puppet = w.participants[0]["id"]
    assert client.delete(w.url(f"/participants/{puppet}"), headers=w.p(1)).status_code == 403
    assert client.delete(w.url(f"/participants/{puppet}"), headers=w.f).status_code == 204
    # Their token is gone with them; their notes too.
    assert client.get(w.url(), headers=w.p(0)).status_code == 401
    listed = client.get(w.url("/contributions"), headers=w.f).json()
    assert [c["id"] for c in listed] == [kept] and not set(spam) & {c["id"] for c in listed}
    assert client.delete(w.url(f"/participants/{puppet}"), headers=w.f).status_code == 404


def test_bulk_removal_of_contributions(client: TestClient, db: Session) -> None:
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    ids = [w.contribute(0, 0, f"Note {i}")["id"] for i in range(3)]
    body = {"contribution_ids": ids[:2]}
    assert client.post(w.url("/contributions/remove"), json=body, headers=w.p(0)).status_code == 403
    done = client.post(w.url("/contributions/remove"), json=body, headers=w.f)
    assert done.status_code == 200 and done.json() == {"removed": 2}
    assert count(db, Contribution) == 1
    unknown = client.post(
        w.url("/contributions/remove"), json={"contribution_ids": [ids[2], 99999]}, headers=w.f
    )
    assert unknown.status_code == 404 and count(db, Contribution) == 1


def test_a_closed_session_refuses_new_participants(client: TestClient) -> None:
    w = create_workshop(client, participants=1)
    closed = client.patch(w.url(), json={"joins_open": False}, headers=w.f)
    assert closed.status_code == 200 and closed.json()["joins_open"] is False
    refused = client.post(w.url("/participants"), json={"name": "Puppet"})
    assert refused.status_code == 403 and "closed to new participants" in refused.json()["detail"]
    assert client.get(w.url(), headers=w.p(0)).status_code == 200  # those in stay in
    client.patch(w.url(), json={"joins_open": True}, headers=w.f)
    assert client.post(w.url("/participants"), json={}).status_code == 201


def test_guessing_join_codes_is_limited_per_address(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import ratelimit

    w = create_workshop(client)
    monkeypatch.setitem(ratelimit.LIMITS, "code_guess", 3)
    for guess in ("AAAAAA", "BBBBBB", "CCCCCC"):
        assert client.post(f"/api/v1/sessions/{guess}/participants", json={}).status_code == 404
    # Past the limit every code waits, the right one too: guessing cannot go on.
    assert client.post(w.url("/participants"), json={}).status_code == 429
    assert client.get("/join/DDDDDD", headers={"Accept": "text/html"}).status_code == 429
