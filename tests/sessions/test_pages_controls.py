"""The facilitator's controls against abuse, through the pages: the participants panel with
Remove, closing the session to new joins, removing contributions in bulk, category
descriptions in the settings; and the confirmation of a skip over a phase."""

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.matrix.models import Rating
from app.sessions.models import Contribution, Participant, WorkshopSession
from tests.conftest import Workshop, count, create_workshop, fresh
from tests.sessions.test_pages import HX, PAGE, act_as, headers


def as_facilitator(w: Workshop) -> None:
    act_as(w.client, w.code, w.facilitator_token)


def as_participant(w: Workshop, index: int) -> None:
    act_as(w.client, w.code, w.participants[index]["participant_token"])


def session_row(db: Session, w: Workshop) -> WorkshopSession:
    fresh(db)
    return db.exec(select(WorkshopSession).where(WorkshopSession.code == w.code)).one()


@pytest.fixture
def busy(client: TestClient) -> Workshop:
    """Two named participants and one without a name; contributions from each, and a
    cluster scored by the first two."""
    w = create_workshop(client, participants=2)
    w.join(None)
    w.phase("brainstorm")
    w.contribute(0, 0, "Amira's first gap")
    w.contribute(0, 1, "Amira's second gap")
    w.contribute(1, 0, "Ben's gap")
    w.contribute(2, 0, "A puppet's note")
    w.contribute(2, 1, "Another puppet note")
    w.contribute(2, 1, "A third puppet note")
    w.phase("clustering")
    contributions = client.get(w.url("/contributions"), headers=w.f).json()
    cluster = w.cluster(0, "Shared spaces", w.categories[0], [contributions[0]["id"]])
    w.phase("scoring")
    w.rate(0, cluster["id"], 4, "eu")
    w.rate(2, cluster["id"], 2, "national")
    return w


def people_rows(page: str) -> dict[str, tuple[int, int]]:
    """Participant label → (contributions, scores) as the dashboard's panel lists them."""
    rows = re.findall(
        r'<li class="people-list__item" id="person-\d+">.*?class="people-list__name">([^<]+)'
        r'.*?class="people-list__counts">(\d+) contributions? · (\d+) scores?</span>',
        page,
        re.S,
    )
    return {html.unescape(label).strip(): (int(c), int(r)) for label, c, r in rows}


def test_the_dashboard_lists_participants_with_what_they_did(
    client: TestClient, busy: Workshop
) -> None:
    as_facilitator(busy)
    page = client.get(f"/s/{busy.code}/facilitate", headers=PAGE).text
    assert people_rows(page) == {
        "Person 1": (2, 1),
        "Person 2": (1, 0),
        "Participant 3": (3, 1),
    }
    assert "(no name given)" in page
    # Each Remove says, before anything happens, what goes with the person.
    third = busy.participants[2]["id"]
    form = re.search(rf'<form[^>]*participants/{third}/remove"[^>]*>', page, re.S)
    assert form, "a Remove form per participant"
    warning = html.unescape(re.search(r'data-confirm="([^"]*)"', form.group(0)).group(1))  # type: ignore[union-attr]
    assert "Their 3 contributions are removed." in warning
    assert "Their 1 score is removed." in warning
    assert 'hx-vals=\'{"confirmed": "1"}\'' in form.group(0)
    # The counts region that the live stream and the poll redraw carries the panel too.
    counts = client.get(f"/s/{busy.code}/facilitate/counts", headers=HX).text
    assert counts.lstrip().startswith('<div id="dash-counts"')
    assert people_rows(counts)["Participant 3"] == (3, 1)


def test_an_empty_session_says_nobody_has_joined(client: TestClient) -> None:
    w = create_workshop(client)
    as_facilitator(w)
    page = client.get(f"/s/{w.code}/facilitate", headers=PAGE).text
    assert "Nobody has joined yet." in page
    assert 'id="dash-people"' in page


