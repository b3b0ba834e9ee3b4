"""The facilitator's brainstorm and clustering boards, through their HTML routes."""

import json
import re

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.clustering.models import Cluster
from app.sessions.models import Contribution
from tests.conftest import Workshop, count, create_workshop, fresh

# What the boards' htmx requests send (their pages ask for HTML through hx-headers).
HX = {"HX-Request": "true", "Accept": "text/html"}


def as_facilitator(w: Workshop) -> None:
    w.client.cookies.set(f"policylab_{w.code}", w.facilitator_token)


def as_participant(w: Workshop, index: int = 0) -> None:
    w.client.cookies.set(f"policylab_{w.code}", w.participants[index]["participant_token"])


def page(w: Workshop, path: str = "") -> str:
    return f"/s/{w.code}/facilitate{path}"


def note(db: Session, contribution_id: int) -> Contribution:
    found = fresh(db).get(Contribution, contribution_id)
    assert found is not None
    return found


def trigger(response, name: str) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(response.headers["HX-Trigger"])[name]


COMPUTE = [
    "Small studios cannot afford GPU compute for AI experiments",
    "GPU compute is too expensive for small creative studios",
    "Affordable GPU compute access for small creative studios",
]
COPYRIGHT = [
    "Creators are not paid when their works train AI models",
    "Remuneration for creators whose works train AI models is missing",
    "Creators need payment when AI models train on their works",
]


def brainstormed(client: TestClient, texts: list[str] | None = None) -> tuple[Workshop, list[int]]:
    """A workshop in the clustering phase with contributions in the first challenge."""
    w = create_workshop(client, participants=2)
    w.phase("brainstorm")
    ids = [w.contribute(i % 2, 0, t)["id"] for i, t in enumerate(texts or COMPUTE + COPYRIGHT)]
    w.phase("clustering")
    as_facilitator(w)
    return w, ids


# --- brainstorm board ----------------------------------------------------------------------


