"""Live page streams: who may open which view, what each event pushes to whom (rendered by
the stream's callback directly: SSE through TestClient can hang), the shared cache and the
coalescing of bursts, the dashboard's timer controls, and one stream end to end over a
real server."""

import json
import re
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request

from app.live.hub import LiveEvent
from app.live.pages import PageStream, Watch, fragment_cache
from app.sessions.auth import find_session
from tests.conftest import Workshop, create_workshop, fresh
from tests.live.conftest import LiveServer

HX = {"Accept": "text/html", "HX-Request": "true"}
NAMES = ("Person 1", "Person 2", "Person 3")


def signed_in(client: TestClient, workshop: Workshop, who: int | None) -> TestClient:
    token = (
        workshop.facilitator_token
        if who is None
        else workshop.participants[who]["participant_token"]
    )
    client.cookies.set(f"policylab_{workshop.code}", token)
    return client


def session_id(client: TestClient, code: str) -> int:
    from app.db import open_session

    with open_session(client.app.state.engine, read_only=True) as db:  # type: ignore[attr-defined]
        return find_session(db, code).id  # type: ignore[return-value]


def stream_for(client: TestClient, workshop: Workshop, view: str, **watch: Any) -> PageStream:
    scope = {
        "type": "http",
        "app": client.app,
        "method": "GET",
        "path": f"/s/{workshop.code}/live",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "server": ("testserver", 80),
        "scheme": "http",
        "root_path": "",
    }
    who = watch.pop("who", None)
    participant_id = None if who is None else workshop.participants[who]["id"]
    return PageStream(
        Request(scope),
        Watch(session_id(client, workshop.code), view, participant_id=participant_id, **watch),
    )


def event(seq: int, kind: str, **data: Any) -> LiveEvent:
    return LiveEvent(seq=seq, kind=kind, data=data, at=datetime.now(UTC))


def sent(client: TestClient, stream: PageStream, live_event: LiveEvent) -> list[dict[str, Any]]:
    """The messages the stream sends for one event, parsed."""
    raw = client.portal.call(stream, live_event)  # type: ignore[attr-defined]
    messages: list[dict[str, Any]] = []
    for block in (raw or b"").decode().split("\r\n\r\n"):
        if not block.strip():
            continue
        message: dict[str, Any] = {"data": []}
        for line in block.split("\r\n"):
            key, _, value = line.partition(": ")
            if key == "data":
                message["data"].append(value)
            elif key:
                message[key] = value
        message["data"] = "\n".join(message["data"])
        messages.append(message)
    return messages


def updates(messages: list[dict[str, Any]]) -> str:
    return "".join(m["data"] for m in messages if m.get("event") == "update")


def swaps(html: str, element_id: str, how: str = "true") -> bool:
    """Whether `html` carries an out-of-band swap of the element with this id."""
    pattern = rf'<\w+ hx-swap-oob="{re.escape(how)}"[^>]*\bid="{re.escape(element_id)}"'
    return re.search(pattern, html) is not None


@pytest.fixture
def room(client: TestClient) -> Workshop:
    workshop = create_workshop(client, participants=3)
    workshop.phase("brainstorm")
    return workshop


# --- who may open which stream ---------------------------------------------------------------


def test_streams_need_the_right_cookie(client: TestClient, room: Workshop) -> None:
    base = f"/s/{room.code}/live"
    assert client.get(f"{base}?view=participant").status_code == 401
    signed_in(client, room, 0)
    for view in ("dashboard", "brainstorm", "clustering", "matrix", "projector"):
        refused = client.get(f"{base}?view={view}")
        assert refused.status_code == 403, view
    signed_in(client, room, None)
    assert client.get(f"{base}?view=participant").status_code == 403
    assert client.get(f"{base}?view=secrets").status_code == 404
    assert client.get(f"{base}?view=clustering&challenge=999999").status_code == 404
    assert client.get("/s/NOSUCH/live?view=dashboard").status_code == 404


def test_live_pages_connect_to_their_own_view(client: TestClient, room: Workshop) -> None:
    signed_in(client, room, None)
    pages = {
        "/facilitate": "view=dashboard",
        "/facilitate/brainstorm": "view=brainstorm",
        "/facilitate/clustering": f"view=clustering&amp;challenge={room.challenges[0]['id']}",
        "/facilitate/matrix": "view=matrix",
        "/projector": "view=projector",
    }
    for path, query in pages.items():
        html = client.get(f"/s/{room.code}{path}").text
        assert f'sse-connect="/s/{room.code}/live?{query}' in html, path
        assert "data-live-indicator" in html and "/static/js/live.js" in html, path
        assert 'hx-trigger="every' not in html, path  # polling is only the fallback
    signed_in(client, room, 0)
    html = client.get(f"/s/{room.code}").text
    assert f"/s/{room.code}/live?view=participant&amp;phase=brainstorm&amp;last_event_id=" in html
    assert 'data-live-on-phase="reload"' in html and 'hx-trigger="every' not in html


