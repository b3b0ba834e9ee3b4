"""The facilitator's scoring monitor and matrix page."""

import re

from fastapi.testclient import TestClient

from app.vocabulary import relevance_band
from tests.conftest import Workshop, create_workshop

# What the page's htmx requests send (it asks for HTML through hx-headers).
HX = {"HX-Request": "true", "Accept": "text/html"}
HX_PAGE = {"Accept": "text/html"}


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


# --- a participant scoring, one proposed solution at a time ----------------------------------


def three_to_score(client: TestClient) -> tuple[Workshop, list[int]]:
    """Scoring open with three clusters in challenge 1 (board order A, B, C); the client is
    participant 0."""
    w = create_workshop(client, participants=2)
    w.phase("brainstorm")
    ids = [w.contribute(1, 0, f"Gap {i}")["id"] for i in range(3)]
    w.phase("clustering")
    clusters = [
        w.cluster(0, title, "Ecosystem structure", [cid])["id"]
        for title, cid in zip(("Alpha hubs", "Beta vouchers", "Gamma commons"), ids, strict=True)
    ]
    w.phase("scoring")
    client.cookies.set(f"policylab_{w.code}", w.participants[0]["participant_token"])
    return w, clusters


def card_shown(html: str) -> str:
    """The score card on a participant page (its article)."""
    match = re.search(
        r'<article class="card score-card[^"]*" id="cluster-(\d+)".*?</article>', html, re.S
    )
    assert match, "no score card on the page"
    return match.group(0)


