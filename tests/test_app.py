"""The app as a whole: persistence across restarts, browser safety, health."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.config import get_settings
from app.main import create_app
from app.sessions.models import WorkshopSession
from tests.conftest import count, create_workshop


def test_everything_survives_a_restart_on_the_same_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYLAB_DATABASE_URL", f"sqlite:///{tmp_path / 'lab.db'}")
    get_settings.cache_clear()
    with TestClient(create_app()) as first:
        w = create_workshop(first, participants=2)
        w.phase("brainstorm")
        note = w.contribute(0, 0, "Persistent gap")
        w.phase("clustering")
        cluster = w.cluster(0, "Persistent solution", "Ecosystem structure", [note["id"]])
        w.phase("scoring")
        w.rate(1, cluster["id"], 5, "eu")
    get_settings.cache_clear()
    with TestClient(create_app()) as second:
        session = second.get(w.url(), headers=w.p(0)).json()
        assert session["phase"] == "scoring"
        assert session["counts"] == {
            "participants": 2,
            "contributions": 1,
            "clusters": 1,
            "ratings": 1,
        }
        matrix = second.get(w.url("/matrix"), headers=w.f).json()["clusters"]
        assert matrix[0]["title"] == "Persistent solution" and matrix[0]["relevance_mean"] == 5
        texts = [c["text"] for c in second.get(w.url("/contributions"), headers=w.f).json()]
        assert texts == ["Persistent gap"]
    get_settings.cache_clear()


def test_cross_site_cookie_writes_are_refused(client: TestClient) -> None:
    w = create_workshop(client, participants=1)
    client.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    url = w.url("/phase")
    evil = client.post(url, json={"phase": "brainstorm"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert evil.status_code == 403
    other_origin = client.post(
        url, json={"phase": "brainstorm"}, headers={"Origin": "https://evil.example"}
    )
    assert other_origin.status_code == 403
    assert client.get(w.url(), headers=w.f).json()["phase"] == "setup"
    same = client.post(url, json={"phase": "brainstorm"}, headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200
    client.cookies.clear()


def test_security_headers_on_every_response(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_oversized_requests_are_refused(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {"title": "Lab", "challenges": [{"title": "A", "description": "x" * 6_000_000}]}
    response = client.post("/api/v1/sessions", json=body)
    assert response.status_code == 413
    assert response.json()["detail"] == "The request is too large."


def test_oversized_chunked_bodies_are_refused_and_change_nothing(
    client: TestClient, db: Session
) -> None:
    """Without Content-Length the body is counted as it arrives."""
    import json

    data = json.dumps({"title": "Lab", "challenges": [{"title": "A"}], "pad": ""})
    padding = b" " * (get_settings().max_request_bytes + 1)

    def chunks():  # a generator makes the client send Transfer-Encoding: chunked
        yield data.encode()[:-1]
        for start in range(0, len(padding), 256 * 1024):
            yield padding[start : start + 256 * 1024]
        yield b"}"

    response = client.post(
        "/api/v1/sessions", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "The request is too large."}
    assert count(db, WorkshopSession) == 0

    def small():
        yield data.encode()

    created = client.post(
        "/api/v1/sessions", content=small(), headers={"content-type": "application/json"}
    )
    assert created.status_code == 201  # a chunked body under the cap goes through
    assert count(db, WorkshopSession) == 1


def test_the_body_cap_counts_every_chunk() -> None:
    """Driven at the ASGI level, so that the body really arrives in several messages."""
    import asyncio

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from app.security import SecurityMiddleware

    read: list[int] = []

    async def store(request: Request) -> JSONResponse:
        body = await request.body()
        read.append(len(body))
        return JSONResponse({"size": len(body)}, status_code=201)

    app = SecurityMiddleware(
        Starlette(routes=[Route("/", store, methods=["POST"])]), https=False, max_body=1000
    )

    async def post(chunks: list[bytes]) -> list[dict]:
        messages = [
            {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            for i, chunk in enumerate(chunks)
        ]
        sent: list[dict] = []

        async def receive() -> dict:
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/",
            "raw_path": b"/",
            "root_path": "",
            "query_string": b"",
            "headers": [
                (b"host", b"testserver"),
                (b"origin", b"http://testserver"),
                (b"transfer-encoding", b"chunked"),
            ],
            "client": ("127.0.0.1", 5000),
            "server": ("testserver", 80),
        }
        await app(scope, receive, send)  # type: ignore[arg-type]
        return [m for m in sent if m["type"] == "http.response.start"]

    # Every chunk is under the cap, together they are over it.
    [refused] = asyncio.run(post([b"x" * 400] * 3))
    assert refused["status"] == 413 and (b"connection", b"close") in refused["headers"]
    assert read == []  # the route never got the body
    [accepted] = asyncio.run(post([b"x" * 400] * 2))
    assert accepted["status"] == 201 and read == [800]


def test_rate_limit_answers_429(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import ratelimit

    monkeypatch.setitem(ratelimit.LIMITS, "create_session", 2)
    body = {"title": "Lab", "challenges": [{"title": "A"}]}
    assert client.post("/api/v1/sessions", json=body).status_code == 201
    assert client.post("/api/v1/sessions", json=body).status_code == 201
    limited = client.post("/api/v1/sessions", json=body)
    assert limited.status_code == 429 and "wait" in limited.json()["detail"]
    assert 1 <= int(limited.headers["retry-after"]) <= 61
    assert f"wait {limited.headers['retry-after']} seconds" in limited.json()["detail"]


def test_unknown_api_path_is_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"detail": "There is nothing at this address."}


def test_openapi_documents_the_bearer_token_and_the_error_shape(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    error = {"$ref": "#/components/schemas/ErrorDetail"}
    assert spec["components"]["schemas"]["ErrorDetail"]["required"] == ["detail"]
    contribute = spec["paths"]["/api/v1/sessions/{code}/contributions"]["post"]
    assert contribute["security"] == [{"HTTPBearer": []}]
    for status in ("401", "403", "404", "409", "422", "429"):
        assert contribute["responses"][status]["content"]["application/json"]["schema"] == error
    # FastAPI's own list-shaped validation error is never sent, so it is not documented.
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_contribution_limit_is_per_participant_and_spares_the_facilitator(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import ratelimit

    monkeypatch.setitem(ratelimit.LIMITS, "contribute", 2)
    w = create_workshop(client, participants=2)
    w.phase("brainstorm")
    url = w.url("/contributions")
    body = {"challenge_id": w.challenges[0]["id"]}
    first = [client.post(url, json={**body, "text": f"A{i}"}, headers=w.p(0)) for i in range(3)]
    assert [r.status_code for r in first] == [201, 201, 429]
    assert client.post(url, json={**body, "text": "B"}, headers=w.p(1)).status_code == 201
    facilitator = [client.post(url, json={**body, "text": f"F{i}"}, headers=w.f) for i in range(4)]
    assert [r.status_code for r in facilitator] == [201] * 4


CONTRIBUTION = {"id", "challenge_id", "text", "cluster_id"}
CLUSTER = {"id", "challenge_id", "title", "category", "contribution_ids"}
MATRIX_ROW = {
    *("id", "challenge_id", "title", "category", "ratings", "relevance_mean"),
    *("relevance_median", "relevance_sd", "policy_levels", "policy_level", "agreement", "rank"),
}
# (method, path, status) → (answers a list?, the contract's fields of the answer)
CONTRACT_ANSWERS: dict[tuple[str, str, str], tuple[bool, set[str]]] = {
    ("post", "/api/v1/sessions", "201"): (
        False,
        {"code", "title", "phase", "facilitator_token", "join_url", "facilitator_url"}
        | {"challenges", "categories"},
    ),
    ("get", "/api/v1/sessions/{code}", "200"): (
        False,
        {"code", "title", "phase", "challenges", "categories", "counts"},
    ),
    ("post", "/api/v1/sessions/{code}/participants", "201"): (
        False,
        {"id", "name", "participant_token"},
    ),
    ("post", "/api/v1/sessions/{code}/phase", "200"): (False, {"phase"}),
    ("post", "/api/v1/sessions/{code}/contributions", "201"): (False, CONTRIBUTION),
    ("get", "/api/v1/sessions/{code}/contributions", "200"): (True, CONTRIBUTION),
    ("post", "/api/v1/sessions/{code}/clusters", "201"): (False, CLUSTER),
    ("patch", "/api/v1/sessions/{code}/clusters/{cluster_id}", "200"): (False, CLUSTER),
    ("get", "/api/v1/sessions/{code}/clusters", "200"): (True, CLUSTER),
    ("post", "/api/v1/sessions/{code}/clusters/suggest", "200"): (False, {"suggestions"}),
    ("put", "/api/v1/sessions/{code}/clusters/{cluster_id}/rating", "200"): (
        False,
        {"cluster_id", "relevance", "policy_level"},
    ),
    ("get", "/api/v1/sessions/{code}/matrix", "200"): (False, {"clusters"}),
    ("post", "/api/v1/sessions/import", "201"): (False, {"code", "facilitator_token"}),
}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _object(spec: dict[str, Any], schema: dict[str, Any], *, many: bool = False) -> dict[str, Any]:
    """The object schema an answer (or each item of a list answer) follows."""
    schema = _resolve(spec, schema)
    if many:
        assert schema["type"] == "array"
        schema = _resolve(spec, schema["items"])
    assert schema.get("type") == "object" and "properties" in schema, schema
    return schema


def _assert_fields(schema: dict[str, Any], fields: set[str], where: str) -> None:
    assert fields <= set(schema["properties"]), (where, fields - set(schema["properties"]))
    assert fields <= set(schema.get("required", [])), (where, fields - set(schema["required"]))


def test_openapi_describes_every_contract_answer_field_by_field(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    answers = {}
    for (method, path, status), (many, fields) in CONTRACT_ANSWERS.items():
        response = spec["paths"][path][method]["responses"][status]
        schema = _object(spec, response["content"]["application/json"]["schema"], many=many)
        _assert_fields(schema, fields, f"{method} {path}")
        answers[method, path] = schema["properties"]

    session = answers["get", "/api/v1/sessions/{code}"]
    counts = {"participants", "contributions", "clusters", "ratings"}
    _assert_fields(_object(spec, session["counts"]), counts, "session counts")
    challenge = {"id", "title", "description", "questions"}
    _assert_fields(_object(spec, session["challenges"], many=True), challenge, "challenges")

    contribution = _object(spec, spec["components"]["schemas"]["ContributionPublic"])
    # Shown to the facilitator only: an optional key, never a null.
    assert "author" in contribution["properties"]
    assert "author" not in contribution["required"]
    assert contribution["properties"]["author"]["type"] == "string"

    suggestions = answers["post", "/api/v1/sessions/{code}/clusters/suggest"]["suggestions"]
    suggestion = _object(spec, suggestions, many=True)
    _assert_fields(suggestion, {"title", "contribution_ids"}, "suggestion")
    assert "category" in suggestion["properties"]

    row = _object(spec, answers["get", "/api/v1/sessions/{code}/matrix"]["clusters"], many=True)
    _assert_fields(row, MATRIX_ROW, "matrix row")
    levels = {"local_regional", "national", "eu"}
    _assert_fields(_object(spec, row["properties"]["policy_levels"]), levels, "policy_levels")
    # Unrated clusters answer null figures.
    for figure in ("relevance_mean", "relevance_median", "relevance_sd", "agreement"):
        assert {"type": "null"} in row["properties"][figure]["anyOf"], figure
