"""The privacy notice: reachable from the join page, and true to this server's settings."""

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from tests.conftest import Workshop


def test_the_join_page_links_to_the_privacy_notice(client: TestClient, workshop: Workshop) -> None:
    join = client.get(f"/join/{workshop.code}")
    assert 'href="/privacy"' in join.text
    notice = client.get("/privacy")
    assert notice.status_code == 200
    assert "What this server keeps about you" in notice.text
    assert "never see your name" in notice.text
    assert "keeps a session until its facilitator deletes it" in notice.text


def test_the_notice_states_the_configured_retention_and_contact(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYLAB_SESSION_RETENTION_DAYS", "45")
    monkeypatch.setenv("POLICYLAB_PRIVACY_CONTACT", "dpo@lab.example.eu")
    get_settings.cache_clear()
    notice = client.get("/privacy").text
    assert "nothing has happened in them for 45 days" in notice
    assert "contact dpo@lab.example.eu" in notice
