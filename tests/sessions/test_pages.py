"""The whole workshop through the HTML pages, as plain forms and as htmx requests."""

import html
import re
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, select

from app.clustering.models import Cluster
from app.matrix.models import Rating
from app.sessions.models import Contribution, Participant, WorkshopSession
from tests.conftest import Workshop, bearer, count, create_workshop, fresh

PAGE = {"Accept": "text/html"}
HX = {"Accept": "text/html", "HX-Request": "true"}


def headers(hx: bool) -> dict[str, str]:
    """Request headers of a browser navigating (or of htmx when `hx`)."""
    return HX if hx else PAGE


def cookie_name(code: str) -> str:
    return f"policylab_{code}"


def act_as(client: TestClient, code: str, token: str | None) -> None:
    """Make the test client's cookie jar hold exactly this person's cookie."""
    client.cookies.clear()
    if token:
        client.cookies.set(cookie_name(code), token)


def set_cookie(response: Response, name: str) -> str | None:
    """The value a response sets for cookie `name`."""
    for header in response.headers.get_list("set-cookie"):
        key, _, rest = header.partition("=")
        if key == name:
            return rest.split(";", 1)[0]
    return None


def redirect_target(response: Response, hx: bool) -> str:
    """Where a successful form post sends the browser (303 or HX-Redirect)."""
    if hx:
        assert response.status_code == 200, response.text
        return response.headers["HX-Redirect"]
    assert response.status_code == 303, response.text
    return response.headers["location"]


def field_value(page: str, name: str) -> str:
    """The value of an input named `name` in `page`."""
    match = re.search(rf'name="{re.escape(name)}"[^>]*?value="([^"]*)"', page)
    assert match, f"no input {name}"
    return html.unescape(match.group(1))


def textarea(page: str, field_id: str) -> str:
    """The text inside the textarea with this id."""
    match = re.search(
        rf'<textarea[^>]*id="{re.escape(field_id)}"[^>]*>(.*?)</textarea>', page, re.S
    )
    assert match, f"no textarea {field_id}"
    return html.unescape(match.group(1))


def create_form(**overrides: str) -> dict[str, str]:
    """A filled-in create form with two challenges and an empty third block."""
    data = {
        "title": "AI in the cultural and creative industries",
        "place": "Brussels",
        "organiser": "EU project team",
        "lab_date": "2025-05-14",
        "challenges-0-title": "Innovation ecosystems",
        "challenges-0-description": "How can organisations work together?",
        "challenges-0-questions": "Which gaps stand in the way?\nWhat could be done?",
        "challenges-1-title": "Skills for AI",
        "challenges-1-description": "",
        "challenges-1-questions": "Which skills are missing?",
        "challenges-2-title": "",
        "challenges-2-description": "",
        "challenges-2-questions": "Which gaps stand in the way?",
        "categories": "AI and sector players\nEcosystem structure\nKey framework conditions",
        "show_contributions": "1",
        "action": "create",
    }
    data.update(overrides)
    return data


@dataclass
class PageWorkshop:
    """A session created and joined through the pages."""

    client: TestClient
    code: str
    facilitator_token: str
    tokens: list[str] = field(default_factory=list)

    def as_facilitator(self) -> None:
        act_as(self.client, self.code, self.facilitator_token)

    def as_participant(self, index: int) -> None:
        act_as(self.client, self.code, self.tokens[index])

    def nobody(self) -> None:
        act_as(self.client, self.code, None)

    def phase(self, phase: str, *, hx: bool = False) -> Response:
        self.as_facilitator()
        return self.client.post(
            f"/s/{self.code}/facilitate/phase",
            data={"phase": phase, "confirmed": "1"},
            headers=headers(hx),
            follow_redirects=False,
        )

    def challenge_ids(self, db: Session) -> list[int]:
        from app.sessions.models import Challenge

        fresh(db)
        session = db.exec(select(WorkshopSession).where(WorkshopSession.code == self.code)).one()
        rows = db.exec(
            select(Challenge).where(Challenge.session_id == session.id).order_by(Challenge.position)
        )
        return [c.id for c in rows]  # type: ignore[misc]

    def page(self, index: int, path: str = "", **kwargs: object) -> Response:
        self.as_participant(index)
        return self.client.get(f"/s/{self.code}{path}", headers=PAGE, **kwargs)  # type: ignore[arg-type]