# --- what each event pushes ------------------------------------------------------------------


def test_a_new_contribution_reaches_other_participants_without_its_author(
    client: TestClient, room: Workshop
) -> None:
    reader = stream_for(client, room, "participant", who=0, page_phase="brainstorm")
    author = stream_for(client, room, "participant", who=1, page_phase="brainstorm")
    created = room.contribute(1, 0, "Nobody funds the pilots")
    news = event(50, "contribution_added", contribution_id=created["id"], challenge_id=1)

    messages = sent(client, reader, news)
    html = updates(messages)
    assert "Nobody funds the pilots" in html
    assert f'hx-swap-oob="afterbegin:#others-list-{room.challenges[0]["id"]}"' in html
    assert f'id="other-{created["id"]}"' in html
    assert not any(name in html for name in NAMES)
    assert messages[-1]["id"] == "50"

    own = sent(client, author, news)
    assert updates(own) == "" and own == [{"data": "", "event": "ack", "id": "50"}]


def test_private_brainstorm_pushes_nothing_to_participants(
    client: TestClient, room: Workshop
) -> None:
    response = client.patch(room.url(""), json={"show_contributions": False}, headers=room.f)
    assert response.status_code == 200, response.text
    reader = stream_for(client, room, "participant", who=0, page_phase="brainstorm")
    created = room.contribute(1, 0, "Private idea")
    news = event(60, "contribution_added", contribution_id=created["id"], challenge_id=1)
    assert "Private idea" not in updates(sent(client, reader, news))


def test_facilitator_edits_of_my_note_come_to_me_in_my_own_list(
    client: TestClient, room: Workshop
) -> None:
    mine = room.contribute(0, 0, "My first wording")
    edited = client.patch(
        room.url(f"/contributions/{mine['id']}"), json={"text": "Moderated"}, headers=room.f
    )
    assert edited.status_code == 200, edited.text
    change = event(70, "contribution_updated", contribution_id=mine["id"], challenge_id=1)
    me = updates(
        sent(
            client, stream_for(client, room, "participant", who=0, page_phase="brainstorm"), change
        )
    )
    other = updates(
        sent(
            client, stream_for(client, room, "participant", who=2, page_phase="brainstorm"), change
        )
    )
    assert swaps(me, f"contribution-{mine['id']}")
    assert "Moderated" in me and f'id="other-{mine["id"]}"' not in me
    assert swaps(other, f"other-{mine['id']}") and "Moderated" in other
    assert not any(name in me + other for name in NAMES)


def test_facilitator_board_shows_authors_participant_regions_never(
    client: TestClient, room: Workshop
) -> None:
    room.contribute(1, 0, "Skills gap in SMEs")
    created = room.contribute(2, 1, "No regional hubs")
    change = event(80, "contribution_added", contribution_id=created["id"], challenge_id=2)
    board = updates(sent(client, stream_for(client, room, "brainstorm"), change))
    assert swaps(board, "brainstorm-board")
    assert "Person 3" in board and "No regional hubs" in board
    projector = updates(sent(client, stream_for(client, room, "projector"), change))
    assert 'id="projector-body"' in projector and "No regional hubs" in projector
    assert room.code in projector and not any(name in projector for name in NAMES)
    assert room.facilitator_token not in projector


def test_clusters_forming_and_results_are_pushed_to_participants(
    client: TestClient, room: Workshop
) -> None:
    a = room.contribute(0, 0, "Training budgets")
    room.phase("clustering")
    cluster = room.cluster(0, "Training for SMEs", room.categories[0], [a["id"]])
    change = event(90, "cluster_changed", cluster_id=cluster["id"], challenge_id=1)
    watching = stream_for(client, room, "participant", who=1, page_phase="clustering")
    html = updates(sent(client, watching, change))
    assert swaps(html, "participant-clusters") and "Training for SMEs" in html
    # Which notes went where: the contribution's text under its cluster, never its author.
    assert html.index("Training for SMEs") < html.index("Training budgets")
    assert not any(name in html for name in NAMES)
    room.phase("scoring")
    room.rate(0, cluster["id"], 4, "eu")
    room.phase("report")
    rated = event(91, "rating_changed", cluster_id=cluster["id"], challenge_id=1)
    report = updates(
        sent(client, stream_for(client, room, "participant", who=1, page_phase="report"), rated)
    )
    assert swaps(report, "results") and "Training for SMEs" in report
    matrix = updates(sent(client, stream_for(client, room, "matrix"), rated))
    assert 'id="scoring-progress"' in matrix and 'id="matrix-results"' in matrix
    projector = updates(sent(client, stream_for(client, room, "projector"), rated))
    assert "data-slide" in projector and "Training for SMEs" in projector
    assert not any(name in projector for name in NAMES)


