"""Results hidden until the facilitator reveals them: the JSON API, the participant's page,
the projector and the live regions all follow one rule (`matrix.service.results_visible`);
the facilitator always sees them; in the report phase everyone does."""

from fastapi.testclient import TestClient

from tests.conftest import Workshop, create_workshop
from tests.live.test_pages import event, sent, stream_for, swaps, updates

PAGE = {"Accept": "text/html"}
HX = {"Accept": "text/html", "HX-Request": "true"}
HIDDEN = "The results are hidden until the facilitator reveals them"


def scoring(client: TestClient) -> tuple[Workshop, int]:
    """Two participants in the scoring phase, one cluster scored by both."""
    w = create_workshop(client, participants=2)
    w.phase("brainstorm")
    note = w.contribute(0, 0, "No shared compute for small studios")["id"]
    w.phase("clustering")
    cluster = w.cluster(0, "Regional compute vouchers", w.categories[0], [note])["id"]
    w.phase("scoring")
    w.rate(0, cluster, 5, "eu")
    w.rate(1, cluster, 4, "national")
    return w, cluster


def reveal(client: TestClient, w: Workshop, revealed: bool) -> None:
    answer = client.patch(w.url(), headers=w.f, json={"results_revealed": revealed})
    assert answer.status_code == 200, answer.text
    assert answer.json()["results_revealed"] is revealed


def test_the_api_refuses_the_matrix_to_participants_until_revealed(client: TestClient) -> None:
    w, cluster = scoring(client)
    refused = client.get(w.url("/matrix"), headers=w.p(0))
    assert refused.status_code == 403
    assert HIDDEN in refused.json()["detail"]
    assert client.get(w.url(), headers=w.p(0)).json()["results_revealed"] is False
    # The facilitator always sees them.
    rows = client.get(w.url("/matrix"), headers=w.f).json()["clusters"]
    assert rows[0]["relevance_mean"] == 4.5
    reveal(client, w, True)
    rows = client.get(w.url("/matrix"), headers=w.p(1)).json()["clusters"]
    assert [(r["id"], r["relevance_mean"]) for r in rows] == [(cluster, 4.5)]
    reveal(client, w, False)
    assert client.get(w.url("/matrix"), headers=w.p(1)).status_code == 403
    # In the report phase everyone sees them, revealed or not.
    w.phase("report")
    assert client.get(w.url("/matrix"), headers=w.p(1)).status_code == 200
    # Only the facilitator may reveal.
    refused = client.patch(w.url(), headers=w.p(0), json={"results_revealed": True})
    assert refused.status_code == 403


def test_participant_pages_and_projector_hide_results_until_revealed(
    client: TestClient,
) -> None:
    w, _ = scoring(client)
    client.cookies.set(f"policylab_{w.code}", w.participants[0]["participant_token"])
    page = client.get(f"/s/{w.code}", headers=PAGE).text
    assert 'id="revealed-results"' in page and "Results so far" not in page
    assert "4.5" not in page and "4,5" not in page
    client.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    projector = client.get(f"/s/{w.code}/projector", headers=PAGE).text
    assert "Regional compute vouchers" not in projector and "data-slide" not in projector
    assert "Scoring in progress" in projector
    # The matrix page (the facilitator's) shows them, with the button to reveal.
    matrix = client.get(f"/s/{w.code}/facilitate/matrix", headers=PAGE).text
    assert "Regional compute vouchers" in matrix and "Reveal results" in matrix
    answer = client.post(f"/s/{w.code}/facilitate/results", data={"revealed": "1"}, headers=HX)
    assert answer.status_code == 200
    assert 'id="results-reveal"' in answer.text and "Hide results" in answer.text
    assert "Results revealed" in answer.headers["HX-Trigger"]
    projector = client.get(f"/s/{w.code}/projector", headers=PAGE).text
    assert "Regional compute vouchers" in projector and "data-slide" in projector
    client.cookies.set(f"policylab_{w.code}", w.participants[1]["participant_token"])
    page = client.get(f"/s/{w.code}", headers=PAGE).text
    assert "Results so far" in page and "Regional compute vouchers" in page
    # A participant cannot reveal (the page action is the facilitator's).
    refused = client.post(f"/s/{w.code}/facilitate/results", data={"revealed": "0"}, headers=HX)
    assert refused.status_code == 403
    client.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    # Without JavaScript: a plain form post, back to the matrix page.
    hidden = client.post(
        f"/s/{w.code}/facilitate/results", data={"revealed": "0"}, follow_redirects=False
    )
    assert hidden.status_code == 303 and hidden.headers["location"].endswith("#results-reveal")
    assert client.get(w.url("/matrix"), headers=w.p(0)).status_code == 403


def test_reveal_and_hide_reach_open_screens_live(client: TestClient) -> None:
    w, cluster = scoring(client)
    participant = stream_for(client, w, "participant", who=0, page_phase="scoring")
    projector = stream_for(client, w, "projector")
    matrix = stream_for(client, w, "matrix")
    # While hidden, a new rating sends participants nothing about results.
    rated = event(900, "rating_changed", cluster_id=cluster, challenge_id=1)
    assert "revealed-results" not in updates(sent(client, participant, rated))
    projected = updates(sent(client, projector, rated))
    assert "Regional compute vouchers" not in projected
    reveal(client, w, True)
    shown = event(901, "results_revealed", revealed=True)
    html = updates(sent(client, participant, shown))
    assert swaps(html, "revealed-results") and "Regional compute vouchers" in html
    assert not any(p["name"] in html for p in w.participants)
    html = updates(sent(client, projector, event(902, "results_revealed", revealed=True)))
    assert swaps(html, "projector-body") and "Regional compute vouchers" in html
    html = updates(sent(client, matrix, event(903, "results_revealed", revealed=True)))
    assert swaps(html, "results-reveal") and "Hide results" in html
    # Revealed results follow new ratings.
    w.rate(0, cluster, 1, "eu")
    html = updates(sent(client, participant, event(904, "rating_changed", cluster_id=cluster)))
    assert swaps(html, "revealed-results") and "2.5" in html
    reveal(client, w, False)
    hidden = updates(sent(client, participant, event(905, "results_revealed", revealed=False)))
    assert swaps(hidden, "revealed-results") and "Regional compute vouchers" not in hidden