def create_through_form(client: TestClient, *, hx: bool = False, **overrides: str) -> PageWorkshop:
    """Create a session with the /new form; the response signs the creator in."""
    client.cookies.clear()
    response = client.post(
        "/new", data=create_form(**overrides), headers=headers(hx), follow_redirects=False
    )
    target = redirect_target(response, hx)
    code = re.fullmatch(r"/s/([A-Z0-9]+)/created", target).group(1)  # type: ignore[union-attr]
    token = set_cookie(response, cookie_name(code))
    assert token
    return PageWorkshop(client, code, token)


def join_through_form(workshop: PageWorkshop, name: str, *, hx: bool = False) -> str:
    """Join with the join form; returns the participant's cookie token."""
    workshop.nobody()
    response = workshop.client.post(
        f"/join/{workshop.code}", data={"name": name}, headers=headers(hx), follow_redirects=False
    )
    assert redirect_target(response, hx) == f"/s/{workshop.code}"
    token = set_cookie(response, cookie_name(workshop.code))
    assert token
    workshop.tokens.append(token)
    return token


@pytest.mark.parametrize("hx", [False, True], ids=["plain", "htmx"])
def test_whole_workshop_through_the_pages(client: TestClient, db: Session, hx: bool) -> None:
    # The facilitator creates the session on /new (the empty third block is ignored).
    workshop = create_through_form(client, hx=hx)
    # The browser now holds the facilitator cookie and the one-time marker.
    created = client.get(f"/s/{workshop.code}/created", headers=PAGE)
    assert created.status_code == 200
    assert f"/f/{workshop.code}?key={workshop.facilitator_token}" in created.text
    assert created.headers["cache-control"] == "no-store"
    assert (
        workshop.facilitator_token
        not in client.get(f"/s/{workshop.code}/created", headers=PAGE).text
    ), "the facilitator link is shown once"
    fresh(db)
    session = db.exec(select(WorkshopSession).where(WorkshopSession.code == workshop.code)).one()
    assert session.facilitator_token_hash != workshop.facilitator_token
    assert (session.place, session.lab_date, session.show_contributions, session.show_names) == (
        "Brussels",
        "2025-05-14",
        True,
        False,
    )
    first, second = workshop.challenge_ids(db)

    # Three participants join from the landing form's code (any case) and the join form.
    workshop.nobody()
    found = client.get(f"/join?code={workshop.code.lower()}", headers=PAGE, follow_redirects=False)
    assert found.headers["location"] == f"/join/{workshop.code}"
    for name in ("Amira", "Jonas", ""):
        join_through_form(workshop, name, hx=hx)
    assert count(db, Participant) == 3
    waiting = workshop.page(0)
    assert "Waiting for the facilitator" in waiting.text
    assert "Innovation ecosystems" in waiting.text and "Skills for AI" in waiting.text

    # The dashboard opens the brainstorm.
    response = workshop.phase("brainstorm", hx=hx)
    if hx:
        assert response.status_code == 200 and 'id="dash-phase"' in response.text
        assert "<html" not in response.text
    else:
        assert response.headers["location"] == f"/s/{workshop.code}/facilitate"

    # Each participant sends contributions one at a time; the form comes back empty with a
    # fresh client_id, and a retried submit with the same client_id is stored once.
    texts = {
        0: ["Small studios cannot afford compute", "No shared testbed for artists"],
        1: ["Funding calls are too complex", "No shared testbed for artists and developers"],
        2: ["Innovation vouchers exclude cultural organisations"],
    }
    for who, items in texts.items():
        for text in items:
            page = workshop.page(who, f"?challenge={first}").text
            client_id = field_value(page, "client_id")
            workshop.as_participant(who)
            form = {"challenge_id": str(first), "text": text, "client_id": client_id}
            sent = client.post(
                f"/s/{workshop.code}/contributions",
                data=form,
                headers=headers(hx),
                follow_redirects=False,
            )
            if hx:
                assert sent.status_code == 200
                assert textarea(sent.text, "field-text") == ""
                assert field_value(sent.text, "client_id") != client_id
                assert text in sent.text and "HX-Trigger" not in sent.headers, "no toast"
            else:
                assert sent.status_code == 303
                assert sent.headers["location"] == f"/s/{workshop.code}?challenge={first}&sent=1"
            retried = client.post(
                f"/s/{workshop.code}/contributions",
                data=form,
                headers=headers(hx),
                follow_redirects=False,
            )
            assert retried.status_code in (200, 303)
    assert count(db, Contribution) == 5

    mine = workshop.page(0, f"?challenge={first}").text
    assert 'id="sent-count">2 sent<' in mine
    assert "Funding calls are too complex" in mine, "others' contributions are shared"
    assert "Jonas" not in mine.split('id="your-name"')[0], "no author names"

    # Clustering: the board is another page; clusters come from the JSON API here.
    assert workshop.phase("clustering", hx=hx).status_code in (200, 303)
    ids = [c.id for c in fresh(db).exec(select(Contribution).order_by(Contribution.id))]
    api = bearer(workshop.facilitator_token)
    for title, category, members in (
        ("Shared testbeds and compute", "Ecosystem structure", ids[:2] + ids[3:4]),
        ("Simpler funding", "Key framework conditions", ids[2:3] + ids[4:]),
    ):
        answer = client.post(
            f"/api/v1/sessions/{workshop.code}/clusters",
            json={
                "challenge_id": first,
                "title": title,
                "category": category,
                "contribution_ids": members,
            },
            headers=api,
        )
        assert answer.status_code == 201, answer.text
    forming = workshop.page(1).text
    assert "The facilitator is grouping your ideas" in forming
    assert "Shared testbeds and compute" in forming and "3 contributions" in forming

    # Scoring through each participant's forms.
    assert workshop.phase("scoring", hx=hx).status_code in (200, 303)
    clusters = {c.title: c.id for c in fresh(db).exec(select(Cluster))}
    scores = {
        "Shared testbeds and compute": [(5, "eu"), (4, "eu"), (5, "national")],
        "Simpler funding": [(2, "national"), (3, "national"), (2, "local_regional")],
    }
    for title, per_person in scores.items():
        for who, (relevance, level) in enumerate(per_person):
            workshop.as_participant(who)
            saved = client.post(
                f"/s/{workshop.code}/clusters/{clusters[title]}/rating",
                data={"relevance": str(relevance), "policy_level": level},
                headers=headers(hx),
                follow_redirects=False,
            )
            if hx:
                assert saved.status_code == 200
                assert "Saved</span>" in saved.text and 'hx-swap-oob="true"' in saved.text
            else:
                assert saved.status_code == 303
    assert count(db, Rating) == 6
    # Everything scored: the page opens on the summary of this person's scores.
    progress = workshop.page(2).text
    assert "2 of 2 scored" in progress and "All scored" in progress
    assert 'id="score-summary"' in progress and "2 (Low)" in progress

    # A score can change while scoring is open: still one rating per person and cluster.
    workshop.as_participant(2)
    client.post(
        f"/s/{workshop.code}/clusters/{clusters['Simpler funding']}/rating",
        data={"relevance": "3", "policy_level": "national"},
        headers=headers(hx),
    )
    assert count(db, Rating) == 6

    # The report phase shows the ranking per challenge, read-only.
    assert workshop.phase("report", hx=hx).status_code in (200, 303)
    report = workshop.page(0).text
    table = report.split('id="results-' + str(first) + '"')[1]
    assert table.index("Shared testbeds and compute") < table.index("Simpler funding")
    assert "4.7" in table and "2.7" in table
    assert "EU" in table and "National" in table
    assert "No proposed solutions for this challenge" in report, f"challenge {second} is empty"
    assert "<form" not in report.split('id="phase-content"')[1].split('id="your-name"')[0]