@pytest.mark.parametrize("hx", [False, True], ids=["plain", "htmx"])
def test_removing_a_participant_takes_their_contributions_and_scores(
    client: TestClient, db: Session, busy: Workshop, hx: bool
) -> None:
    puppet = busy.participants[2]
    url = f"/s/{busy.code}/facilitate/participants/{puppet['id']}/remove"
    as_facilitator(busy)
    if hx:
        done = client.post(url, data={"confirmed": "1"}, headers=HX)
        assert done.status_code == 200
        assert "Participant 3 was removed, with 3 contributions and their scores." in (
            html.unescape(done.headers["HX-Trigger"].encode().decode("unicode_escape"))
        )
        assert done.text.lstrip().startswith('<div id="dash-counts"')
        assert "Participant 3" not in people_rows(done.text)
    else:
        # Without JavaScript the first press asks on a page; nothing is removed yet.
        asked = client.post(url, headers=PAGE, follow_redirects=False)
        assert asked.status_code == 303 and asked.headers["location"] == url
        fresh(db)
        assert db.get(Participant, puppet["id"]) is not None
        confirm = client.get(url, headers=PAGE)
        assert "Remove Participant 3 and everything they wrote and scored?" in html.unescape(
            confirm.text
        )
        assert "Their 3 contributions are removed." in confirm.text
        assert 'name="confirmed" value="1"' in confirm.text
        done = client.post(url, data={"confirmed": "1"}, headers=PAGE, follow_redirects=False)
        assert done.status_code == 303
        after = client.get(done.headers["location"], headers=PAGE).text
        assert "The participant was removed, with 3 contributions and their scores." in after
        assert "Participant 3" not in people_rows(after)
    fresh(db)
    assert db.get(Participant, puppet["id"]) is None
    assert count(db, Contribution) == 3
    assert count(db, Rating) == 1
    # Their token stops working.
    gone = client.get(
        busy.url(), headers={"Authorization": f"Bearer {puppet['participant_token']}"}
    )
    assert gone.status_code == 401


def test_a_refused_removal_changes_nothing(client: TestClient, db: Session, busy: Workshop) -> None:
    other = create_workshop(client, participants=1)
    stranger = other.participants[0]["id"]
    as_facilitator(busy)
    for hx in (False, True):
        refused = client.post(
            f"/s/{busy.code}/facilitate/participants/{stranger}/remove",
            data={"confirmed": "1"},
            headers=headers(hx),
        )
        assert refused.status_code == 404
    # A bulk removal with one contribution of another session removes none.
    theirs = other.client.post(
        other.url("/contributions"),
        json={"challenge_id": other.challenges[0]["id"], "text": "elsewhere"},
        headers=other.f,
    )
    assert theirs.status_code == 409  # the other session is not in the brainstorm
    fresh(db)
    ours = [c.id for c in db.exec(select(Contribution).order_by(Contribution.id)).all()]
    as_facilitator(busy)
    refused = client.post(
        f"/s/{busy.code}/facilitate/brainstorm/remove",
        data={"contribution_ids": [str(ours[0]), "999999"], "confirmed": "1"},
        headers=HX,
    )
    assert refused.status_code == 404
    bad = client.post(
        f"/s/{busy.code}/facilitate/brainstorm/remove",
        data={"contribution_ids": ["x1"], "confirmed": "1"},
        headers=HX,
    )
    assert bad.status_code == 422
    fresh(db)
    assert count(db, Participant) == 4
    assert count(db, Contribution) == 6
    assert count(db, Rating) == 2


def test_participants_cannot_use_the_facilitator_controls(
    client: TestClient, db: Session, busy: Workshop
) -> None:
    first = busy.participants[0]["id"]
    fresh(db)
    some = db.exec(select(Contribution.id)).first()
    attempts = [
        (f"/s/{busy.code}/facilitate/participants/{first}/remove", {"confirmed": "1"}),
        (f"/s/{busy.code}/facilitate/joins", {"joins_open": "0"}),
        (
            f"/s/{busy.code}/facilitate/brainstorm/remove",
            {"contribution_ids": str(some), "confirmed": "1"},
        ),
    ]
    for who in (1, None):
        if who is None:
            act_as(client, busy.code, None)
        else:
            as_participant(busy, who)
        for url, data in attempts:
            for hx in (False, True):
                answer = client.post(url, data=data, headers=headers(hx), follow_redirects=False)
                assert answer.status_code == 403, (url, who, answer.status_code)
        assert (
            client.get(
                f"/s/{busy.code}/facilitate/participants/{first}/remove", headers=PAGE
            ).status_code
            == 403
        )
    fresh(db)
    assert count(db, Participant) == 3  # nobody removed
    assert count(db, Contribution) == 6
    assert session_row(db, busy).joins_open is True


def test_the_controls_refuse_a_cross_site_post(
    client: TestClient, db: Session, busy: Workshop
) -> None:
    as_facilitator(busy)
    first = busy.participants[0]["id"]
    fresh(db)
    some = db.exec(select(Contribution.id)).first()
    forged = [
        (f"/s/{busy.code}/facilitate/participants/{first}/remove", {"confirmed": "1"}),
        (f"/s/{busy.code}/facilitate/joins", {"joins_open": "0"}),
        (
            f"/s/{busy.code}/facilitate/brainstorm/remove",
            {"contribution_ids": str(some), "confirmed": "1"},
        ),
    ]
    for url, data in forged:
        for origin in ({"Origin": "https://evil.example"}, {"Origin": "null"}):
            answer = client.post(url, data=data, headers={**PAGE, **origin})
            assert answer.status_code == 403, (url, origin)
        sneaky = client.post(url, data=data, headers={**PAGE, "Sec-Fetch-Site": "cross-site"})
        assert sneaky.status_code == 403
    fresh(db)
    assert count(db, Participant) == 3
    assert count(db, Contribution) == 6
    assert session_row(db, busy).joins_open is True