@pytest.mark.parametrize("phase", ["setup", "brainstorm", "clustering", "scoring", "report"])
def test_every_participant_screen_learns_at_once_when_names_go_into_the_report(
    client: TestClient, room: Workshop, phase: str
) -> None:
    room.phase(phase)
    watching = stream_for(client, room, "participant", who=0, page_phase=phase)
    before = updates(sent(client, watching, event(97, "session_updated")))
    assert swaps(before, "privacy-note") and "The report is anonymous" in before
    patched = client.patch(room.url(""), json={"show_names": True}, headers=room.f)
    assert patched.status_code == 200, patched.text
    watching = stream_for(client, room, "participant", who=0, page_phase=phase)
    after = updates(sent(client, watching, event(98, "session_updated")))
    assert swaps(after, "privacy-note") and "Names are on in the report" in after
    assert swaps(after, "privacy-flag") and "Names are on in the report: see" in after
    assert "The report is anonymous" not in after


def test_score_cards_follow_cluster_changes_with_each_persons_own_score(
    client: TestClient, room: Workshop
) -> None:
    a = room.contribute(0, 0, "Training budgets")
    room.phase("clustering")
    cluster = room.cluster(0, "Training", room.categories[0], [a["id"]])
    room.phase("scoring")
    room.rate(0, cluster["id"], 5, "eu")
    change = event(95, "cluster_changed", cluster_id=cluster["id"], challenge_id=1)
    mine = updates(
        sent(client, stream_for(client, room, "participant", who=0, page_phase="scoring"), change)
    )
    theirs = updates(
        sent(client, stream_for(client, room, "participant", who=1, page_phase="scoring"), change)
    )
    # The card where a page shows it (never appended: one card at a time), and the summary.
    assert swaps(mine, f"cluster-{cluster['id']}") and swaps(mine, "score-summary")
    assert "Your score: 5" in mine and "Your score:" not in theirs
    assert swaps(mine, "scoring-progress")
    removed = event(96, "cluster_removed", cluster_id=cluster["id"], challenge_id=1)
    gone = updates(
        sent(client, stream_for(client, room, "participant", who=1, page_phase="scoring"), removed)
    )
    # A card being scored says the cluster is gone and offers the way on.
    assert swaps(gone, f"cluster-{cluster['id']}") and "has removed this proposed solution" in gone
    assert f'<div id="summary-{cluster["id"]}" hx-swap-oob="delete"></div>' in gone


def test_dashboard_follows_counts_and_phase(client: TestClient, room: Workshop) -> None:
    dashboard = stream_for(client, room, "dashboard")
    room.join("Late")
    counts = updates(sent(client, dashboard, event(100, "participant_joined", participant_id=9)))
    assert swaps(counts, "dash-counts") and ">4<" in counts.replace(" ", "")
    room.phase("clustering")
    change = event(101, "phase_changed", phase="clustering", previous="brainstorm")
    messages = sent(client, dashboard, change)
    assert [m["event"] for m in messages] == ["phase", "update"]
    assert json.loads(messages[0]["data"])["phase"] == "clustering"
    assert "id" not in messages[0] and messages[1]["id"] == "101"
    assert swaps(messages[1]["data"], "dash-phase")


def test_timer_and_hello_carry_the_server_clock(client: TestClient, room: Workshop) -> None:
    stream = stream_for(client, room, "participant", who=0, page_phase="brainstorm")
    ends = "2030-01-01T10:00:00.000+00:00"
    timer = sent(client, stream, event(110, "timer_changed", state="running", ends_at=ends))
    assert timer[0]["event"] == "timer" and timer[0]["id"] == "110"
    data = json.loads(timer[0]["data"])
    assert data["ends_at"] == ends and datetime.fromisoformat(data["server_now"])
    hello = sent(client, stream, event(7, "hello", phase="brainstorm", server_now=ends))
    assert hello[0]["event"] == "hello" and hello[0]["retry"] == "2000"
    assert json.loads(hello[0]["data"])["seq"] == 7