def test_participant_page_fragment_for_htmx(client: TestClient, db: Session) -> None:
    workshop = create_through_form(client)
    join_through_form(workshop, "Amira")
    workshop.phase("brainstorm")
    first, second = workshop.challenge_ids(db)
    workshop.as_participant(0)
    full = client.get(f"/s/{workshop.code}?challenge={second}", headers=PAGE)
    fragment = client.get(f"/s/{workshop.code}?challenge={second}", headers=HX)
    assert full.text.startswith("<!doctype html>")
    assert fragment.text.lstrip().startswith('<div id="phase-content"')
    assert 'aria-current="page"' in fragment.text
    assert f'name="challenge_id" value="{second}"' in fragment.text
    assert "HX-Request" in fragment.headers["vary"].split(", ")


def test_dashboard_shows_counts_join_details_and_settings(client: TestClient, db: Session) -> None:
    workshop = create_through_form(client)
    join_through_form(workshop, "Amira")
    workshop.as_facilitator()
    page = client.get(f"/s/{workshop.code}/facilitate", headers=PAGE)
    assert page.status_code == 200
    text = page.text
    assert "<svg" in text and 'role="img"' in text, "inline QR code"
    assert f"http://testserver/join/{workshop.code}" in text
    assert f'href="/s/{workshop.code}/projector" target="_blank"' in text
    assert 'aria-current="page">Dashboard' in text
    assert workshop.facilitator_token not in text
    counts = client.get(f"/s/{workshop.code}/facilitate/counts", headers=HX)
    assert counts.text.lstrip().startswith('<div id="dash-counts"')
    assert (
        '<span class="stat__value">1</span> <span class="stat__label">participant<' in counts.text
    )

    # Settings: saved through the form, with and without htmx.
    form = {
        "title": "Renamed lab",
        "categories": "Players\nEcosystem\nFramework",
        "show_names": "1",
        "place": "Ghent",
        "organiser": "",
        "lab_date": "",
    }
    saved = client.post(f"/s/{workshop.code}/facilitate/settings", data=form, headers=HX)
    assert saved.status_code == 200 and "Settings saved." in saved.text
    assert 'id="session-title" hx-swap-oob="true">Renamed lab' in saved.text
    fresh(db)
    session = db.exec(select(WorkshopSession).where(WorkshopSession.code == workshop.code)).one()
    assert session.title == "Renamed lab"
    assert session.categories == ["Players", "Ecosystem", "Framework"]
    assert (session.show_contributions, session.show_names, session.place) == (
        False,
        True,
        "Ghent",
    )
    plain = client.post(
        f"/s/{workshop.code}/facilitate/settings",
        data={**form, "title": "Again", "show_contributions": "1"},
        headers=PAGE,
        follow_redirects=False,
    )
    assert plain.status_code == 303
    assert "Settings saved." in client.get(plain.headers["location"], headers=PAGE).text


