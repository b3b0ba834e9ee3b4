"""The JSON export as an archive: import creates an identical session, or nothing at all."""

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from app.cli import main as cli
from app.sessions.models import WorkshopSession
from tests.conftest import bearer
from tests.report.helpers import export, scored_workshop

VOLATILE = {"code", "exported_at", "generator"}


def normalised(data: Any) -> Any:
    """The export with ids replaced by their order of appearance, volatile fields dropped."""
    ids: dict[tuple[str, int], int] = {}

    def ref(table: str, value: Any) -> Any:
        if value is None:
            return None
        return ids.setdefault((table, value), len([k for k in ids if k[0] == table]))

    for table in ("challenges", "participants", "clusters", "contributions"):
        for item in data[table]:
            ref(table, item["id"])
    refs = {
        "challenge_id": "challenges",
        "participant_id": "participants",
        "cluster_id": "clusters",
        "duplicate_of_id": "contributions",
    }
    list_refs = {
        "contribution_ids": "contributions",
        "suggested_contribution_ids": "contributions",
        "unclustered_contribution_ids": "contributions",
        "cluster_ids": "clusters",
    }

    def walk(value: Any, table: str | None = None) -> Any:
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key in VOLATILE:
                    continue
                if key == "id" and table:
                    out[key] = ref(table, item)
                elif key in refs:
                    out[key] = ref(refs[key], item)
                elif key in list_refs and item is not None:
                    out[key] = [ref(list_refs[key], i) for i in item]
                else:
                    out[key] = walk(item, key if key in ids_tables else None)
            return out
        if isinstance(value, list):
            return [walk(item, table) for item in value]
        return value

    ids_tables = {"challenges", "participants", "clusters", "contributions"}
    return walk(data)


def session_count(engine: Engine) -> int:
    with Session(engine) as db:
        return int(db.exec(select(func.count()).select_from(WorkshopSession)).one())


def test_export_import_export_gives_the_same_content(client: TestClient) -> None:
    s = scored_workshop(client, show_names=True)
    first = json.loads(export(s.w, "json"))
    response = client.post("/api/v1/sessions/import", json=first)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["code"] != s.w.code and created["facilitator_token"]
    assert created["title"] == first["session"]["title"] and created["phase"] == "report"
    assert [c["title"] for c in created["challenges"]] == ["Challenge 1", "Challenge 2"]
    assert created["join_url"].endswith(f"/join/{created['code']}")
    again = client.get(
        f"/api/v1/sessions/{created['code']}/report",
        params={"format": "json"},
        headers=bearer(created["facilitator_token"]),
    )
    assert again.status_code == 200
    second = again.json()
    assert second["session"]["code"] == created["code"]
    assert normalised(second) == normalised(first)
    # The matrix is recomputed from the restored ratings, not copied.
    matrix = client.get(
        f"/api/v1/sessions/{created['code']}/matrix", headers=bearer(created["facilitator_token"])
    ).json()["clusters"]
    assert [(row["title"], row["rank"]) for row in matrix][:2] == [
        ("Regional AI hubs", 1),
        ("Training vouchers", 2),
    ]


BROKEN = [
    (lambda d: d.update(schema_version=99), "newer Policy Lab"),
    (lambda d: d.update(schema_version="one"), "Unknown schema version"),
    (lambda d: d.pop("schema_version"), "no “schema_version”"),
    (lambda d: d.update(kind="something-else"), "not a Policy Lab JSON export"),
    (lambda d: d["session"].pop("title"), "session.title"),
    (lambda d: d["clusters"][0].update(challenge_id=987654), "missing challenge"),
    (lambda d: d["ratings"][0].update(relevance=9), "ratings.0.relevance"),
    (lambda d: d["ratings"].append(dict(d["ratings"][0])), "rated the same cluster twice"),
    (lambda d: d["contributions"][0].update(text=""), "cannot be empty"),
    (lambda d: d["contributions"][0].update(duplicate_of_id=424242), "missing one"),
    (
        lambda d: [d[t].clear() for t in ("challenges", "clusters", "contributions", "ratings")],
        "at least one challenge",
    ),
]


def test_broken_archives_are_refused_and_nothing_is_created(
    client: TestClient, engine: Engine
) -> None:
    s = scored_workshop(client)
    good = json.loads(export(s.w, "json"))
    before = session_count(engine)
    for change, message in BROKEN:
        data = copy.deepcopy(good)
        change(data)
        response = client.post("/api/v1/sessions/import", json=data)
        assert response.status_code == 422, (message, response.text)
        assert message in response.json()["detail"]
    assert session_count(engine) == before


def test_truncated_or_non_json_files_are_refused(client: TestClient, engine: Engine) -> None:
    s = scored_workshop(client)
    raw = export(s.w, "json")
    before = session_count(engine)
    for body in (raw[: len(raw) // 2], b"", b"\xff\xfe\x00", b"[1, 2, 3]"):
        response = client.post(
            "/api/v1/sessions/import", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422, body[:20]
        assert response.json()["detail"]
    truncated = client.post("/api/v1/sessions/import", content=raw[:-40])
    assert "truncated" in truncated.json()["detail"]
    assert session_count(engine) == before


def test_import_needs_the_organiser_key_when_the_server_has_one(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import get_settings

    s = scored_workshop(client)
    data = json.loads(export(s.w, "json"))
    monkeypatch.setenv("POLICYLAB_ORGANISER_KEY", "secret-key")
    get_settings.cache_clear()
    assert client.post("/api/v1/sessions/import", json=data).status_code == 401
    wrong = {"X-Organiser-Key": "nope"}
    assert client.post("/api/v1/sessions/import", json=data, headers=wrong).status_code == 401
    allowed = client.post(
        "/api/v1/sessions/import", json=data, headers={"X-Organiser-Key": "secret-key"}
    )
    assert allowed.status_code == 201
    as_bearer = client.post(
        "/api/v1/sessions/import", json=data, headers={"Authorization": "Bearer secret-key"}
    )
    assert as_bearer.status_code == 201


def test_cli_exports_and_imports(
    client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scored_workshop(client)
    archive = tmp_path / "lab.json"
    assert cli(["export", s.w.code, "--format", "json", "-o", str(archive)]) == 0
    assert json.loads(archive.read_text())["session"]["code"] == s.w.code
    assert cli(["import", str(archive)]) == 0
    out = capsys.readouterr().out
    code = out.split("Imported as session ")[1].split(".")[0]
    token = out.split("?key=")[1].strip()
    restored = client.get(f"/api/v1/sessions/{code}", headers=bearer(token)).json()
    assert restored["counts"] == {
        "participants": 4,
        "contributions": 7,
        "clusters": 4,
        "ratings": 11,
    }
    docx = tmp_path / "lab.docx"
    assert cli(["export", code, "--format", "docx", "-o", str(docx)]) == 0
    assert docx.read_bytes().startswith(b"PK")


def test_cli_refuses_a_newer_archive_with_a_clear_message(
    client: TestClient, engine: Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s = scored_workshop(client)
    data = json.loads(export(s.w, "json"))
    data["schema_version"] = 2
    archive = tmp_path / "newer.json"
    archive.write_text(json.dumps(data))
    before = session_count(engine)
    assert cli(["import", str(archive)]) == 2
    assert "newer Policy Lab" in capsys.readouterr().err
    truncated = tmp_path / "truncated.json"
    truncated.write_text(json.dumps(data)[:-10])
    assert cli(["import", str(truncated)]) == 2
    assert session_count(engine) == before
