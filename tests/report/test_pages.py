"""The facilitator's report page: downloads, preview, and deleting the session."""

from fastapi.testclient import TestClient

from tests.conftest import Workshop, create_workshop
from tests.report.helpers import NAMES, scored_workshop


def sign_in(client: TestClient, w: Workshop) -> None:
    client.cookies.set(f"policylab_{w.code}", w.facilitator_token)


def test_report_page_offers_every_format_and_previews_the_ranking(client: TestClient) -> None:
    s = scored_workshop(client)
    sign_in(client, s.w)
    response = client.get(f"/s/{s.w.code}/facilitate/report")
    assert response.status_code == 200
    html = response.text
    for fmt in ("pdf", "docx", "html", "md", "xlsx", "csv", "json"):
        assert f'href="/api/v1/sessions/{s.w.code}/report?format={fmt}"' in html
    assert "data-download" in html and "/static/js/report.js" in html
    assert html.index("Regional AI hubs") < html.index("Training vouchers")
    assert "<svg" in html and "Delete this session" in html
    for name in NAMES:
        assert name not in html
    # The download links work with the browser's cookie alone.
    md = client.get(f"/api/v1/sessions/{s.w.code}/report?format=md")
    assert md.status_code == 200 and md.text.startswith("# AI in the cultural")


def test_report_page_is_for_the_facilitator_only(client: TestClient) -> None:
    w = create_workshop(client, participants=1)
    assert client.get(f"/s/{w.code}/facilitate/report").status_code == 403
    client.cookies.set(f"policylab_{w.code}", w.participants[0]["participant_token"])
    assert client.get(f"/s/{w.code}/facilitate/report").status_code == 403
    assert (
        client.post(
            f"/s/{w.code}/facilitate/report/delete", data={"confirm_code": w.code}
        ).status_code
        == 403
    )
    assert client.get(w.url(), headers=w.f).status_code == 200


def test_empty_session_page(client: TestClient) -> None:
    w = create_workshop(client)
    sign_in(client, w)
    html = client.get(f"/s/{w.code}/facilitate/report").text
    assert "Nothing has been rated yet" in html
    assert "Provisional: exported during the set-up phase" in html


def test_deleting_needs_the_session_code_typed(client: TestClient) -> None:
    s = scored_workshop(client)
    sign_in(client, s.w)
    url = f"/s/{s.w.code}/facilitate/report/delete"
    wrong = client.post(url, data={"confirm_code": "NOPE42"})
    assert wrong.status_code == 422
    assert (
        "is not this session&#39;s code" in wrong.text or "is not this session's code" in wrong.text
    )
    empty = client.post(url, data={"confirm_code": ""}, headers={"HX-Request": "true"})
    assert empty.status_code == 422
    assert f"Type the session code {s.w.code} to confirm" in empty.text
    assert "<html" not in empty.text  # htmx gets the form block only
    assert client.get(s.w.url(), headers=s.w.f).status_code == 200

    done = client.post(url, data={"confirm_code": s.w.code.lower()}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/?deleted={s.w.code}"
    assert f"policylab_{s.w.code}=" in done.headers["set-cookie"]
    assert client.get(s.w.url(), headers=s.w.f).status_code == 404