def test_going_back_asks_for_confirmation_without_javascript(
    client: TestClient, db: Session
) -> None:
    workshop = create_through_form(client)
    workshop.phase("clustering")
    workshop.as_facilitator()
    asked = client.post(
        f"/s/{workshop.code}/facilitate/phase",
        data={"phase": "brainstorm"},
        headers=PAGE,
        follow_redirects=False,
    )
    assert asked.headers["location"] == f"/s/{workshop.code}/facilitate/phase?to=brainstorm"
    fresh(db)
    assert db.exec(select(WorkshopSession.phase)).one() == "clustering"
    confirm = client.get(asked.headers["location"], headers=PAGE)
    assert "Go back to the Brainstorm phase?" in confirm.text
    assert 'name="confirmed" value="1"' in confirm.text
    assert workshop.phase("brainstorm").status_code == 303
    fresh(db)
    assert db.exec(select(WorkshopSession.phase)).one() == "brainstorm"
    # The htmx buttons confirm in a dialog first and send confirmed=1; the next phase needs
    # nothing, a skip over phases is confirmed like going back.
    workshop.as_facilitator()
    unconfirmed = client.post(
        f"/s/{workshop.code}/facilitate/phase", data={"phase": "report"}, headers=HX
    )
    assert unconfirmed.headers["HX-Redirect"] == f"/s/{workshop.code}/facilitate/phase?to=report"
    fresh(db)
    assert db.exec(select(WorkshopSession.phase)).one() == "brainstorm"
    forward = client.post(
        f"/s/{workshop.code}/facilitate/phase",
        data={"phase": "report", "confirmed": "1"},
        headers=HX,
    )
    assert forward.status_code == 200 and "data-confirm=" in forward.text
    fresh(db)
    assert db.exec(select(WorkshopSession.phase)).one() == "report"


