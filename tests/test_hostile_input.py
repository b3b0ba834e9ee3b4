"""Every hostile value the probe found, at every entry point: a clear 4xx (never a 500), and
the database exactly as before. Runs on SQLite, and on PostgreSQL when configured (where NUL
and 32-bit integers used to fail inside the database).

Also: the text rules (line breaks normalised, control characters removed) and exports that
open in Excel and Word whatever was stored."""

import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from docx import Document
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel, select

from app.sessions.models import Contribution, WorkshopSession
from tests.conftest import Workshop, create_workshop, fresh

NUL = "\x00"
LONE = "\ud800"
HUGE_IDS = [2**31, 2**63, 2**64, 10**30]


def send_json(client: TestClient, method: str, url: str, body: Any, **kw: Any) -> Any:
    """JSON with escapes (`\\u0000`, `\\ud800`), as a hostile client writes it."""
    headers = {"content-type": "application/json", **kw.pop("headers", {})}
    return client.request(method, url, content=json.dumps(body).encode(), headers=headers, **kw)


# Computed from what people wrote, by a worker thread after a contribution commits: it may
# land at any moment of a test, and is no one's data.
DERIVED_TABLES = {"contribution_embeddings"}


def snapshot(db: Session) -> dict[str, Any]:
    """Every row of every table people's data lives in: equal before and after means
    nothing changed."""
    fresh(db)
    state = {}
    for table in SQLModel.metadata.sorted_tables:
        if table.name in DERIVED_TABLES:
            continue
        rows = db.execute(table.select().order_by(*table.primary_key.columns)).all()  # type: ignore[call-overload]
        state[table.name] = [tuple(str(v) for v in row) for row in rows]
    return state


@pytest.fixture
def lab(client: TestClient) -> Workshop:
    """A session in the brainstorm with a participant, a contribution and a cluster."""
    w = create_workshop(client, participants=1)
    w.phase("brainstorm")
    note = w.contribute(0, 0, "A gap")
    w.phase("clustering")
    w.cluster(0, "A solution", w.categories[0], [note["id"]])
    w.phase("brainstorm")
    return w


def refused(
    db: Session, act: Callable[..., Any], *args: Any, expect: set[int] | None = None, **kw: Any
) -> Any:
    """Run `act(*args, **kw)`; it must be refused with a 4xx and change nothing."""
    before = snapshot(db)
    answer = act(*args, **kw)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    if expect is not None:
        assert answer.status_code in expect, (answer.status_code, answer.text[:300])
    assert snapshot(db) == before
    return answer


# --- NUL and lone surrogates in JSON bodies ------------------------------------------------------


def json_text_cases(
    w: Workshop,
) -> list[tuple[str, str, str, Callable[[str], Any], dict[str, str]]]:
    ch = w.challenges[0]["id"]
    session = {"title": "Lab", "challenges": [{"title": "A"}]}
    return [
        ("create title", "POST", "/api/v1/sessions", lambda v: {**session, "title": v}, {}),
        (
            "create challenge",
            "POST",
            "/api/v1/sessions",
            lambda v: {"title": "Lab", "challenges": [{"title": "A", "description": v}]},
            {},
        ),
        (
            "create question",
            "POST",
            "/api/v1/sessions",
            lambda v: {"title": "Lab", "challenges": [{"title": "A", "questions": [v]}]},
            {},
        ),
        (
            "create category",
            "POST",
            "/api/v1/sessions",
            lambda v: {**session, "categories": [v]},
            {},
        ),
        ("create place", "POST", "/api/v1/sessions", lambda v: {**session, "place": v}, {}),
        ("settings", "PATCH", w.url(), lambda v: {"organiser": v}, w.f),
        ("join", "POST", w.url("/participants"), lambda v: {"name": v}, {}),
        (
            "contribution",
            "POST",
            w.url("/contributions"),
            lambda v: {"challenge_id": ch, "text": v},
            w.p(0),
        ),
        (
            "client id",
            "POST",
            w.url("/contributions"),
            lambda v: {"challenge_id": ch, "text": "ok", "client_id": v},
            w.p(0),
        ),
        ("phase", "POST", w.url("/phase"), lambda v: {"phase": v}, w.f),
        (
            "cluster",
            "POST",
            w.url("/clusters"),
            lambda v: {"challenge_id": ch, "title": "T", "category": v},
            w.f,
        ),
        ("timer", "POST", w.url("/timer"), lambda v: {"action": v}, w.f),
    ]