def test_scoring_without_javascript_goes_card_by_card_to_a_summary(client: TestClient) -> None:
    w, (a, b, c) = three_to_score(client)
    first = client.get(f"/s/{w.code}", headers=HX_PAGE)
    card = card_shown(first.text)
    assert f'id="cluster-{a}"' in card and "1 of 3" in card and "Alpha hubs" in card
    assert "Beta vouchers" not in card, "one proposed solution at a time"
    # Without scripts the form has its own button, and it goes on to the next one.
    assert 'name="advance" value="1"' in card and "Save and continue" in card
    assert 'rel="prev"' not in card and f'href="/s/{w.code}?cluster={b}"' in card

    saved = client.post(
        f"/s/{w.code}/clusters/{a}/rating",
        data={"relevance": "4", "policy_level": "eu", "advance": "1"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"/s/{w.code}?cluster={b}&saved={a}"
    second = client.get(saved.headers["location"], headers=HX_PAGE).text
    assert "2 of 3" in card_shown(second) and "Beta vouchers" in card_shown(second)
    assert "Saved: “Alpha hubs” — 4 (High) · EU." in second
    assert f'rel="prev" href="/s/{w.code}?cluster={a}"' in second
    assert "1 of 3 scored" in second

    # Skipping B with Next, scoring C, comes back to B: the first one not scored yet.
    client.post(
        f"/s/{w.code}/clusters/{c}/rating",
        data={"relevance": "2", "policy_level": "national", "advance": "1"},
        follow_redirects=False,
    )
    back = client.post(
        f"/s/{w.code}/clusters/{c}/rating",
        data={"relevance": "3", "policy_level": "national", "advance": "1"},
        follow_redirects=False,
    )
    assert back.headers["location"] == f"/s/{w.code}?cluster={b}&saved={c}"
    done = client.post(
        f"/s/{w.code}/clusters/{b}/rating",
        data={"relevance": "5", "policy_level": "local_regional", "advance": "1"},
        follow_redirects=False,
    )
    assert done.headers["location"] == f"/s/{w.code}?step=summary&saved={b}"
    summary = client.get(done.headers["location"], headers=HX_PAGE).text
    assert (
        'id="score-summary"' in summary and "All scored" in summary and "3 of 3 scored" in summary
    )
    listed = summary.split('id="score-summary"', 1)[1]
    assert (
        listed.index("Alpha hubs") < listed.index("Beta vouchers") < listed.index("Gamma commons")
    )
    assert "4 (High)" in listed and "3 (Medium)" in listed and "5 (Essential)" in listed
    assert f'href="/s/{w.code}?cluster={c}"' in listed
    # Everything scored: the page opens on the summary; a card can still be opened to change.
    assert 'id="score-summary"' in client.get(f"/s/{w.code}", headers=HX_PAGE).text
    again = card_shown(client.get(f"/s/{w.code}?cluster={c}", headers=HX_PAGE).text)
    assert 'value="3" checked' in again and 'value="national" checked' in again
    assert "Your score: 3 (Medium) · National" in again
    ratings = client.get(w.url("/ratings/mine"), headers=w.p(0)).json()
    assert sorted((r["cluster_id"], r["relevance"]) for r in ratings) == [(a, 4), (b, 5), (c, 3)]


def test_scoring_with_htmx_saves_in_place_or_goes_on(client: TestClient) -> None:
    w, (a, b, _c) = three_to_score(client)
    url = f"/s/{w.code}/clusters/{a}/rating"
    # A change (the script sends advance=0): only the card's status and the progress change.
    stay = client.post(
        url, data={"relevance": "2", "policy_level": "eu", "advance": "0"}, headers=HX
    )
    assert stay.status_code == 200 and "HX-Retarget" not in stay.headers
    assert stay.text.lstrip().startswith(f'<div class="score-status" id="score-status-{a}"')
    assert "Your score: 2 (Low) · EU" in stay.text
    assert re.search(r'<span id="scoring-progress"[^>]*hx-swap-oob="true"', stay.text)
    assert "1 of 3 scored" in stay.text and "<article" not in stay.text
    # A first score completed by a tap: the next card, in the place of the phase's content.
    on = client.post(url, data={"relevance": "4", "policy_level": "eu", "advance": "1"}, headers=HX)
    assert on.status_code == 200
    assert on.headers["HX-Retarget"] == "#phase-content"
    assert on.headers["HX-Push-Url"] == f"/s/{w.code}?cluster={b}"
    assert on.text.lstrip().startswith('<div id="phase-content"') and "<html" not in on.text
    assert "2 of 3" in card_shown(on.text) and "Saved: “Alpha hubs” — 4 (High) · EU." in on.text
    assert "data-focus-after-swap" in card_shown(on.text), "focus moves to the new card"
    assert len(client.get(w.url("/ratings/mine"), headers=w.p(0)).json()) == 1


def test_an_incomplete_score_from_htmx_redraws_its_card_with_the_message(
    client: TestClient,
) -> None:
    w, (a, _b, _c) = three_to_score(client)
    refused = client.post(
        f"/s/{w.code}/clusters/{a}/rating",
        data={"policy_level": "national", "advance": "1"},
        headers=HX,
    )
    assert refused.status_code == 422 and refused.headers["HX-Retarget"] == f"#cluster-{a}"
    assert "Choose how relevant" in refused.text and 'value="national" checked' in refused.text
    assert client.get(w.url("/ratings/mine"), headers=w.p(0)).json() == []


def test_an_unknown_cluster_in_the_address_opens_the_first_not_scored(client: TestClient) -> None:
    w, (a, b, _c) = three_to_score(client)
    w.rate(0, a, 3, "eu")
    html = client.get(f"/s/{w.code}?cluster=999999", headers=HX_PAGE).text
    assert f'id="cluster-{b}"' in card_shown(html)
    assert "score-saved-note" not in client.get(f"/s/{w.code}?saved=999999", headers=HX_PAGE).text


def test_nothing_to_score_says_so(client: TestClient) -> None:
    w = create_workshop(client, participants=1)
    w.phase("scoring")
    client.cookies.set(f"policylab_{w.code}", w.participants[0]["participant_token"])
    html = client.get(f"/s/{w.code}", headers=HX_PAGE).text
    assert (
        "Nothing to score yet" in html
        and '<form method="post" action'
        not in html.split('id="phase-content"')[1].split('id="your-name"')[0]
    )


def test_results_are_cards_with_every_figure(client: TestClient) -> None:
    w, clusters = scored(client)
    w.phase("report")
    client.cookies.set(f"policylab_{w.code}", w.participants[0]["participant_token"])
    html = client.get(f"/s/{w.code}", headers=HX_PAGE).text
    content = html.split('id="phase-content"', 1)[1].split('id="your-name"', 1)[0]
    assert "<table" not in content and '<ol class="result-cards"' in content
    vouchers = content.split("Compute vouchers", 1)[1].split("</li>", 1)[0]
    assert "4.7" in vouchers and "76%" in vouchers and "badge--level-eu" in vouchers
    assert "Mean relevance" in vouchers and "Agreement" in vouchers and "Ratings" in vouchers
    assert content.index("Compute vouchers") < content.index("Regional AI hubs")
    assert "Nobody scored this one." in content.split("Data commons", 1)[1].split("</li>", 1)[0]
