"""The `policylab` command line on the same database as the app."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.cli import main as cli
from tests.conftest import create_workshop


def test_export_writes_the_report_and_import_recreates_the_session(
    client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    w.contribute(0, 0, "Exported gap")
    markdown = tmp_path / "brief.md"
    assert cli(["export", w.code, "--format", "md", "-o", str(markdown)]) == 0
    assert "Exported gap" in markdown.read_text()
    archive = tmp_path / "lab.json"
    assert cli(["export", w.code.lower(), "--format", "json", "-o", str(archive)]) == 0
    assert json.loads(archive.read_text())["schema_version"]
    capsys.readouterr()
    assert cli(["import", str(archive)]) == 0
    out = capsys.readouterr().out
    new_code = out.split("Imported as session ")[1].split(".")[0]
    assert new_code != w.code
    token = out.split("?key=")[1].strip()
    imported = client.get(
        f"/api/v1/sessions/{new_code}/contributions", headers={"Authorization": f"Bearer {token}"}
    )
    assert [c["text"] for c in imported.json()] == ["Exported gap"]


def test_unknown_code_and_bad_file_are_clear_errors(
    client: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["export", "NOPE99", "--format", "md"]) == 2
    assert "No session has this code" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema_version": 1, "session": {')
    assert cli(["import", str(broken)]) == 2
    assert "broken.json" in capsys.readouterr().err


def test_landing_confirms_a_deleted_session(client: TestClient) -> None:
    page = client.get("/?deleted=abc123")
    assert "Session ABC123 and all its data have been deleted." in page.text
    assert "all its data have been deleted" not in client.get("/?deleted=%3Cscript%3E").text
    assert "all its data have been deleted" not in client.get("/").text
