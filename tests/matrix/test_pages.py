"""The facilitator's scoring monitor and matrix page."""

import re

from fastapi.testclient import TestClient

from app.vocabulary import relevance_band
from tests.conftest import Workshop, create_workshop

# What the page's htmx requests send (it asks for HTML through hx-headers).
HX = {"HX-Request": "true", "Accept": "text/html"}


def scored(client: TestClient) -> tuple[Workshop, dict[str, dict]]:
    """Three participants; two clusters rated by all, one by nobody, one in challenge 2."""
    w = create_workshop(client, participants=3)
    w.phase("brainstorm")
    ids = [w.contribute(0, 0, f"Gap {i}")["id"] for i in range(3)]
    other = w.contribute(1, 1, "Other gap")["id"]
    w.phase("clustering")
    clusters = {
        "hubs": w.cluster(0, "Regional AI hubs", "Ecosystem structure", ids[:1]),
        "vouchers": w.cluster(0, "Compute vouchers", "Key framework conditions", ids[1:2]),
        "unrated": w.cluster(0, "Data commons", "Ecosystem structure", ids[2:]),
        "skills": w.cluster(1, "Micro-credentials", "AI and sector players", [other]),
    }
    w.phase("scoring")
    for who, (score, level) in enumerate(
        [(3, "local_regional"), (2, "local_regional"), (4, "national")]
    ):
        w.rate(who, clusters["hubs"]["id"], score, level)
    for who, (score, level) in enumerate([(5, "eu"), (5, "eu"), (4, "national")]):
        w.rate(who, clusters["vouchers"]["id"], score, level)
    w.rate(0, clusters["skills"]["id"], 2, "national")
    client.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    return w, clusters


def matrix_row(html: str, level: str) -> list[str]:
    """The five relevance cells of one policy-level row of the first matrix on the page."""
    table = html.split('<table class="matrix">', 1)[1].split("</table>", 1)[0]
    row = next(r for r in table.split("<tr>") if f"badge--level-{level}" in r)
    return row.split("<td data-relevance=")[1:]


def test_relevance_band_rounds_half_up() -> None:
    assert [relevance_band(x) for x in (1.0, 2.49, 2.5, 3.0, 4.67, 5.0)] == [1, 2, 3, 3, 5, 5]


def test_matrix_lists_clusters_in_rank_order_with_their_figures(client: TestClient) -> None:
    w, _ = scored(client)
    response = client.get(f"/s/{w.code}/facilitate/matrix")
    assert response.status_code == 200 and "<html" in response.text
    html = response.text
    ranking = html.split('<table class="table table--ranked ranking">', 1)[1].split("</table>")[0]
    assert ranking.index("Compute vouchers") < ranking.index("Regional AI hubs")
    vouchers = ranking.split("Compute vouchers", 1)[1].split("</tr>", 1)[0]
    # 5, 5, 4: mean 4.7, median 5.0, sd 0.47 → agreement 1 − 0.47/2 = 76 %, EU chosen twice.
    cells = re.findall(r'<td class="num">([^<]*)</td>', vouchers)
    assert cells == ["4.7", "5.0", "3"]
    assert "76%" in vouchers and "0.47" in vouchers
    assert "badge--level-eu" in vouchers.split("level-bars", 1)[0]
    hubs = ranking.split("Regional AI hubs", 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'<td class="num">([^<]*)</td>', hubs) == ["3.0", "3.0", "3"]
    assert "59%" in hubs
    # Placed by rounded mean (column) and most chosen level (row), labelled by rank and title.
    eu = matrix_row(html, "eu")
    assert "#1" in eu[4] and "Compute vouchers" in eu[4]
    local = matrix_row(html, "local_regional")
    assert "#2" in local[2] and "Regional AI hubs" in local[2]
    assert "Data commons" not in html.split('<table class="matrix">', 1)[1].split("</table>")[0]
    unrated = html.split("Not rated yet", 1)[1]
    assert "Data commons" in unrated and "not rated yet" in unrated
    # The second challenge has its own matrix and ranking.
    assert f'id="matrix-challenge-{w.challenges[1]["id"]}"' in html
    assert html.count('<table class="matrix">') == 2


def test_scoring_progress_per_challenge(client: TestClient) -> None:
    w, _ = scored(client)
    html = client.get(f"/s/{w.code}/facilitate/matrix").text
    first = html.split(f'id="progress-{w.challenges[0]["id"]}-title"', 1)[1].split("</article>")[0]
    # Three clusters × three participants = 9 expected; nobody rated the third one.
    assert "Scored all 3 clusters" in first and "0 of 3" in first and "6 of 9" in first
    second = html.split(f'id="progress-{w.challenges[1]["id"]}-title"', 1)[1].split("</article>")[0]
    assert "1 of 3" in second and "Ratings given" in second


def test_regions_for_htmx_and_the_progress_poll(client: TestClient) -> None:
    w, clusters = scored(client)
    url = f"/s/{w.code}/facilitate/matrix"
    results = client.get(url + "?region=results", headers=HX)
    assert results.status_code == 200 and "<html" not in results.text
    assert results.text.lstrip().startswith('<section id="matrix-results"')
    assert "HX-Request" in results.headers["Vary"].split(", ")
    progress = client.get(url + "?region=progress", headers=HX)
    assert progress.text.lstrip().startswith('<section id="scoring-progress"')
    poll = re.search(r'hx-get="([^"]*region=progress[^"]*)"', progress.text)
    assert poll is not None
    poll_url = poll.group(1).replace("&amp;", "&")
    assert client.get(poll_url, headers=HX).status_code == 204
    w.rate(1, clusters["skills"]["id"], 3, "eu")
    changed = client.get(poll_url, headers=HX)
    assert changed.status_code == 200 and "2 of 3" in changed.text


def test_empty_and_closed_states(client: TestClient) -> None:
    w = create_workshop(client, participants=1)
    client.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    html = client.get(f"/s/{w.code}/facilitate/matrix").text
    assert "No clusters to score yet" in html
    assert "Scoring is not open" in html and "set-up phase" in html


def test_only_the_facilitator_sees_the_matrix_page(client: TestClient) -> None:
    w, _ = scored(client)
    client.cookies.clear()
    assert client.get(f"/s/{w.code}/facilitate/matrix").status_code == 403
    client.cookies.set(f"policylab_{w.code}", w.participants[0]["participant_token"])
    refused = client.get(f"/s/{w.code}/facilitate/matrix")
    assert refused.status_code == 403 and "facilitator link" in refused.text
    assert "Compute vouchers" not in refused.text
    assert client.get("/s/NOSUCH/facilitate/matrix").status_code == 404