@pytest.mark.parametrize("value", [NUL, LONE, "x" + NUL + "y", "x" + LONE + "y"], ids=repr)
def test_nul_and_lone_surrogates_in_json_are_refused_everywhere(
    client: TestClient, db: Session, lab: Workshop, value: str
) -> None:
    for name, method, url, body, headers in json_text_cases(lab):
        answer = refused(db, send_json, client, method, url, body(value), headers=headers)
        assert answer.status_code == 422, name
        assert "character" in answer.json()["detail"], name


def test_surrogates_sent_as_raw_bytes_are_refused(client: TestClient, db: Session) -> None:
    for raw in (b'"\xed\xa0\x80"', b'"\xed\xb0\x80"', b'"a\\ud800\\u0041"', b'"\\udc00"'):
        body = b'{"title": ' + raw + b', "challenges": [{"title": "A"}]}'
        refused(
            db,
            lambda b=body: client.post(
                "/api/v1/sessions", content=b, headers={"content-type": "application/json"}
            ),
            expect={400, 422},
        )


def test_escaped_lookalikes_and_real_pairs_are_text(client: TestClient, db: Session) -> None:
    """A literal backslash-u in the text, and an emoji written as a surrogate pair, pass."""
    body = '{"title": "C:\\\\u0000 \\ud83d\\ude00", "challenges": [{"title": "A"}]}'
    answer = client.post(
        "/api/v1/sessions", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["title"] == "C:\\u0000 \U0001f600"


# --- NUL in addresses and forms ------------------------------------------------------------------


def test_nul_in_a_path_or_query_is_a_clear_400(
    client: TestClient, db: Session, lab: Workshop
) -> None:
    for url in (
        "/api/v1/sessions/AB%00CD",
        "/join/AB%00CD",
        "/s/AB%00CD",
        f"/f/{lab.code}?key=x%00y",
        f"/api/v1/sessions/{lab.code}/contributions?challenge_id=1%00",
        "/static/%00",
    ):
        answer = refused(db, lambda u=url: client.get(u, headers=lab.f), expect={400})
        assert answer.json()["detail"] == "The address contains a NUL character."


def test_nul_in_a_form_is_refused_with_the_form(
    client: TestClient, db: Session, lab: Workshop
) -> None:
    answer = refused(db, lambda: client.post(f"/join/{lab.code}", data={"name": "Ana\x00"}))
    assert answer.status_code == 422
    assert "NUL" in answer.text and "<form" in answer.text  # the page, with its message
    client.cookies.set(f"policylab_{lab.code}", lab.participants[0]["participant_token"])
    refused(
        db,
        lambda: client.post(
            f"/s/{lab.code}/contributions",
            data={"challenge_id": str(lab.challenges[0]["id"]), "text": "gap\x00"},
        ),
        expect={422},
    )
    client.cookies.clear()


# --- numbers out of range ---------------------------------------------------------------------


@pytest.mark.parametrize("big", HUGE_IDS, ids=lambda n: f"2^{n.bit_length() - 1}")
def test_ids_beyond_the_database_are_refused_in_bodies_paths_queries_and_forms(
    client: TestClient, db: Session, lab: Workshop, big: int
) -> None:
    ch = lab.challenges[0]["id"]
    note = client.get(lab.url("/contributions"), headers=lab.f).json()[0]["id"]
    cluster = client.get(lab.url("/clusters"), headers=lab.f).json()[0]["id"]
    bodies = [
        ("POST", lab.url("/contributions"), {"challenge_id": big, "text": "t"}, lab.p(0)),
        ("POST", lab.url("/clusters"), {"challenge_id": big, "title": "t"}, lab.f),
        (
            "POST",
            lab.url("/clusters"),
            {"challenge_id": ch, "title": "t", "contribution_ids": [big]},
            lab.f,
        ),
        ("PATCH", lab.url(f"/clusters/{cluster}"), {"contribution_ids": [note, big]}, lab.f),
        ("POST", lab.url("/clusters/merge"), {"source_id": big, "target_id": cluster}, lab.f),
        ("POST", lab.url("/clusters/suggest"), {"challenge_id": big}, lab.f),
    ]
    for method, url, body, headers in bodies:
        refused(db, send_json, client, method, url, body, headers=headers, expect={422})
    # Schemas declared in route files (not bounded yet): the database's refusal, or not found.
    routed = [
        ("POST", lab.url(f"/contributions/{note}/move"), {"cluster_id": big}, lab.f),
        ("POST", lab.url(f"/contributions/{note}/duplicate"), {"original_id": big}, lab.f),
    ]
    for method, url, body, headers in routed:
        refused(db, send_json, client, method, url, body, headers=headers, expect={404, 422})
    paths = [
        ("PATCH", lab.url(f"/contributions/{big}"), {"text": "t"}, lab.p(0)),
        ("DELETE", lab.url(f"/contributions/{big}"), None, lab.p(0)),
        (
            "PUT",
            lab.url(f"/clusters/{big}/rating"),
            {"relevance": 3, "policy_level": "eu"},
            lab.p(0),
        ),
        ("PATCH", lab.url(f"/clusters/{big}"), {"title": "t"}, lab.f),
    ]
    for method, url, body, headers in paths:
        refused(db, send_json, client, method, url, body, headers=headers, expect={404, 422})
    for query in (f"/contributions?challenge_id={big}", f"/clusters?challenge_id={big}"):
        # A filter naming no row: nothing (an id SQLite can hold), or refused as out of range.
        answer = client.get(lab.url(query), headers=lab.f)
        assert (answer.status_code, answer.json()) == (200, []) or answer.status_code == 422
    client.cookies.set(f"policylab_{lab.code}", lab.facilitator_token)
    pages = [
        ("GET", f"/s/{lab.code}/facilitate/clustering?challenge={big}", None),
        ("POST", f"/s/{lab.code}/facilitate/clustering/move", {"contribution_id": str(big)}),
        ("POST", f"/s/{lab.code}/facilitate/clustering/clusters/{big}/delete", {}),
    ]
    for method, url, form in pages:
        refused(db, client.request, method, url, data=form, expect={404, 422})
    client.cookies.clear()


def test_timer_seconds_far_too_large_are_refused(
    client: TestClient, db: Session, lab: Workshop
) -> None:
    for seconds in (1e308, 2**63, 10**400):
        refused(
            db,
            lambda s=seconds: client.post(
                lab.url("/timer"),
                content=f'{{"action": "start", "seconds": {s}}}'.encode(),
                headers={**lab.f, "content-type": "application/json"},
            ),
            expect={422},
        )
    client.cookies.set(f"policylab_{lab.code}", lab.facilitator_token)
    for minutes in ("1e308", "1e30", "inf", "nan"):
        refused(
            db,
            lambda m=minutes: client.post(
                f"/s/{lab.code}/facilitate/timer", data={"action": "start", "minutes": m}
            ),
            expect={422},
        )
    client.cookies.clear()


# --- the import ------------------------------------------------------------------------------


@pytest.fixture
def archive(client: TestClient, lab: Workshop) -> dict[str, Any]:
    return client.get(lab.url("/report?format=json"), headers=lab.f).json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a["challenges"][0].__setitem__("position", 2**63),
        lambda a: a["contributions"][0].__setitem__("position", 2**31),
        lambda a: a["challenges"][0].__setitem__("id", 2**63),
        lambda a: a["contributions"][0].__setitem__("cluster_id", 2**64),
        lambda a: a["contributions"][0].__setitem__("text", "gap" + NUL),
        lambda a: a["participants"][0].__setitem__("name", LONE),
        lambda a: a["session"].__setitem__("categories", [f"c{i}" for i in range(20_000)]),
        lambda a: a["challenges"][0].__setitem__("questions", ["q"] * 13),
        lambda a: a["session"].__setitem__("title", "x" * 5000),
    ],
    ids=[
        "position-2^63",
        "contribution-position-2^31",
        "id-2^63",
        "cluster-id-2^64",
        "nul-text",
        "surrogate-name",
        "20000-categories",
        "13-questions",
        "long-title",
    ],
)
def test_hostile_imports_are_refused_whole(
    client: TestClient, db: Session, archive: dict[str, Any], change: Callable[[Any], None]
) -> None:
    change(archive)
    refused(db, lambda: send_json(client, "POST", "/api/v1/sessions/import", archive), expect={422})


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_refused(client: TestClient, db: Session, depth: int) -> None:
    nested = '{"schema_version": 1, "session": ' + "[" * depth + "]" * depth + "}"
    for url in ("/api/v1/sessions/import", "/api/v1/sessions"):
        answer = refused(
            db,
            lambda u=url: client.post(
                u, content=nested.encode(), headers={"content-type": "application/json"}
            ),
            expect={400, 422},
        )
        assert "nested too deeply" in answer.json()["detail"] or url == "/api/v1/sessions"