def test_projector_shows_join_details_and_the_phase_without_secrets(
    client: TestClient, db: Session
) -> None:
    workshop = create_through_form(client)
    join_through_form(workshop, "Amira Secretname")
    workshop.phase("brainstorm")
    first, _ = workshop.challenge_ids(db)
    workshop.as_participant(0)
    client.post(
        f"/s/{workshop.code}/contributions",
        data={"challenge_id": str(first), "text": "Compute is too expensive", "client_id": "a1"},
        headers=PAGE,
    )
    workshop.as_facilitator()
    projector = client.get(f"/s/{workshop.code}/projector", headers=PAGE)
    assert projector.status_code == 200
    assert '<body class="projector">' in projector.text
    assert workshop.code in projector.text and "<svg" in projector.text
    assert "Compute is too expensive" in projector.text
    assert "Secretname" not in projector.text
    assert workshop.facilitator_token not in projector.text and "key=" not in projector.text
    assert "1 participant has joined" in projector.text
    polled = client.get(f"/s/{workshop.code}/projector", headers=HX)
    assert polled.text.lstrip().startswith('<div id="projector-body"')

    # The wall stays empty when contributions are not shared.
    client.post(
        f"/s/{workshop.code}/facilitate/settings",
        data={"title": "Lab", "categories": "A\nB"},
        headers=PAGE,
    )
    assert (
        "Compute is too expensive"
        not in client.get(f"/s/{workshop.code}/projector", headers=PAGE).text
    )
    workshop.phase("report")
    workshop.as_facilitator()
    assert "Results" in client.get(f"/s/{workshop.code}/projector", headers=PAGE).text


def test_create_from_a_template(client: TestClient, db: Session) -> None:
    prefilled = client.get("/new?template=ai-cci", headers=PAGE)
    assert prefilled.status_code == 200
    assert field_value(prefilled.text, "challenges-2-title") == (
        "Creative industries shaping AI development"
    )
    assert "Which gaps stand in the way" in textarea(prefilled.text, "field-challenges-0-questions")
    assert client.get("/new?template=nope", headers=PAGE).status_code == 404

    direct = client.post(
        "/new/template", data={"template": "green-sme"}, headers=PAGE, follow_redirects=False
    )
    assert direct.status_code == 303
    fresh(db)
    session = db.exec(select(WorkshopSession)).one()
    assert session.title == "Green transition of small businesses"
    assert direct.headers["location"] == f"/s/{session.code}/created"
    assert set_cookie(direct, cookie_name(session.code))


def test_landing_page_offers_join_and_create(client: TestClient) -> None:
    page = client.get("/", headers=PAGE)
    assert page.status_code == 200
    assert 'action="/join"' in page.text and 'name="code"' in page.text
    assert 'href="/new"' in page.text and 'href="/new?template=ai-cci"' in page.text
    assert 'href="/f"' in page.text