@pytest.mark.parametrize("hx", [False, True], ids=["plain", "htmx"])
def test_closing_and_opening_the_session_to_new_joins(
    client: TestClient, db: Session, hx: bool
) -> None:
    w = create_workshop(client, participants=1)
    as_facilitator(w)
    page = client.get(f"/s/{w.code}/facilitate", headers=PAGE).text
    assert "Open to new joins." in page and ">Close to new joins<" in page
    closed = client.post(
        f"/s/{w.code}/facilitate/joins",
        data={"joins_open": "0"},
        headers=headers(hx),
        follow_redirects=False,
    )
    if hx:
        assert closed.status_code == 200
        assert closed.text.lstrip().startswith('<section id="dash-join"')
        assert "Closed to new joins." in closed.text and ">Open to new joins<" in closed.text
        assert "closed to new participants" in closed.headers["HX-Trigger"]
    else:
        assert closed.status_code == 303
        assert closed.headers["location"] == f"/s/{w.code}/facilitate#dash-join"
        assert "Closed to new joins." in client.get(closed.headers["location"], headers=PAGE).text
    assert session_row(db, w).joins_open is False
    # Nobody new gets in, through the join form or the API; who is in stays in.
    act_as(client, w.code, None)
    refused = client.post(f"/join/{w.code}", data={"name": "Late"}, headers=PAGE)
    assert refused.status_code == 403
    assert client.post(w.url("/participants"), json={}).status_code == 403
    assert client.get(w.url(), headers=w.p(0)).status_code == 200
    as_facilitator(w)
    opened = client.post(
        f"/s/{w.code}/facilitate/joins",
        data={"joins_open": "1"},
        headers=headers(hx),
        follow_redirects=False,
    )
    assert opened.status_code == (200 if hx else 303)
    assert session_row(db, w).joins_open is True
    assert client.post(w.url("/participants"), json={}).status_code == 201


def selected(ids: list[int], confirmed: bool) -> dict[str, object]:
    data: dict[str, object] = {"contribution_ids": [str(i) for i in ids]}
    if confirmed:
        data["confirmed"] = "1"
    return data


@pytest.mark.parametrize("hx", [False, True], ids=["plain", "htmx"])
def test_bulk_removal_asks_then_removes_all_the_selected(
    client: TestClient, db: Session, hx: bool
) -> None:
    w = create_workshop(client, participants=2)
    w.phase("brainstorm")
    notes = [w.contribute(i % 2, i % 2, f"Note number {i}") for i in range(7)]
    ids = [n["id"] for n in notes[:5]]
    as_facilitator(w)
    board = client.get(f"/s/{w.code}/facilitate/brainstorm", headers=PAGE).text
    assert board.count('form="bulk-remove"') == 7 + 1  # seven checkboxes and the button
    assert 'id="bulk-remove"' in board and 'data-bulk-all="' in board
    url = f"/s/{w.code}/facilitate/brainstorm/remove"
    asked = client.post(url, data=selected(ids, False), headers=headers(hx))
    assert asked.status_code == 200
    assert "Remove 5 contributions?" in asked.text
    assert "Note number 0" in asked.text and "Note number 5" not in asked.text
    assert asked.text.count('name="contribution_ids"') == 5
    if hx:
        assert asked.text.lstrip().startswith('<div id="bulk-bar"')
    else:
        assert "<html" in asked.text
    fresh(db)
    assert count(db, Contribution) == 7, "asking removes nothing"
    done = client.post(url, data=selected(ids, True), headers=headers(hx), follow_redirects=False)
    if hx:
        assert done.status_code == 200
        assert "5 contributions removed." in done.headers["HX-Trigger"]
        assert done.text.lstrip().startswith('<div id="brainstorm-board"')
        assert 'id="bulk-bar" class="bulk-bar no-print" hx-swap-oob="true"' in done.text
        assert "Note number 6" in done.text and "Note number 0" not in done.text
    else:
        assert done.status_code == 303
        assert done.headers["location"] == f"/s/{w.code}/facilitate/brainstorm"
    fresh(db)
    assert sorted(c.text for c in db.exec(select(Contribution)).all()) == [
        "Note number 5",
        "Note number 6",
    ]