# --- the text rules and exports --------------------------------------------------------------

CONTROLS = "a\x0bb\x0cc\r\nd\re\x01f\x1fg\x7fh\x85i\ufffej\U0001fffek\u2028l"


def test_control_characters_are_normalised_at_every_entry_point(
    client: TestClient, db: Session, lab: Workshop
) -> None:
    expected = "a\nb\nc\nd\nef\x7fgh\ni" + "jk\nl"
    expected = expected.replace("\x7f", "")
    created = lab.contribute(0, 0, CONTROLS)
    assert created["text"] == expected
    joined = client.post(lab.url("/participants"), json={"name": "Word\x0bShift"}).json()
    assert joined["name"] == "Word\nShift"
    settings = client.patch(
        lab.url(), json={"place": "Brussels\x01", "categories": ["A\x0bB"]}, headers=lab.f
    ).json()
    assert settings["place"] == "Brussels" and settings["categories"] == ["A\nB"]


def test_exports_open_whatever_was_stored(
    client: TestClient, engine: Engine, lab: Workshop
) -> None:
    """Text written before these rules (or by hand) still gives files Excel and Word open."""
    note = lab.contribute(0, 1, "placeholder")
    stored = "=cmd|' /C calc'!A0 \x0b\x01\x1f\ufffe end"
    if engine.dialect.name == "sqlite":
        stored += "\x00"  # SQLite stores NUL; PostgreSQL never could
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE contributions SET text = :t WHERE id = :i"), {"t": stored, "i": note["id"]}
        )
        connection.execute(text("UPDATE sessions SET title = :t"), {"t": "Lab\x0b\x02"})
    for fmt in ("xlsx", "docx", "csv", "md", "html", "json", "pdf"):
        answer = client.get(lab.url(f"/report?format={fmt}"), headers=lab.f)
        assert answer.status_code == 200, fmt
    workbook = load_workbook(
        io.BytesIO(client.get(lab.url("/report?format=xlsx"), headers=lab.f).content)
    )
    texts = [row[3] for row in workbook["Contributions"].iter_rows(min_row=2, values_only=True)]
    assert "=cmd|' /C calc'!A0 \n end" in texts
    cell = next(c for c in workbook["Contributions"]["D"] if str(c.value).startswith("=cmd"))
    assert cell.data_type == "s"  # a string, never a formula
    document = Document(
        io.BytesIO(client.get(lab.url("/report?format=docx"), headers=lab.f).content)
    )
    assert any("=cmd" in p.text for p in document.paragraphs) or any(
        "=cmd" in c.text for t in document.tables for r in t.rows for c in r.cells
    )
    csv_text = client.get(lab.url("/report?format=csv"), headers=lab.f).content.decode("utf-8-sig")
    assert "'=cmd" in csv_text
    # The JSON export imports again (its texts are clean).
    again = client.post(
        "/api/v1/sessions/import",
        content=client.get(lab.url("/report?format=json"), headers=lab.f).content,
    )
    assert again.status_code == 201, again.text