def test_brainstorm_board_empty_then_filled_with_authors_and_counts(client: TestClient) -> None:
    w = create_workshop(client, participants=2)
    as_facilitator(w)
    empty = client.get(page(w, "/brainstorm"))
    assert empty.status_code == 200
    assert "No contributions yet" in empty.text
    w.phase("brainstorm")
    w.contribute(0, 0, "First gap")
    w.contribute(1, 0, "Second gap")
    w.contribute(1, 1, "Other challenge gap")
    full = client.get(page(w, "/brainstorm"))
    assert full.status_code == 200 and "<html" in full.text
    assert "No contributions yet" not in full.text
    assert "Person 1" in full.text and "Person 2" in full.text
    # Newest first within a challenge.
    assert full.text.index("Second gap") < full.text.index("First gap")
    assert 'id="brainstorm-challenge-{}"'.format(w.challenges[1]["id"]) in full.text
    fragment = client.get(page(w, "/brainstorm"), headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and 'id="brainstorm-board"' in fragment.text
    assert "HX-Request" in fragment.headers["Vary"].split(", ")


def test_brainstorm_counts_poll_answers_204_until_something_changes(client: TestClient) -> None:
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    as_facilitator(w)
    board = client.get(page(w, "/brainstorm")).text
    found = re.search(r'hx-get="([^"]*region=counts[^"]*)"', board)
    assert found is not None
    poll = found.group(1).replace("&amp;", "&")
    assert client.get(poll, headers=HX).status_code == 204
    w.contribute(0, 0, "Arrived meanwhile")
    update = client.get(poll, headers=HX)
    assert update.status_code == 200
    assert "1 new contribution" in update.text and 'hx-swap-oob="innerHTML"' in update.text


def test_facilitator_edits_a_contribution(client: TestClient, db: Session) -> None:
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    cid = w.contribute(0, 0, "Rude words here")["id"]
    as_facilitator(w)
    url = page(w, f"/brainstorm/contributions/{cid}/edit")
    plain = client.post(url, data={"text": "Polite words"}, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"].endswith(f"#contribution-{cid}")
    assert note(db, cid).text == "Polite words"
    htmx = client.post(url, data={"text": "Polite words, again"}, headers=HX)
    assert htmx.status_code == 200
    assert htmx.text.lstrip().startswith(f'<li class="moderated" id="contribution-{cid}"')
    assert "Polite words, again" in htmx.text
    assert trigger(htmx, "showToast")["level"] == "success"
    assert note(db, cid).text == "Polite words, again"


def test_refused_edit_keeps_the_typed_text_and_changes_nothing(
    client: TestClient, db: Session
) -> None:
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    cid = w.contribute(0, 0, "Original text")["id"]
    as_facilitator(w)
    url = page(w, f"/brainstorm/contributions/{cid}/edit")
    too_long = "x" * 501
    for headers in ({}, HX):
        response = client.post(url, data={"text": too_long}, headers=headers)
        assert response.status_code == 422
        assert "too long" in response.text and too_long in response.text
        assert 'aria-invalid="true"' in response.text and " open>" in response.text
    assert note(db, cid).text == "Original text"


def test_facilitator_removes_a_contribution(client: TestClient, db: Session) -> None:
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    first = w.contribute(0, 0, "Spam spam")["id"]
    second = w.contribute(0, 0, "Also spam")["id"]
    as_facilitator(w)
    plain = client.post(page(w, f"/brainstorm/contributions/{first}/remove"))
    assert plain.status_code == 200 and "Spam spam" not in plain.text  # followed the 303
    htmx = client.post(page(w, f"/brainstorm/contributions/{second}/remove"), headers=HX)
    assert htmx.status_code == 200 and 'id="brainstorm-board"' in htmx.text
    assert "No contributions yet" in htmx.text
    assert count(db, Contribution) == 0


def test_participants_cannot_moderate_or_open_the_board(client: TestClient, db: Session) -> None:
    w = create_workshop(client, participants=2)
    w.phase("brainstorm")
    cid = w.contribute(1, 0, "Someone else's words")["id"]
    assert client.get(page(w, "/brainstorm")).status_code == 403  # no cookie at all
    as_participant(w, 0)
    refused = client.get(page(w, "/brainstorm"))
    assert refused.status_code == 403 and "facilitator link" in refused.text
    edit = client.post(page(w, f"/brainstorm/contributions/{cid}/edit"), data={"text": "Hacked"})
    assert edit.status_code == 403
    toast = client.post(page(w, f"/brainstorm/contributions/{cid}/remove"), headers=HX)
    assert toast.status_code == 403 and "facilitator" in trigger(toast, "showToast")["message"]
    assert note(db, cid).text == "Someone else's words"


# --- clustering board ----------------------------------------------------------------------


def test_board_shows_inbox_and_clusters_per_challenge(client: TestClient) -> None:
    w, ids = brainstormed(client)
    w.cluster(0, "Compute vouchers", "Key framework conditions", ids[:2])
    board = client.get(page(w, "/clustering"))
    assert board.status_code == 200 and "<html" in board.text
    assert 'id="column-inbox"' in board.text and "Compute vouchers" in board.text
    assert "Key framework conditions" in board.text
    assert 'class="note note--draggable" aria-pressed="false"' in board.text
    assert "/static/vendor/Sortable.min.js" in board.text and "/static/js/board.js" in board.text
    other = client.get(page(w, f"/clustering?challenge={w.challenges[1]['id']}"))
    assert (
        "Compute vouchers" not in other.text and "No contributions for this challenge" in other.text
    )
    fragment = client.get(page(w, "/clustering"), headers=HX)
    assert "<html" not in fragment.text and fragment.text.lstrip().startswith('<div id="board"')
    assert client.get(page(w, "/clustering?challenge=999999")).status_code == 404


def test_board_tells_when_contributions_arrive_during_the_brainstorm(client: TestClient) -> None:
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    w.contribute(0, 0, "Early gap")
    as_facilitator(w)
    board = client.get(page(w, "/clustering"), headers=HX).text
    found = re.search(r'hx-get="([^"]*region=arrivals[^"]*)"', board)
    assert found is not None
    poll = found.group(1).replace("&amp;", "&")
    assert poll.endswith("seen=1")
    assert client.get(poll, headers=HX).status_code == 204
    w.contribute(0, 0, "Late gap")
    w.contribute(0, 1, "Other challenge: not counted here")
    arrived = client.get(poll, headers=HX)
    assert arrived.status_code == 200 and "1 new contribution since" in arrived.text
    assert trigger(arrived, "boardStatus")["message"] == "1 new contribution arrived."
    w.phase("clustering")
    assert "region=arrivals" not in client.get(page(w, "/clustering")).text


def test_board_is_read_only_outside_the_editing_phases(client: TestClient) -> None:
    w, _ = brainstormed(client)
    w.phase("scoring")
    board = client.get(page(w, "/clustering"))
    assert board.status_code == 200
    assert "read-only" in board.text
    assert 'id="move-form"' not in board.text and "data-board-list" not in board.text
    assert "Suggest clusters" not in board.text


def test_create_edit_and_delete_a_cluster(client: TestClient, db: Session) -> None:
    w, ids = brainstormed(client)
    challenge = w.challenges[0]["id"]
    created = client.post(
        page(w, "/clustering/clusters"),
        data={
            "challenge": challenge,
            "title": "Compute vouchers for studios",
            "description": "Cheap GPU time",
            "category": "Key framework conditions",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    cluster = fresh(db).exec(select(Cluster)).one()
    assert created.headers["location"].endswith(f"?challenge={challenge}#column-{cluster.id}")
    assert (cluster.title, cluster.category, cluster.origin) == (
        "Compute vouchers for studios",
        "Key framework conditions",
        "manual",
    )
    edited = client.post(
        page(w, f"/clustering/clusters/{cluster.id}"),
        data={"title": "GPU vouchers", "description": "", "category": "Ecosystem structure"},
        headers=HX,
    )
    assert edited.status_code == 200 and 'id="board"' in edited.text
    assert "GPU vouchers" in edited.text
    assert trigger(edited, "boardStatus")["message"] == "Cluster “GPU vouchers” saved."
    fresh(db)
    cluster = db.get(Cluster, cluster.id)
    assert cluster is not None and cluster.category == "Ecosystem structure"
    client.post(
        page(w, "/clustering/move"), data={"contribution_id": ids[0], "cluster_id": cluster.id}
    )
    assert note(db, ids[0]).cluster_id == cluster.id
    deleted = client.post(page(w, f"/clustering/clusters/{cluster.id}/delete"), headers=HX)
    assert (
        deleted.status_code == 200 and "GPU vouchers" in trigger(deleted, "boardStatus")["message"]
    )
    assert count(db, Cluster) == 0
    assert note(db, ids[0]).cluster_id is None  # back in the inbox, not deleted


def test_refused_cluster_form_shows_the_message_and_keeps_the_text(
    client: TestClient, db: Session
) -> None:
    w, _ = brainstormed(client)
    data = {"challenge": w.challenges[0]["id"], "title": " ", "description": "Kept description"}
    for headers in ({}, HX):
        response = client.post(page(w, "/clustering/clusters"), data=data, headers=headers)
        assert response.status_code == 422
        assert "The cluster title cannot be empty." in response.text
        assert "Kept description" in response.text
    wrong = client.post(
        page(w, "/clustering/clusters"),
        data={**data, "title": "Fine", "category": "Not a category"},
        headers=HX,
    )
    assert wrong.status_code == 422 and "is not a category of this session" in wrong.text
    assert count(db, Cluster) == 0
    cluster = w.cluster(0, "Keep me", "Ecosystem structure", [])
    rename = client.post(page(w, f"/clustering/clusters/{cluster['id']}"), data={"title": ""})
    assert rename.status_code == 422 and "cannot be empty" in rename.text
    assert fresh(db).get(Cluster, cluster["id"]).title == "Keep me"  # type: ignore[union-attr]


def test_merge_keeps_every_contribution(client: TestClient, db: Session) -> None:
    w, ids = brainstormed(client)
    a = w.cluster(0, "Compute", "Ecosystem structure", ids[:2])
    b = w.cluster(0, "GPU access", "Ecosystem structure", ids[2:3])
    merged = client.post(
        page(w, "/clustering/clusters/merge"),
        data={"source_id": b["id"], "target_id": a["id"]},
        headers=HX,
    )
    assert merged.status_code == 200
    assert trigger(merged, "boardStatus")["message"] == "“GPU access” merged into “Compute”."
    assert count(db, Cluster) == 1
    assert [note(db, i).cluster_id for i in ids[:3]] == [a["id"]] * 3
    assert count(db, Contribution) == len(ids)
    same = client.post(
        page(w, "/clustering/clusters/merge"), data={"source_id": a["id"], "target_id": a["id"]}
    )
    assert same.status_code == 422


def test_keyboard_move_into_a_cluster_and_back(client: TestClient, db: Session) -> None:
    w, ids = brainstormed(client)
    cluster = w.cluster(0, "Compute", "Ecosystem structure", [])
    plain = client.post(
        page(w, "/clustering/move"),
        data={"contribution_id": ids[0], "cluster_id": cluster["id"], "then_focus": "toolbar"},
        follow_redirects=False,
    )
    assert plain.status_code == 303 and plain.headers["location"].endswith(
        f"#column-{cluster['id']}"
    )
    assert note(db, ids[0]).cluster_id == cluster["id"]
    back = client.post(
        page(w, "/clustering/move"),
        data={"contribution_id": ids[0], "cluster_id": "", "then_focus": "note"},
        headers=HX,
    )
    assert back.status_code == 200
    assert f'data-contribution-id="{ids[0]}" data-focus-after-swap' in back.text
    status = trigger(back, "boardStatus")
    assert status["message"].endswith("to Unclustered.") and status["clear"] is True
    assert note(db, ids[0]).cluster_id is None
    nothing = client.post(page(w, "/clustering/move"), data={"cluster_id": cluster["id"]})
    assert nothing.status_code == 422 and "Select a contribution" in nothing.text


def test_the_move_panel_brings_the_focus_back_and_names_no_field_focus(
    client: TestClient, db: Session
) -> None:
    """A form control named `focus` would hide the form's focus() (a console error in the
    browser); the panel asks for the focus back with `then_focus`."""
    w, ids = brainstormed(client)
    cluster = w.cluster(0, "Compute", "Ecosystem structure", [])
    board = client.get(page(w, "/clustering"))
    assert 'name="focus"' not in board.text.split('id="where-result"')[0]
    assert 'name="then_focus" value="toolbar"' in board.text
    moved = client.post(
        page(w, "/clustering/move"),
        data={"contribution_id": ids[0], "cluster_id": cluster["id"], "then_focus": "toolbar"},
        headers=HX,
    )
    assert (
        'id="move-contribution" name="contribution_id" aria-describedby="move-panel-hint" data-focus-after-swap'
        in moved.text
    )
    assert f'data-contribution-id="{ids[0]}" data-focus-after-swap' not in moved.text


def test_a_rebuilt_suggestion_is_shown_as_edited(client: TestClient, db: Session) -> None:
    w, ids = brainstormed(client)
    accepted = client.post(
        f"/api/v1/sessions/{w.code}/clusters/accept",
        json={
            "challenge_id": w.challenges[0]["id"],
            "suggestions": [
                {"title": "Compute", "contribution_ids": ids[:2]},
                {"title": "Pay creators", "contribution_ids": ids[2:4]},
            ],
        },
        headers=w.f,
    )
    assert accepted.status_code == 201, accepted.text
    compute, pay = accepted.json()
    board = client.get(page(w, "/clustering"))
    assert board.text.count("Suggested by the assistant") == 2
    client.post(
        page(w, "/clustering/move"),
        data={"contribution_id": ids[4], "cluster_id": pay["id"]},
        headers=HX,
    )
    board = client.get(page(w, "/clustering"))
    assert board.text.count("Suggested by the assistant") == 1
    assert board.text.count("Suggested, then edited") == 1
    column = board.text.split(f'id="column-{pay["id"]}"')[1].split("</section>")[0]
    assert "Suggested, then edited" in column
    api = client.get(f"/api/v1/sessions/{w.code}/clusters", headers=w.f).json()
    assert {c["id"]: c["origin"] for c in api} == {compute["id"]: "suggested", pay["id"]: "edited"}
    data = client.get(
        f"/api/v1/sessions/{w.code}/report", params={"format": "json"}, headers=w.f
    ).json()
    exported = {c["id"]: (c["origin"], c["edited"]) for c in data["clusters"]}
    assert exported == {compute["id"]: ("suggested", False), pay["id"]: ("edited", True)}


def test_drop_endpoint_moves_at_a_position_and_returns_the_columns(
    client: TestClient, db: Session
) -> None:
    w, ids = brainstormed(client)
    cluster = w.cluster(0, "Compute", "Ecosystem structure", ids[:2])
    response = client.post(
        page(w, "/clustering/drop"),
        data={"contribution_id": ids[2], "cluster_id": cluster["id"], "position": 1},
        headers=HX,
    )
    assert response.status_code == 200
    assert 'id="column-inbox"' in response.text and f'id="column-{cluster["id"]}"' in response.text
    assert 'id="board-summary"' in response.text and "<html" not in response.text
    assert "Moved" in trigger(response, "boardStatus")["message"]
    members = (
        fresh(db)
        .exec(
            select(Contribution.id)
            .where(Contribution.cluster_id == cluster["id"])
            .order_by(Contribution.position)  # type: ignore[arg-type]
        )
        .all()
    )
    assert list(members) == [ids[0], ids[2], ids[1]]
    within = client.post(
        page(w, "/clustering/drop"),
        data={"contribution_id": ids[0], "cluster_id": cluster["id"], "position": 2},
        headers=HX,
    )
    assert within.text.count('<section class="board__column') == 1  # one column touched


def test_a_refused_drop_changes_nothing_and_says_why(client: TestClient, db: Session) -> None:
    w, ids = brainstormed(client)
    elsewhere = w.cluster(1, "Other challenge", "Ecosystem structure", [])
    response = client.post(
        page(w, "/clustering/drop"),
        data={"contribution_id": ids[0], "cluster_id": elsewhere["id"], "position": 0},
        headers=HX,
    )
    assert response.status_code == 422
    assert "own challenge" in trigger(response, "showToast")["message"]
    assert note(db, ids[0]).cluster_id is None


def test_wrong_phase_is_refused_with_a_409_message(client: TestClient, db: Session) -> None:
    w, ids = brainstormed(client)
    cluster = w.cluster(0, "Compute", "Ecosystem structure", [])
    w.phase("scoring")
    plain = client.post(
        page(w, "/clustering/move"), data={"contribution_id": ids[0], "cluster_id": cluster["id"]}
    )
    assert plain.status_code == 409
    assert "only possible during the brainstorm or clustering phase" in plain.text
    htmx = client.post(page(w, f"/clustering/clusters/{cluster['id']}/delete"), headers=HX)
    assert htmx.status_code == 409 and "scoring phase" in trigger(htmx, "showToast")["message"]
    form = client.post(
        page(w, "/clustering/clusters"),
        data={"challenge": w.challenges[0]["id"], "title": "Late cluster"},
        headers=HX,
    )
    assert form.status_code == 409 and "scoring phase" in trigger(form, "showToast")["message"]
    assert count(db, Cluster) == 1 and note(db, ids[0]).cluster_id is None


def test_participants_cannot_use_the_clustering_board(client: TestClient, db: Session) -> None:
    w, ids = brainstormed(client)
    cluster = w.cluster(0, "Compute", "Ecosystem structure", [])
    as_participant(w)
    assert client.get(page(w, "/clustering")).status_code == 403
    for path, data in (
        ("/clustering/clusters", {"challenge": w.challenges[0]["id"], "title": "Mine"}),
        ("/clustering/move", {"contribution_id": ids[0], "cluster_id": cluster["id"]}),
        ("/clustering/drop", {"contribution_id": ids[0], "cluster_id": cluster["id"]}),
        (f"/clustering/clusters/{cluster['id']}/delete", {}),
    ):
        assert client.post(page(w, path), data=data).status_code == 403, path
    assert count(db, Cluster) == 1 and note(db, ids[0]).cluster_id is None


# --- clustering assistant ------------------------------------------------------------------


def preview_form(w: Workshop, suggestions: list[dict], **extra: object) -> dict:
    """The preview form's fields as the browser posts them."""
    return {
        "challenge": w.challenges[0]["id"],
        "scope": "unclustered",
        "granularity": "0",
        "title": [s["title"] for s in suggestions],
        "category": [s.get("category", "Ecosystem structure") for s in suggestions],
        "ids": [",".join(map(str, s["ids"])) for s in suggestions],
        "suggested_title": [s.get("suggested", s["title"]) for s in suggestions],
        "terms": ["gpu|compute" for _ in suggestions],
        **extra,
    }


def test_suggest_shows_a_preview_and_saves_nothing(client: TestClient, db: Session) -> None:
    w, ids = brainstormed(client)
    url = page(w, f"/clustering/suggest?challenge={w.challenges[0]['id']}")
    full = client.get(url)
    assert full.status_code == 200 and "<html" in full.text
    assert 'id="suggestions-form"' in full.text and 'name="accept" value="0"' in full.text
    fragment = client.get(url + "&scope=all&granularity=0.5", headers=HX)
    assert fragment.status_code == 200 and fragment.text.lstrip().startswith(
        '<section id="suggestions"'
    )
    assert 'name="take_from_clusters"' in fragment.text  # all contributions: consent box shown
    for text in COMPUTE + COPYRIGHT:
        assert text in fragment.text
    assert count(db, Cluster) == 0
    assert all(note(db, i).cluster_id is None for i in ids)
    bad = client.get(url + "&granularity=3", headers=HX)
    assert bad.status_code == 422 and "between" in bad.text


def test_accept_one_suggestion_records_provenance_and_keeps_the_rest(
    client: TestClient, db: Session
) -> None:
    w, ids = brainstormed(client)
    form = preview_form(
        w,
        [
            {
                "title": "Affordable compute for studios",
                "suggested": "gpu compute studios",
                "ids": ids[:3],
                "category": "Key framework conditions",
            },
            {"title": "Pay creators for AI training", "ids": ids[3:]},
        ],
        accept="0",
    )
    response = client.post(page(w, "/clustering/suggestions/accept"), data=form, headers=HX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="workspace"')
    assert "Pay creators for AI training" in response.text  # the other suggestion stays
    assert 'name="accept" value="0"' in response.text
    assert 'name="accept" value="1"' not in response.text
    assert trigger(response, "boardStatus")["message"] == (
        "Cluster “Affordable compute for studios” created."
    )
    cluster = fresh(db).exec(select(Cluster)).one()
    assert cluster.origin == "suggested" and cluster.accepted_at is not None
    assert cluster.suggested_title == "gpu compute studios"  # what the assistant proposed
    assert cluster.suggested_contribution_ids == ids[:3]
    assert cluster.category == "Key framework conditions"
    assert [note(db, i).cluster_id for i in ids] == [cluster.id] * 3 + [None] * 3


def test_accept_all_without_script_redirects_to_the_board(client: TestClient, db: Session) -> None:
    w, ids = brainstormed(client)
    form = preview_form(
        w,
        [{"title": "Compute", "ids": ids[:3]}, {"title": "Remuneration", "ids": ids[3:]}],
        accept="all",
    )
    response = client.post(
        page(w, "/clustering/suggestions/accept"), data=form, follow_redirects=False
    )
    assert response.status_code == 303
    titles = {c.title: c for c in fresh(db).exec(select(Cluster))}
    assert set(titles) == {"Compute", "Remuneration"}
    assert all(c.origin == "suggested" for c in titles.values())
    assert note(db, ids[5]).cluster_id == titles["Remuneration"].id


def test_accepting_never_takes_from_manual_clusters_without_consent(
    client: TestClient, db: Session
) -> None:
    w, ids = brainstormed(client)
    manual = w.cluster(0, "Hand-made", "Ecosystem structure", [ids[0]])
    form = preview_form(w, [{"title": "Compute", "ids": ids[:3]}], scope="all", accept="0")
    response = client.post(page(w, "/clustering/suggestions/accept"), data=form, headers=HX)
    assert response.status_code == 200
    assert "1 contribution already in another cluster stayed where it was" in response.text
    suggested = fresh(db).exec(select(Cluster).where(Cluster.origin == "suggested")).one()
    assert note(db, ids[0]).cluster_id == manual["id"]
    assert [note(db, i).cluster_id for i in ids[1:3]] == [suggested.id] * 2
    # With the box ticked, the facilitator agrees to take it.
    form = preview_form(
        w,
        [{"title": "Compute again", "ids": [ids[0]]}],
        scope="all",
        accept="0",
        take_from_clusters="1",
    )
    assert client.post(page(w, "/clustering/suggestions/accept"), data=form).status_code == 200
    assert fresh(db).get(Cluster, manual["id"]) is not None
    assert note(db, ids[0]).cluster_id != manual["id"]


def test_a_suggestion_entirely_in_clusters_is_refused_and_kept(
    client: TestClient, db: Session
) -> None:
    w, ids = brainstormed(client)
    w.cluster(0, "Hand-made", "Ecosystem structure", ids[:2])
    form = preview_form(w, [{"title": "Compute", "ids": ids[:2]}], scope="all", accept="0")
    response = client.post(page(w, "/clustering/suggestions/accept"), data=form, headers=HX)
    assert response.status_code == 422
    assert "already in a cluster" in response.text and "Compute" in response.text
    assert count(db, Cluster) == 1


def test_a_bad_title_in_accept_all_saves_nothing(client: TestClient, db: Session) -> None:
    w, ids = brainstormed(client)
    form = preview_form(
        w,
        [{"title": "Compute", "ids": ids[:3]}, {"title": "  ", "ids": ids[3:]}],
        accept="all",
    )
    response = client.post(page(w, "/clustering/suggestions/accept"), data=form)
    assert response.status_code == 422
    assert "Nothing was saved" in response.text and "cannot be empty" in response.text
    assert 'value="Compute"' in response.text  # the edited preview is still there
    assert count(db, Cluster) == 0


def test_discard_drops_a_suggestion_without_touching_the_session(
    client: TestClient, db: Session
) -> None:
    w, ids = brainstormed(client)
    form = preview_form(
        w,
        [{"title": "Compute", "ids": ids[:3]}, {"title": "Remuneration", "ids": ids[3:]}],
        discard="0",
    )
    response = client.post(page(w, "/clustering/suggestions/discard"), data=form, headers=HX)
    assert response.status_code == 200
    assert "Suggestion “Compute” discarded." in response.text
    assert 'value="Remuneration"' in response.text and 'value="Compute"' not in response.text
    closed = client.post(
        page(w, "/clustering/suggestions/discard"), data={**form, "discard": "all"}
    )
    assert closed.status_code == 200 and 'id="suggestions-form"' not in closed.text
    assert count(db, Cluster) == 0


def test_near_duplicates_are_flagged_and_merged_keeping_every_text(
    client: TestClient, db: Session
) -> None:
    same = "Art schools do not teach how generative AI tools work"
    w, ids = brainstormed(client, [same, same.lower() + "!", *COPYRIGHT])
    preview = client.get(
        page(w, f"/clustering/suggest?challenge={w.challenges[0]['id']}"), headers=HX
    )
    assert "Possible duplicates" in preview.text
    assert f'name="dup" value="{ids[0]},{ids[1]}"' in preview.text
    form = preview_form(
        w,
        [{"title": "Teach AI in art schools", "ids": ids[:2]}, {"title": "Pay", "ids": ids[2:]}],
        dup=f"{ids[0]},{ids[1]}",
        group="0",
    )
    merged = client.post(page(w, "/clustering/suggestions/duplicates"), data=form, headers=HX)
    assert merged.status_code == 200
    assert "2 contributions merged as duplicates" in merged.text
    assert "Possible duplicates" not in merged.text
    assert note(db, ids[1]).duplicate_of_id == ids[0]
    assert note(db, ids[1]).text == same.lower() + "!"  # both texts stay
    assert count(db, Contribution) == len(ids)
    # The copy follows its original when the suggestion is accepted.
    form = preview_form(w, [{"title": "Teach AI in art schools", "ids": [ids[0]]}], accept="0")
    client.post(page(w, "/clustering/suggestions/accept"), data=form)
    assert note(db, ids[0]).cluster_id is not None
    assert note(db, ids[1]).cluster_id == note(db, ids[0]).cluster_id


def test_where_does_it_go_names_the_closest_cluster(client: TestClient, db: Session) -> None:
    w, ids = brainstormed(client, [*COMPUTE, *COPYRIGHT, "Cheap GPU compute for small studios"])
    url = page(w, f"/clustering/where?contribution_id={ids[-1]}")
    nothing_yet = client.get(url, headers=HX)
    assert (
        nothing_yet.status_code == 200 and "no clusters for this challenge yet" in nothing_yet.text
    )
    compute = w.cluster(0, "Affordable compute", "Ecosystem structure", ids[:3])
    w.cluster(0, "Remuneration", "Key framework conditions", ids[3:6])
    answer = client.get(url, headers=HX)
    assert answer.status_code == 200 and "<html" not in answer.text
    assert "fits best in <strong>Affordable compute</strong>" in answer.text
    assert f'name="cluster_id" value="{compute["id"]}"' in answer.text
    assert client.get(url).text.count("<html") == 1  # without script: the whole board
    assert note(db, ids[-1]).cluster_id is None  # asking moves nothing
    moved = client.post(
        page(w, "/clustering/move"),
        data={"contribution_id": ids[-1], "cluster_id": compute["id"], "then_focus": "note"},
        headers=HX,
    )
    assert moved.status_code == 200 and note(db, ids[-1]).cluster_id == compute["id"]


# --- the assistant's categories: how sure it is, and empty when unsure ------------------------


def _suggestion_blocks(html: str) -> list[str]:
    """Each suggestion of the preview as its own piece of HTML."""
    return re.findall(
        r'<li class="suggestion" id="suggestion-\d+".*?</li>\s*(?=<li class="suggestion"|</ol>)',
        html,
        re.S,
    )


def test_the_preview_shows_the_suggested_category_and_how_sure_it_is(client: TestClient) -> None:
    w, _ids = brainstormed(client)
    response = client.get(
        page(w, f"/clustering/suggest?challenge={w.challenges[0]['id']}"), headers=HX
    )
    assert response.status_code == 200
    blocks = _suggestion_blocks(response.text)
    compute = next(b for b in blocks if "GPU compute" in b)
    # The suggested category is selected, and the line under it says how sure the tool is,
    # in words and as a number, and describes the select for screen readers.
    assert "<option selected>Key framework conditions</option>" in compute
    note = re.search(
        r'<p class="field__hint category-note category-note--(very-likely|likely)" '
        r'id="(suggestion-\d+-category)-note">.*?</p>',
        compute,
        re.S,
    )
    assert note is not None
    assert f'aria-describedby="{note.group(2)}-note"' in compute
    assert re.search(
        r"Suggested by the assistant: “Key framework conditions”, (very likely|likely) "
        r"\(confidence \d+\s?%\)",
        note.group(0),
    )
    # The confidence travels with the preview, so it is still shown after a change to it.
    assert re.search(r'name="confidence" value="0\.\d+"', compute)
    assert 'name="suggested_category" value="Key framework conditions"' in compute


def test_when_unsure_the_category_is_left_empty_and_must_be_chosen(
    client: TestClient, db: Session
) -> None:
    # Category names that say nothing about the notes: the assistant does not guess.
    w = create_workshop(client, participants=1, categories=["Pillar A", "Pillar B", "Pillar C"])
    w.phase("brainstorm")
    ids = [w.contribute(0, 0, t)["id"] for t in COPYRIGHT]
    w.phase("clustering")
    as_facilitator(w)
    response = client.get(
        page(w, f"/clustering/suggest?challenge={w.challenges[0]['id']}"), headers=HX
    )
    assert response.status_code == 200
    [block] = _suggestion_blocks(response.text)
    assert '<option value="" selected>Choose a category</option>' in block
    assert "<option selected>" not in block
    assert "The assistant is unsure which category fits" in block
    assert "category-note--unsure" in block
    # Accepting without choosing is refused, on that suggestion's category field.
    form = preview_form(
        w,
        [{"title": "Pay creators", "ids": ids, "category": ""}],
        accept="0",
        suggested_category=[""],
        confidence=["0.2"],
    )
    refused = client.post(page(w, "/clustering/suggestions/accept"), data=form, headers=HX)
    assert refused.status_code == 422
    assert "Choose a category for this cluster." in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert "The assistant is unsure which category fits (confidence 20" in refused.text
    assert count(db, Cluster) == 0
    # Once chosen, it is saved under that category.
    form["category"] = ["Pillar B"]
    accepted = client.post(page(w, "/clustering/suggestions/accept"), data=form, headers=HX)
    assert accepted.status_code == 200
    cluster = fresh(db).exec(select(Cluster)).one()
    assert cluster.category == "Pillar B"


def test_category_descriptions_guide_the_suggested_category(client: TestClient) -> None:
    w = create_workshop(client, participants=1, categories=["Pillar A", "Pillar B", "Pillar C"])
    described = {"Pillar B": "Fair pay, copyright and remuneration of artists"}
    patched = client.patch(w.url(""), json={"category_descriptions": described}, headers=w.f)
    assert patched.status_code == 200, patched.text
    w.phase("brainstorm")
    for t in COPYRIGHT:
        w.contribute(0, 0, t)
    w.phase("clustering")
    as_facilitator(w)
    response = client.get(
        page(w, f"/clustering/suggest?challenge={w.challenges[0]['id']}"), headers=HX
    )
    [block] = _suggestion_blocks(response.text)
    assert "<option selected>Pillar B</option>" in block
    assert "Suggested by the assistant: “Pillar B”" in block