def test_one_render_per_event_however_many_watch(client: TestClient, room: Workshop) -> None:
    created = room.contribute(0, 0, "Shared once")
    news = event(120, "contribution_added", contribution_id=created["id"], challenge_id=1)
    cache = fragment_cache(client.app)  # type: ignore[arg-type]
    before = cache.renders
    streams = [
        stream_for(client, room, "participant", who=i % 3, page_phase="brainstorm")
        for i in range(30)
    ]
    outputs = [updates(sent(client, s, news)) for s in streams]
    assert cache.renders == before + 1
    assert sum("Shared once" in html for html in outputs) == 20  # not to its author's 10


def test_a_burst_is_rendered_once_at_its_newest_event(client: TestClient, room: Workshop) -> None:
    stream = stream_for(client, room, "brainstorm")
    sid = stream.watch.session_id
    first = room.contribute(0, 0, "One")
    second = room.contribute(1, 0, "Two")
    hub = client.app.state.live  # type: ignore[attr-defined]
    real = hub.feeds.get(sid)
    hub.feeds[sid] = SimpleNamespace(cursor=131)  # the feed has read up to 131 already
    try:
        early = sent(client, stream, event(130, "contribution_added", contribution_id=first["id"]))
        assert early == []  # coalesced: no render, and the id stays behind
        late = sent(client, stream, event(131, "contribution_added", contribution_id=second["id"]))
    finally:
        if real is None:
            del hub.feeds[sid]
        else:
            hub.feeds[sid] = real
    assert len(late) == 1 and late[0]["id"] == "131"
    assert "One" in late[0]["data"] and "Two" in late[0]["data"]


# --- the dashboard's timer controls ----------------------------------------------------------


def test_timer_controls_start_pause_and_refuse_with_the_typed_minutes(
    client: TestClient, room: Workshop, db: Any
) -> None:
    signed_in(client, room, None)
    url = f"/s/{room.code}/facilitate/timer"
    started = client.post(url, data={"action": "start", "minutes": "2.5"}, follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"].endswith("#timer-card")
    timer = client.get(room.url("/timer"), headers=room.f).json()
    assert timer["state"] == "running" and timer["duration"] == 150

    paused = client.post(url, data={"action": "pause"}, headers=HX)
    assert paused.status_code == 200 and 'id="timer-card"' in paused.text
    assert 'data-state="paused"' in paused.text and "showToast" in paused.headers["HX-Trigger"]
    assert client.post(url, data={"extend": "60"}, headers=HX).status_code == 200
    assert client.get(room.url("/timer"), headers=room.f).json()["remaining"] >= 209

    bad = client.post(url, data={"action": "start", "minutes": "ten"}, headers=HX)
    assert bad.status_code == 422 and 'value="ten"' in bad.text and "in minutes" in bad.text
    page = client.post(url, data={"action": "start", "minutes": "ten"})
    assert page.status_code == 422 and 'value="ten"' in page.text and "<html" in page.text
    assert client.get(room.url("/timer"), headers=room.f).json()["state"] == "paused"

    client.post(url, data={"action": "reset"}, headers=HX)
    refused = client.post(url, data={"action": "pause"}, headers=HX)
    assert refused.status_code == 409 and "not running" in refused.text

    signed_in(client, room, 0)
    assert client.post(url, data={"action": "reset"}).status_code == 403
    fresh(db)


def test_pages_render_the_timer_as_the_server_sees_it(client: TestClient, room: Workshop) -> None:
    client.post(room.url("/timer"), json={"action": "start", "seconds": 600}, headers=room.f)
    signed_in(client, room, 0)
    html = client.get(f"/s/{room.code}").text
    assert 'data-timer data-state="running"' in html and 'role="timer"' in html
    assert "data-ends-at=" in html and "data-server-now=" in html
    assert "10:00" in html or "9:59" in html


# --- end to end over a real server -----------------------------------------------------------


def test_a_page_stream_pushes_html_over_a_real_connection(live_server: LiveServer) -> None:
    workshop = create_workshop(live_server.client, participants=2)  # type: ignore[arg-type]
    workshop.phase("brainstorm")
    cookie = f"policylab_{workshop.code}={workshop.participants[0]['participant_token']}"
    reader = live_server.stream(
        f"/s/{workshop.code}/live?view=participant&phase=brainstorm", {"Cookie": cookie}
    )
    try:
        assert reader.status_code == 200
        hello = reader.next()
        assert hello.event == "hello" and json.loads(hello.data)["phase"] == "brainstorm"
        workshop.contribute(1, 0, "Pushed over the wire")
        update = reader.next()
        assert update.event == "update" and "Pushed over the wire" in update.data
        assert update.id is not None and int(update.id) > int(hello.id or 0)
        workshop.phase("clustering")
        phase = reader.next()
        assert phase.event == "phase" and json.loads(phase.data)["phase"] == "clustering"
    finally:
        reader.close()