@pytest.mark.parametrize(
    "cell",
    [
        "=1+1",
        "+1",
        "-1+1",
        "@SUM(A1)",
        "\t=1",
        "\r=1",
        " =1",
        "\u3000=1",
        "\uff1d1",
        "\uff0b1",
        "\uff0d1",
        "\uff201",
        "-  cmd|' /C calc'!A0",
    ],
)
def test_every_csv_cell_that_could_be_a_formula_is_neutralised(cell: str) -> None:
    from app.report.render_csv import safe_cell

    assert safe_cell(cell) == "'" + cell
    assert safe_cell("A plain note") == "A plain note" and safe_cell(-1) == -1


def test_stored_contribution_counts_are_unchanged_by_refusals(
    client: TestClient, db: Session, lab: Workshop
) -> None:
    """The refusals above leave no trace: not even an event."""
    before = fresh(db).exec(select(WorkshopSession.last_event_seq)).one()
    notes = len(fresh(db).exec(select(Contribution)).all())
    send_json(
        client,
        "POST",
        lab.url("/contributions"),
        {"challenge_id": 2**63, "text": "t"},
        headers=lab.p(0),
    )
    send_json(
        client,
        "POST",
        lab.url("/contributions"),
        {"challenge_id": lab.challenges[0]["id"], "text": LONE},
        headers=lab.p(0),
    )
    assert fresh(db).exec(select(WorkshopSession.last_event_seq)).one() == before
    assert len(fresh(db).exec(select(Contribution)).all()) == notes