def test_facilitator_navigation_partial(client: TestClient) -> None:
    workshop = create_through_form(client)
    workshop.as_facilitator()
    nav = client.get(f"/s/{workshop.code}/facilitate", headers=PAGE).text
    nav = nav.split('<nav class="fac-nav')[1].split("</nav>")[0]
    for path in ("", "/brainstorm", "/clustering", "/matrix", "/report"):
        assert f'href="/s/{workshop.code}/facilitate{path}"' in nav
    assert nav.count('aria-current="page"') == 1
    assert 'target="_blank"' in nav and "opens in a new tab" in nav


# --- the participant page on a phone: what comes first, what it says -------------------------


def as_participant_of(client: TestClient, w: Workshop, who: int = 0) -> None:
    client.cookies.set(cookie_name(w.code), w.participants[who]["participant_token"])


def test_the_brainstorm_box_comes_before_the_challenge_and_the_title_appears_once(
    client: TestClient,
) -> None:
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    w.contribute(0, 0, "Mine")
    as_participant_of(client, w)
    html = client.get(f"/s/{w.code}", headers=PAGE).text
    body = html.split("<body", 1)[1]
    assert body.count("AI in the cultural and creative industries") == 1
    content = body.split('id="phase-content"', 1)[1]
    assert content.index('id="field-text"') < content.index('id="challenge-about-title"')
    # The phase bar (sticky in CSS) holds the timer and the count, above the box.
    bar = content.split('class="phase-bar"', 1)[1].split('class="participant__header"', 1)[0]
    assert "data-timer" in bar and 'id="sent-count">1 sent<' in bar
    assert content.index('class="phase-bar"') < content.index('id="field-text"')
    # The limit is counted and enforced by the server, not cut by the browser.
    field = re.search(r'<textarea[^>]*id="field-text"[^>]*>', content)
    assert field and "maxlength" not in field.group(0).replace("data-maxlength", "")
    assert 'data-maxlength="500"' in field.group(0) and "data-send-shortcut" in field.group(0)
    assert 'aria-keyshortcuts="Control+Enter Meta+Enter"' in field.group(0)


def test_the_clustering_view_shows_which_notes_went_into_which_cluster(
    client: TestClient,
) -> None:
    w = create_workshop(client, participants=2)
    w.phase("brainstorm")
    grouped = w.contribute(1, 0, "Compute is too expensive for studios")
    w.contribute(1, 0, "Nobody teaches prompt design")
    w.phase("clustering")
    w.cluster(0, "Shared compute", w.categories[0], [grouped["id"]])
    as_participant_of(client, w)
    for response in (
        client.get(f"/s/{w.code}", headers=PAGE),
        client.get(f"/s/{w.code}/clusters", headers=HX),
    ):
        html = response.text.split('id="participant-clusters"', 1)[1].split('id="your-name"')[0]
        shared = html.split("Shared compute", 1)[1]
        assert shared.index("Compute is too expensive") < shared.index("Not grouped yet")
        assert shared.index("Not grouped yet") < shared.index("Nobody teaches prompt design")
        assert "Person 2" not in html and "<form" not in html


def test_the_privacy_note_follows_the_names_setting(client: TestClient) -> None:
    w = create_workshop(client, participants=1)
    as_participant_of(client, w)
    html = client.get(f"/s/{w.code}", headers=PAGE).text
    assert (
        "The report is anonymous" in html
        and 'id="privacy-flag" class="privacy-flag"></div>' in html
    )
    client.patch(w.url(""), json={"show_names": True}, headers=w.f)
    html = client.get(f"/s/{w.code}", headers=PAGE).text
    assert "The report is anonymous" not in html and "Names are on in the report" in html
    assert 'href="#your-name"' in html.split('id="privacy-flag"', 1)[1].split("</div>", 1)[0]
