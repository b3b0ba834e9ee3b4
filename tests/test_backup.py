"""`policylab backup`: a consistent copy of the SQLite database taken while a real server
process keeps writing; the command to use for PostgreSQL."""

import json
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest

from app.cli import main as cli
from app.config import get_settings
from tests.server import ServerProcess


def test_a_backup_taken_during_writes_is_consistent_and_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "live.db"
    server = ServerProcess(tmp_path, {"POLICYLAB_DATABASE_URL": f"sqlite:///{database}"}).start()
    try:
        api = httpx.Client(base_url=server.url, timeout=30)
        created = api.post(
            "/api/v1/sessions", json={"title": "Backed up", "challenges": [{"title": "A"}]}
        ).json()
        code, challenge = created["code"], created["challenges"][0]["id"]
        facilitator = {"Authorization": f"Bearer {created['facilitator_token']}"}
        api.post(
            f"/api/v1/sessions/{code}/phase", json={"phase": "brainstorm"}, headers=facilitator
        )
        acknowledged: list[int] = []
        stop = threading.Event()

        def write() -> None:
            with httpx.Client(base_url=server.url, timeout=30) as writer:
                while not stop.is_set():
                    answer = writer.post(
                        f"/api/v1/sessions/{code}/contributions",
                        json={"challenge_id": challenge, "text": f"Note {len(acknowledged)}"},
                        headers=facilitator,
                    )
                    assert answer.status_code == 201, answer.text
                    acknowledged.append(answer.json()["id"])

        writers = [threading.Thread(target=write) for _ in range(2)]
        for thread in writers:
            thread.start()
        while len(acknowledged) < 50:  # writes are flowing
            threading.Event().wait(0.05)
        before = set(acknowledged)
        monkeypatch.setenv("POLICYLAB_DATABASE_URL", f"sqlite:///{database}")
        get_settings.cache_clear()
        copy = tmp_path / "backups" / "copy.db"
        assert cli(["backup", str(copy)]) == 0
        after = set(acknowledged)
        stop.set()
        for thread in writers:
            thread.join(timeout=30)
        assert len(set(acknowledged)) > len(after)  # writing went on after the copy
        api.close()
    finally:
        server.stop()
        get_settings.cache_clear()
    assert "Backed up" in capsys.readouterr().out

    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert not Path(f"{copy}-wal").exists()
        ids = {row[0] for row in db.execute("SELECT id FROM contributions")}
        assert before <= ids <= after  # everything acknowledged before, nothing unacknowledged
        # One snapshot: every stored note has its event, and the session's counter agrees.
        events = [
            json.loads(row[0])["contribution_id"]
            for row in db.execute("SELECT data FROM events WHERE kind = 'contribution_added'")
        ]
        assert sorted(events) == sorted(ids)
        last_seq, top_seq = db.execute(
            "SELECT last_event_seq, (SELECT max(seq) FROM events) FROM sessions"
        ).fetchone()
        assert last_seq == top_seq


def test_an_existing_file_is_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "lab.db"
    sqlite3.connect(database).close()
    target = tmp_path / "taken.db"
    target.write_text("precious")
    monkeypatch.setenv("POLICYLAB_DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    assert cli(["backup", str(target)]) == 2
    assert target.read_text() == "precious"
    assert "exists already" in capsys.readouterr().err
    get_settings.cache_clear()


def test_postgresql_gets_the_pg_dump_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "POLICYLAB_DATABASE_URL", "postgresql+psycopg://lab:s3cret@db.example:5432/policylab"
    )
    get_settings.cache_clear()
    assert cli(["backup", str(tmp_path / "lab.dump")]) == 2
    printed = capsys.readouterr()
    get_settings.cache_clear()
    assert printed.out.startswith("pg_dump --format=custom")
    assert "'postgresql://lab@db.example:5432/policylab'" in printed.out
    assert "s3cret" not in printed.out + printed.err
    assert not (tmp_path / "lab.dump").exists()
