"""Refusals on the session pages: the message is shown, the typed text kept, nothing changed."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.matrix.models import Rating
from app.sessions.models import Contribution, Participant, WorkshopSession
from tests.conftest import bearer, count, fresh
from tests.sessions.test_pages import (
    HX,
    PAGE,
    PageWorkshop,
    act_as,
    cookie_name,
    create_form,
    create_through_form,
    field_value,
    headers,
    join_through_form,
    set_cookie,
    textarea,
)

MODES = pytest.mark.parametrize("hx", [False, True], ids=["plain", "htmx"])


@pytest.fixture
def workshop(client: TestClient) -> PageWorkshop:
    """A session made on /new with two participants who joined through the form."""
    made = create_through_form(client)
    join_through_form(made, "Amira")
    join_through_form(made, "Jonas")
    return made


def phase_now(db: Session) -> str:
    return fresh(db).exec(select(WorkshopSession.phase)).one()


# --- joining ---------------------------------------------------------------------------------


def test_wrong_code_shows_the_form_again_with_the_code_kept(
    client: TestClient, db: Session
) -> None:
    for url in ("/join?code=nope12", "/join/nope12"):
        response = client.get(url, headers=PAGE)
        assert response.status_code == 404
        assert "No session has this code" in response.text
        assert field_value(response.text, "code") == "nope12"
        assert 'aria-invalid="true"' in response.text
    assert client.post("/join/nope12", data={"name": "x"}, headers=PAGE).status_code == 404
    assert count(db, Participant) == 0
    assert client.get("/join", headers=PAGE).status_code == 200


@MODES
def test_too_long_name_keeps_it_and_adds_nobody(
    client: TestClient, db: Session, workshop: PageWorkshop, hx: bool
) -> None:
    workshop.nobody()
    name = "N" * 61
    response = client.post(f"/join/{workshop.code}", data={"name": name}, headers=headers(hx))
    assert response.status_code == 422
    assert "too long" in response.text and field_value(response.text, "name") == name
    assert set_cookie(response, cookie_name(workshop.code)) is None
    assert count(db, Participant) == 2


def test_a_joined_browser_goes_straight_to_the_session(
    client: TestClient, db: Session, workshop: PageWorkshop
) -> None:
    workshop.as_participant(0)
    again = client.get(f"/join/{workshop.code}", headers=PAGE, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == f"/s/{workshop.code}"
    client.post(f"/join/{workshop.code}", data={"name": "Twice"}, headers=PAGE)
    assert count(db, Participant) == 2


def test_the_facilitator_browser_is_not_turned_into_a_participant(
    client: TestClient, db: Session, workshop: PageWorkshop
) -> None:
    workshop.as_facilitator()
    page = client.get(f"/join/{workshop.code}", headers=PAGE)
    assert "signed in as the facilitator" in page.text and 'name="name"' not in page.text
    refused = client.post(f"/join/{workshop.code}", data={"name": "Me"}, headers=PAGE)
    assert refused.status_code == 409
    assert set_cookie(refused, cookie_name(workshop.code)) is None
    assert count(db, Participant) == 2
    to_dashboard = client.get(f"/s/{workshop.code}", headers=PAGE, follow_redirects=False)
    assert to_dashboard.headers["location"] == f"/s/{workshop.code}/facilitate"


def test_missing_cookie_redirects_to_join(client: TestClient, workshop: PageWorkshop) -> None:
    workshop.nobody()
    for path in ("", "/others?challenge=1", "/clusters"):
        response = client.get(f"/s/{workshop.code}{path}", headers=PAGE, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/join/{workshop.code}"
    act_as(client, workshop.code, "not-a-real-token")
    response = client.get(f"/s/{workshop.code}", headers=PAGE, follow_redirects=False)
    assert response.headers["location"] == f"/join/{workshop.code}"
    assert client.get("/s/NOPE99", headers=PAGE).status_code == 404


def test_missing_cookie_on_a_submit(
    client: TestClient, db: Session, workshop: PageWorkshop
) -> None:
    workshop.phase("brainstorm")
    workshop.nobody()
    form = {"challenge_id": "1", "text": "Kept on screen"}
    plain = client.post(
        f"/s/{workshop.code}/contributions", data=form, headers=PAGE, follow_redirects=False
    )
    assert plain.headers["location"] == f"/join/{workshop.code}"
    # htmx: no redirect (it would drop the text); a toast explains instead.
    hx = client.post(f"/s/{workshop.code}/contributions", data=form, headers=HX)
    assert hx.status_code == 401 and "no longer signed in" in hx.headers["HX-Trigger"]
    assert count(db, Contribution) == 0


# --- facilitator sign-in and permissions ------------------------------------------------------


def test_facilitator_link_exchanges_the_key_for_the_cookie(
    client: TestClient, workshop: PageWorkshop
) -> None:
    workshop.nobody()
    wrong = client.get(f"/f/{workshop.code}?key=guessed-key-123", headers=PAGE)
    assert wrong.status_code == 403 and "guessed-key-123" not in wrong.text
    assert set_cookie(wrong, cookie_name(workshop.code)) is None
    participant_key = workshop.tokens[0]
    as_key = client.get(f"/f/{workshop.code}?key={participant_key}", headers=PAGE)
    assert as_key.status_code == 403 and participant_key not in as_key.text
    assert (
        client.get(f"/f/NOPE99?key={workshop.facilitator_token}", headers=PAGE).status_code == 404
    )
    right = client.get(
        f"/f/{workshop.code}?key={workshop.facilitator_token}",
        headers=PAGE,
        follow_redirects=False,
    )
    assert right.status_code == 303
    assert right.headers["location"] == f"/s/{workshop.code}/facilitate"
    assert set_cookie(right, cookie_name(workshop.code)) == workshop.facilitator_token
    assert right.headers["cache-control"] == "no-store"


def test_facilitator_key_form(client: TestClient, workshop: PageWorkshop) -> None:
    workshop.nobody()
    assert client.get("/f", headers=PAGE).status_code == 200
    wrong = client.post("/f", data={"code": workshop.code, "key": "wrong-key-456"}, headers=PAGE)
    assert wrong.status_code == 403
    assert "does not open this session" in wrong.text and "wrong-key-456" not in wrong.text
    assert field_value(wrong.text, "code") == workshop.code
    unknown = client.post("/f", data={"code": "nope99", "key": "x"}, headers=PAGE)
    assert unknown.status_code == 404 and "No session has this code" in unknown.text
    empty = client.post("/f", data={"code": workshop.code, "key": ""}, headers=PAGE)
    assert empty.status_code == 422
    # The whole link pasted into the key field works, code included.
    link = f"http://testserver/f/{workshop.code}?key={workshop.facilitator_token}"
    signed_in = client.post(
        "/f", data={"code": "", "key": link}, headers=PAGE, follow_redirects=False
    )
    assert signed_in.status_code == 303
    assert set_cookie(signed_in, cookie_name(workshop.code)) == workshop.facilitator_token


def test_participants_and_strangers_cannot_open_facilitator_pages(
    client: TestClient, db: Session, workshop: PageWorkshop
) -> None:
    for who in ("participant", "nobody"):
        if who == "participant":
            workshop.as_participant(0)
        else:
            workshop.nobody()
        for path in ("/facilitate", "/facilitate/counts", "/projector", "/created"):
            response = client.get(f"/s/{workshop.code}{path}", headers=PAGE)
            assert response.status_code == 403, (who, path)
            assert "facilitator link" in response.text
        for path, data in (
            ("/facilitate/phase", {"phase": "report", "confirmed": "1"}),
            ("/facilitate/settings", {"title": "Taken over", "categories": "X"}),
        ):
            assert (
                client.post(f"/s/{workshop.code}{path}", data=data, headers=PAGE).status_code == 403
            )
            hx = client.post(f"/s/{workshop.code}{path}", data=data, headers=HX)
            assert hx.status_code == 403 and "showToast" in hx.headers["HX-Trigger"]
    assert phase_now(db) == "setup"
    assert fresh(db).exec(select(WorkshopSession.title)).one() != "Taken over"


# --- creating --------------------------------------------------------------------------------


@MODES
def test_create_errors_are_shown_inline_and_everything_typed_is_kept(
    client: TestClient, db: Session, hx: bool
) -> None:
    form = create_form(title="  ", **{"challenges-1-description": "Typed brief"})
    response = client.post("/new", data=form, headers=headers(hx))
    assert response.status_code == 422
    assert "The title cannot be empty." in response.text
    assert 'href="#field-title"' in response.text
    assert field_value(response.text, "challenges-0-title") == "Innovation ecosystems"
    assert textarea(response.text, "field-challenges-1-description") == "Typed brief"
    assert field_value(response.text, "place") == "Brussels"
    assert count(db, WorkshopSession) == 0

    # A block with a brief but no title: the error sits next to that block's title.
    form = create_form(**{"challenges-2-description": "A brief without a title"})
    response = client.post("/new", data=form, headers=headers(hx))
    assert response.status_code == 422
    assert 'href="#field-challenges-2-title"' in response.text
    assert 'id="field-challenges-2-title-error"' in response.text
    assert count(db, WorkshopSession) == 0

    # No challenge at all.
    empty = {
        k: ("" if k.startswith("challenges-") and "questions" not in k else v)
        for k, v in create_form().items()
    }
    response = client.post("/new", data=empty, headers=headers(hx))
    assert response.status_code == 422 and "at least one challenge" in response.text

    # Categories listed twice.
    response = client.post("/new", data=create_form(categories="Same\nsame"), headers=headers(hx))
    assert response.status_code == 422 and 'id="field-categories-error"' in response.text
    assert count(db, WorkshopSession) == 0


def test_challenge_blocks_are_added_and_removed_without_javascript(
    client: TestClient, db: Session
) -> None:
    form = create_form(action="add_challenge")
    added = client.post("/new", data=form, headers=PAGE)
    assert added.status_code == 200
    assert 'name="challenges-3-title"' in added.text
    assert field_value(added.text, "challenges-1-title") == "Skills for AI"
    assert count(db, WorkshopSession) == 0

    removed = client.post("/new", data={**create_form(), "remove": "0"}, headers=PAGE)
    assert field_value(removed.text, "challenges-0-title") == "Skills for AI"
    assert 'name="challenges-2-title"' not in removed.text

    six = create_form(action="add_challenge")
    for i in range(3, 6):
        six |= {
            f"challenges-{i}-title": f"C{i}",
            f"challenges-{i}-description": "",
            f"challenges-{i}-questions": "",
        }
    full = client.post("/new", data=six, headers=PAGE)
    assert 'name="challenges-5-title"' in full.text and 'name="challenges-6-title"' not in full.text
    assert "maximum of 6 challenges" in full.text


def test_organiser_key_is_required_when_configured(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYLAB_ORGANISER_KEY", "open-sesame")
    from app.config import get_settings

    get_settings.cache_clear()
    refused = client.post("/new", data=create_form(organiser_key="nope"), headers=PAGE)
    # The same rule as the API's: a missing or wrong key is a bad credential (401).
    assert refused.status_code == 401 and 'id="field-organiser_key-error"' in refused.text
    assert count(db, WorkshopSession) == 0
    accepted = client.post(
        "/new", data=create_form(organiser_key="open-sesame"), headers=PAGE, follow_redirects=False
    )
    assert accepted.status_code == 303
    assert count(db, WorkshopSession) == 1


# --- settings and phases ---------------------------------------------------------------------


@MODES
def test_bad_settings_keep_the_typed_values_and_change_nothing(
    client: TestClient, db: Session, workshop: PageWorkshop, hx: bool
) -> None:
    workshop.as_facilitator()
    form = {"title": "", "categories": "Players\nNew one", "show_names": "1"}
    response = client.post(
        f"/s/{workshop.code}/facilitate/settings", data=form, headers=headers(hx)
    )
    assert response.status_code == 422
    assert "The title cannot be empty." in response.text
    assert textarea(response.text, "field-categories") == "Players\nNew one"
    if hx:
        assert response.text.lstrip().startswith('<section id="dash-settings"')
    session = fresh(db).exec(select(WorkshopSession)).one()
    assert session.title == "AI in the cultural and creative industries"
    assert session.categories[0] == "AI and sector players" and session.show_names is False


def test_unknown_phase_is_refused_with_a_message(
    client: TestClient, db: Session, workshop: PageWorkshop
) -> None:
    workshop.as_facilitator()
    hx = client.post(f"/s/{workshop.code}/facilitate/phase", data={"phase": "party"}, headers=HX)
    assert hx.status_code == 422 and "Unknown phase" in hx.text
    assert hx.text.lstrip().startswith('<section id="dash-phase"')
    plain = client.post(
        f"/s/{workshop.code}/facilitate/phase", data={"phase": "party"}, headers=PAGE
    )
    assert plain.status_code == 422
    assert phase_now(db) == "setup"


def test_phase_check_asks_for_a_reload_only_when_the_phase_changed(
    client: TestClient, workshop: PageWorkshop
) -> None:
    workshop.as_participant(0)
    same = client.get(f"/s/{workshop.code}/phase?seen=setup", headers=HX)
    assert same.status_code == 204 and "HX-Refresh" not in same.headers
    workshop.phase("brainstorm")
    workshop.as_participant(0)
    changed = client.get(f"/s/{workshop.code}/phase?seen=setup", headers=HX)
    assert changed.headers["HX-Refresh"] == "true"
    page = client.get(f"/s/{workshop.code}", headers=PAGE).text
    assert f'hx-get="/s/{workshop.code}/phase?seen=brainstorm"' in page


# --- contributions ---------------------------------------------------------------------------


@MODES
def test_empty_or_too_long_contribution_keeps_the_text_and_stores_nothing(
    client: TestClient, db: Session, workshop: PageWorkshop, hx: bool
) -> None:
    workshop.phase("brainstorm")
    first, _ = workshop.challenge_ids(db)
    workshop.as_participant(0)
    too_long = "A gap <b>bold</b> " * 40
    for text, status, message in (
        ("   ", 422, "cannot be empty"),
        (too_long, 422, "too long"),
    ):
        response = client.post(
            f"/s/{workshop.code}/contributions",
            data={"challenge_id": str(first), "text": text, "client_id": "c-1"},
            headers=headers(hx),
        )
        assert response.status_code == status
        assert message in response.text
        assert textarea(response.text, "field-text") == text
        assert "<b>bold</b>" not in response.text, "escaped"
        assert field_value(response.text, "client_id") == "c-1", "a retry keeps its client_id"
        assert 'aria-invalid="true"' in response.text
    assert count(db, Contribution) == 0


@MODES
def test_contribution_outside_the_brainstorm_keeps_the_text(
    client: TestClient, db: Session, workshop: PageWorkshop, hx: bool
) -> None:
    first, _ = workshop.challenge_ids(db)
    workshop.as_participant(0)
    response = client.post(
        f"/s/{workshop.code}/contributions",
        data={"challenge_id": str(first), "text": "Written too early", "client_id": "c-2"},
        headers=headers(hx),
    )
    assert response.status_code == 409
    assert "only possible during the brainstorm phase" in response.text
    assert textarea(response.text, "field-text") == "Written too early"
    assert count(db, Contribution) == 0


def test_unknown_challenge_is_refused(
    client: TestClient, db: Session, workshop: PageWorkshop
) -> None:
    workshop.phase("brainstorm")
    workshop.as_participant(0)
    response = client.post(
        f"/s/{workshop.code}/contributions",
        data={"challenge_id": "99999", "text": "Lost"},
        headers=HX,
    )
    assert response.status_code == 404 and "showToast" in response.headers["HX-Trigger"]
    assert count(db, Contribution) == 0


@MODES
def test_edit_and_delete_own_contributions_while_the_brainstorm_is_open(
    client: TestClient, db: Session, workshop: PageWorkshop, hx: bool
) -> None:
    workshop.phase("brainstorm")
    first, _ = workshop.challenge_ids(db)
    api = client.post(
        f"/api/v1/sessions/{workshop.code}/contributions",
        json={"challenge_id": first, "text": "First version"},
        headers=bearer(workshop.tokens[0]),
    ).json()
    cid = api["id"]
    base = f"/s/{workshop.code}/contributions/{cid}"
    workshop.as_participant(0)

    form = client.get(f"{base}/edit", headers=headers(hx))
    assert textarea(form.text, f"edit-{cid}") == "First version"
    if hx:
        assert form.text.lstrip().startswith(f'<li class="note my-note" id="contribution-{cid}"')

    bad = client.post(f"{base}/edit", data={"text": ""}, headers=headers(hx))
    assert bad.status_code == 422 and "cannot be empty" in bad.text
    saved = client.post(
        f"{base}/edit", data={"text": "Second version"}, headers=headers(hx), follow_redirects=False
    )
    assert saved.status_code == (200 if hx else 303)
    assert fresh(db).get(Contribution, cid).text == "Second version"  # type: ignore[union-attr]

    # Someone else's contribution cannot be edited or deleted.
    workshop.as_participant(1)
    assert client.post(f"{base}/edit", data={"text": "Hijack"}, headers=PAGE).status_code == 403
    assert client.post(f"{base}/delete", headers=PAGE).status_code == 403

    # Closed brainstorm: the edit is refused, the typed text stays.
    workshop.phase("clustering")
    workshop.as_participant(0)
    late = client.post(f"{base}/edit", data={"text": "Too late"}, headers=headers(hx))
    assert late.status_code == 409 and "Too late" in late.text
    assert fresh(db).get(Contribution, cid).text == "Second version"  # type: ignore[union-attr]
    assert client.post(f"{base}/delete", headers=headers(hx)).status_code == 409
    assert count(db, Contribution) == 1

    workshop.phase("brainstorm")
    workshop.as_participant(0)
    deleted = client.post(f"{base}/delete", headers=headers(hx), follow_redirects=False)
    assert deleted.status_code == (200 if hx else 303)
    assert count(db, Contribution) == 0


def test_others_contributions_are_shared_only_when_the_facilitator_allows(
    client: TestClient, db: Session, workshop: PageWorkshop
) -> None:
    workshop.phase("brainstorm")
    first, _ = workshop.challenge_ids(db)
    client.post(
        f"/api/v1/sessions/{workshop.code}/contributions",
        json={"challenge_id": first, "text": "Jonas's idea"},
        headers=bearer(workshop.tokens[1]),
    )
    workshop.as_participant(0)
    shared = client.get(f"/s/{workshop.code}/others?challenge={first}", headers=HX)
    assert "Jonas&#39;s idea" in shared.text and "Jonas<" not in shared.text
    workshop.as_facilitator()
    client.post(
        f"/s/{workshop.code}/facilitate/settings",
        data={"title": "Lab", "categories": "A"},
        headers=PAGE,
    )
    workshop.as_participant(0)
    private = client.get(f"/s/{workshop.code}/others?challenge={first}", headers=HX)
    assert "Jonas&#39;s idea" not in private.text and "keeps contributions private" in private.text


# --- scoring and name ------------------------------------------------------------------------


@MODES
def test_incomplete_score_is_refused_and_keeps_the_choice(
    client: TestClient, db: Session, workshop: PageWorkshop, hx: bool
) -> None:
    workshop.phase("brainstorm")
    first, _ = workshop.challenge_ids(db)
    cid = client.post(
        f"/api/v1/sessions/{workshop.code}/clusters",
        json={"challenge_id": first, "title": "Shared testbeds", "contribution_ids": []},
        headers=bearer(workshop.facilitator_token),
    ).json()["id"]
    workshop.as_participant(0)
    url = f"/s/{workshop.code}/clusters/{cid}/rating"

    early = client.post(url, data={"relevance": "4", "policy_level": "eu"}, headers=headers(hx))
    assert early.status_code == 409 and "only possible during the scoring phase" in early.text
    assert 'value="4" checked' in early.text

    workshop.phase("scoring")
    workshop.as_participant(0)
    missing = client.post(url, data={"policy_level": "national"}, headers=headers(hx))
    assert missing.status_code == 422 and "Choose how relevant" in missing.text
    assert 'value="national" checked' in missing.text
    odd = client.post(url, data={"relevance": "4", "policy_level": "moon"}, headers=headers(hx))
    assert odd.status_code == 422 and "Choose the policy level" in odd.text
    assert count(db, Rating) == 0

    workshop.as_facilitator()
    refused = client.post(url, data={"relevance": "4", "policy_level": "eu"}, headers=HX)
    assert refused.status_code == 403
    assert count(db, Rating) == 0


@MODES
def test_change_display_name(
    client: TestClient, db: Session, workshop: PageWorkshop, hx: bool
) -> None:
    workshop.as_participant(0)
    url = f"/s/{workshop.code}/name"
    too_long = client.post(url, data={"name": "x" * 61}, headers=headers(hx))
    assert too_long.status_code == 422 and field_value(too_long.text, "name") == "x" * 61
    assert fresh(db).exec(select(Participant.name).order_by(Participant.id)).first() == "Amira"
    saved = client.post(url, data={"name": "Amira B."}, headers=headers(hx), follow_redirects=False)
    assert saved.status_code == (200 if hx else 303)
    if hx:
        assert 'id="participant-you" href="#your-name" hx-swap-oob="true"' in saved.text
    assert fresh(db).exec(select(Participant.name).order_by(Participant.id)).first() == "Amira B."


def test_a_free_text_date_survives_saving_the_settings(
    client: TestClient, db: Session, workshop: PageWorkshop
) -> None:
    workshop.as_facilitator()
    client.patch(
        f"/api/v1/sessions/{workshop.code}",
        json={"lab_date": "14 May 2025, morning"},
        headers=bearer(workshop.facilitator_token),
    )
    page = client.get(f"/s/{workshop.code}/facilitate", headers=PAGE).text
    assert field_value(page, "lab_date") == "14 May 2025, morning"
    assert re.search(r'<input id="field-lab_date"[^>]*type="text"', page)


def test_add_a_challenge_block_with_htmx_returns_the_form_only(client: TestClient) -> None:
    response = client.post("/new", data=create_form(action="add_challenge"), headers=HX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<form id="new-session"')
    assert 'name="challenges-3-title"' in response.text


def test_a_facilitator_link_from_another_site_asks_before_signing_in(
    client: TestClient, workshop: PageWorkshop
) -> None:
    workshop.nobody()
    link = f"/f/{workshop.code}?key={workshop.facilitator_token}"
    # Another site sent the browser here: nothing is signed in until the person confirms.
    asked = client.get(link, headers={**PAGE, "Sec-Fetch-Site": "cross-site"})
    assert asked.status_code == 200 and "Sign in as facilitator of" in asked.text
    assert set_cookie(asked, cookie_name(workshop.code)) is None
    assert asked.headers["cache-control"] == "no-store"
    confirmed = client.post(
        f"/f/{workshop.code}",
        data={"key": workshop.facilitator_token},
        headers={**PAGE, "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert confirmed.status_code == 303
    assert set_cookie(confirmed, cookie_name(workshop.code)) == workshop.facilitator_token
    # A wrong key is refused at the confirmation as well.
    wrong = client.post(
        f"/f/{workshop.code}",
        data={"key": "guessed"},
        headers={**PAGE, "Sec-Fetch-Site": "same-origin"},
    )
    assert wrong.status_code == 403
    # Typed or pasted by the person (no other site involved): straight in.
    direct = client.get(link, headers={**PAGE, "Sec-Fetch-Site": "none"}, follow_redirects=False)
    assert direct.status_code == 303