def test_bulk_removal_with_nothing_selected_says_so(client: TestClient, db: Session) -> None:
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    w.contribute(0, 0, "Keep me")
    as_facilitator(w)
    url = f"/s/{w.code}/facilitate/brainstorm/remove"
    answer = client.post(url, data={}, headers=HX)
    assert answer.status_code == 200 and "Nothing is selected" in answer.text
    plain = client.post(url, data={}, headers=PAGE, follow_redirects=False)
    assert plain.status_code == 303
    cancel = client.get(url, headers=HX)
    assert cancel.text.lstrip().startswith('<div id="bulk-bar"')
    fresh(db)
    assert count(db, Contribution) == 1


def test_a_participant_page_loses_removed_contributions(client: TestClient, db: Session) -> None:
    w = create_workshop(client, participants=2)
    w.phase("brainstorm")
    mine = w.contribute(0, 0, "Mine to lose")
    w.contribute(1, 0, "Someone else's")
    as_facilitator(w)
    client.post(
        f"/s/{w.code}/facilitate/brainstorm/remove",
        data=selected([mine["id"]], True),
        headers=HX,
    )
    as_participant(w, 0)
    page = client.get(f"/s/{w.code}", headers=PAGE).text
    assert "Mine to lose" not in page
    assert "Someone else&#39;s" in page or "Someone else's" in page


@pytest.mark.parametrize("hx", [False, True], ids=["plain", "htmx"])
def test_category_descriptions_are_saved_with_the_settings(
    client: TestClient, db: Session, hx: bool
) -> None:
    w = create_workshop(client, categories=["Players", "Ecosystem", "Framework"])
    as_facilitator(w)
    page = client.get(f"/s/{w.code}/facilitate", headers=PAGE).text
    assert page.count('name="category_description-') == 3
    assert '<label class="field__label" for="category-description-1">Ecosystem</label>' in page
    form = {
        "title": "A lab",
        "categories": "Players\nNetworks\nFramework",  # the second renamed at the same time
        "category_description-0": "  The actors   themselves ",
        "category_description-1": "Intermediaries and spaces",
        "category_description-2": "",
        "place": "",
        "organiser": "",
        "lab_date": "",
    }
    saved = client.post(
        f"/s/{w.code}/facilitate/settings", data=form, headers=headers(hx), follow_redirects=False
    )
    assert saved.status_code == (200 if hx else 303)
    session = session_row(db, w)
    assert session.category_descriptions == {
        "Players": "The actors themselves",
        "Networks": "Intermediaries and spaces",
    }
    shown = saved.text if hx else client.get(saved.headers["location"], headers=PAGE).text
    assert 'value="Intermediaries and spaces"' in shown
    # Too long: the form comes back with the message and what was typed; nothing saved.
    too_long = client.post(
        f"/s/{w.code}/facilitate/settings",
        data={**form, "title": "Renamed", "category_description-2": "x" * 201},
        headers=headers(hx),
    )
    assert too_long.status_code == 422
    assert 'id="category-descriptions-error"' in too_long.text
    assert "x" * 201 in too_long.text
    assert session_row(db, w).title == "A lab"
    # A form without the description fields (an older page) leaves them as they are.
    form_without = {k: v for k, v in form.items() if not k.startswith("category_description")}
    client.post(f"/s/{w.code}/facilitate/settings", data=form_without, headers=HX)
    assert session_row(db, w).category_descriptions["Players"] == "The actors themselves"


def test_skipping_over_a_phase_asks_first(client: TestClient, db: Session) -> None:
    w = create_workshop(client)
    w.phase("brainstorm")
    as_facilitator(w)
    page = client.get(f"/s/{w.code}/facilitate", headers=PAGE).text
    skip = re.search(r'<button[^>]*value="report"[^>]*>', page, re.S)
    assert skip and "data-confirm=" in skip.group(0)
    assert "Skip to Report?" in skip.group(0)
    following = re.search(r'<button[^>]*value="clustering"[^>]*>', page, re.S)
    assert following and "data-confirm" not in following.group(0), "the next phase just goes"
    asked = client.post(
        f"/s/{w.code}/facilitate/phase",
        data={"phase": "report"},
        headers=PAGE,
        follow_redirects=False,
    )
    assert asked.headers["location"] == f"/s/{w.code}/facilitate/phase?to=report"
    assert session_row(db, w).phase == "brainstorm"
    confirm = client.get(asked.headers["location"], headers=PAGE).text
    assert "Skip to the Report phase?" in confirm
    assert 'name="confirmed" value="1"' in confirm
    nxt = client.post(
        f"/s/{w.code}/facilitate/phase",
        data={"phase": "clustering"},
        headers=PAGE,
        follow_redirects=False,
    )
    assert nxt.headers["location"] == f"/s/{w.code}/facilitate"
    assert session_row(db, w).phase == "clustering"
