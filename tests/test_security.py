"""Cross-site request refusal (every variant found by the probe), the `__Host-` cookie over
HTTPS, and facilitator keys kept out of access logs however they are encoded."""

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.config import get_settings
from app.main import create_app
from app.sessions.models import WorkshopSession
from tests.conftest import Workshop, count, create_workshop, fresh

BROWSER_ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def bare(client: TestClient) -> Iterator[TestClient]:
    """The test client without the Origin header it sends by default (like a script)."""
    del client.headers["origin"]
    yield client
    client.headers.update(BROWSER_ORIGIN)


def phase_of(db: Session, w: Workshop) -> str:
    return str(
        fresh(db).exec(select(WorkshopSession.phase).where(WorkshopSession.code == w.code)).one()
    )


# --- cookie-authenticated API calls ------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    ["Basic eDp5", "Bearer", "Bearer ", "Bearer not-a-token", "Negotiate abc"],
)
def test_an_authorization_header_does_not_switch_the_origin_check_off(
    bare: TestClient, db: Session, authorization: str
) -> None:
    w = create_workshop(bare)
    bare.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    for forged in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}, {}):
        answer = bare.post(
            w.url("/phase"),
            json={"phase": "brainstorm"},
            headers={"Authorization": authorization, **forged},
        )
        assert answer.status_code == 403, (forged, answer.text)
    assert phase_of(db, w) == "setup"
    bare.cookies.clear()


def test_a_valid_bearer_token_with_a_cookie_still_needs_the_same_origin(
    bare: TestClient, db: Session
) -> None:
    w = create_workshop(bare)
    bare.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    forged = bare.post(
        w.url("/phase"),
        json={"phase": "brainstorm"},
        headers={**w.f, "Sec-Fetch-Site": "same-site"},
    )
    assert forged.status_code == 403 and phase_of(db, w) == "setup"
    ours = bare.post(
        w.url("/phase"), json={"phase": "brainstorm"}, headers={**w.f, **BROWSER_ORIGIN}
    )
    assert ours.status_code == 200 and phase_of(db, w) == "brainstorm"
    bare.cookies.clear()


def test_scripts_with_a_bearer_token_and_no_cookie_need_no_origin(
    bare: TestClient, db: Session
) -> None:
    created = bare.post("/api/v1/sessions", json={"title": "Lab", "challenges": [{"title": "A"}]})
    assert created.status_code == 201  # creating needs no token and no origin
    w = create_workshop(bare, participants=1)  # joining neither
    assert bare.post(w.url("/phase"), json={"phase": "brainstorm"}, headers=w.f).status_code == 200
    assert w.contribute(0, 0, "Sent by a script")["id"]
    assert phase_of(db, w) == "brainstorm"


# --- page routes ---------------------------------------------------------------------------------

NEW_SESSION = {"title": "Forged lab", "challenges-0-title": "A challenge", "categories": "Players"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "null"}, {"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}],
    ids=["no-origin", "origin-null", "other-origin", "cross-site"],
)
def test_page_writes_need_a_same_origin_signal(
    bare: TestClient, db: Session, headers: dict[str, str]
) -> None:
    w = create_workshop(bare, participants=1)
    bare.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    sessions = count(db, WorkshopSession)
    forged = [
        bare.post("/new", data=NEW_SESSION, headers=headers, follow_redirects=False),
        bare.post(
            "/new/template", data={"template": "ai-cci"}, headers=headers, follow_redirects=False
        ),
        bare.post(
            "/f",
            data={"code": w.code, "key": w.facilitator_token},
            headers=headers,
            follow_redirects=False,
        ),
        bare.post(
            f"/s/{w.code}/facilitate/phase",
            data={"phase": "brainstorm"},
            headers=headers,
            follow_redirects=False,
        ),
        bare.post(
            f"/join/{w.code}", data={"name": "Puppet"}, headers=headers, follow_redirects=False
        ),
    ]
    assert [a.status_code for a in forged] == [403] * len(forged)
    assert count(db, WorkshopSession) == sessions and phase_of(db, w) == "setup"
    bare.cookies.clear()


@pytest.mark.parametrize(
    "headers",
    [BROWSER_ORIGIN, {"Sec-Fetch-Site": "same-origin"}, {"Sec-Fetch-Site": "none"}],
    ids=["origin", "same-origin", "user-initiated"],
)
def test_page_writes_from_our_own_pages_work(
    bare: TestClient, db: Session, headers: dict[str, str]
) -> None:
    w = create_workshop(bare)
    bare.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    moved = bare.post(
        f"/s/{w.code}/facilitate/phase",
        data={"phase": "brainstorm"},
        headers=headers,
        follow_redirects=False,
    )
    assert moved.status_code == 303 and phase_of(db, w) == "brainstorm"
    created = bare.post("/new", data=NEW_SESSION, headers=headers, follow_redirects=False)
    assert created.status_code == 303
    assert (
        fresh(db)
        .exec(
            select(func.count())
            .select_from(WorkshopSession)
            .where(WorkshopSession.title == "Forged lab")
        )
        .one()
        == 1
    )
    bare.cookies.clear()


# --- cookies ----------------------------------------------------------------------------------------


def test_over_https_the_session_cookie_has_the_host_prefix(
    settings_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYLAB_HTTPS", "true")
    get_settings.cache_clear()
    with TestClient(
        create_app(), base_url="https://testserver", headers={"Origin": "https://testserver"}
    ) as client:
        created = client.post("/new", data=NEW_SESSION, follow_redirects=False)
        assert created.status_code == 303
        code = created.headers["location"].split("/")[2]
        cookie = next(
            c for c in created.headers.get_list("set-cookie") if c.startswith("__Host-policylab_")
        )
        assert cookie.startswith(f"__Host-policylab_{code}=")
        attributes = [a.strip().lower() for a in cookie.split(";")]
        assert "secure" in attributes and "path=/" in attributes and "httponly" in attributes
        assert not any(a.startswith("domain=") for a in attributes)
        # The browser sends it back and it signs the facilitator in.
        assert client.get(f"/s/{code}/facilitate").status_code == 200
        # A cookie without the prefix is not this session's cookie over HTTPS.
        token = client.cookies.get(f"__Host-policylab_{code}")
        client.cookies.clear()
        client.cookies.set(f"policylab_{code}", token)
        assert client.get(f"/s/{code}/facilitate").status_code == 403
    get_settings.cache_clear()


def test_over_http_the_cookie_keeps_its_plain_name(client: TestClient) -> None:
    created = client.post("/new", data=NEW_SESSION, follow_redirects=False)
    code = created.headers["location"].split("/")[2]
    assert any(c.startswith(f"policylab_{code}=") for c in created.headers.get_list("set-cookie"))


# --- access logs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/f/ABC234?key=SECRET-TOKEN",
        "/f/ABC234?%6Bey=SECRET-TOKEN",
        "/f/ABC234?k%65y=SECRET-TOKEN",
        "/f/ABC234?%6b%65%79=SECRET-TOKEN",
        "/f/ABC234?KEY=SECRET-TOKEN",
        "/f/ABC234?x=1&key=SECRET-TOKEN&y=2",
        "/f/ABC234?key=SECRET-TOKEN&key=SECRET-TOKEN",
    ],
)
def test_facilitator_keys_never_reach_the_access_log(
    client: TestClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
) -> None:
    access = logging.getLogger("uvicorn.access")
    # Listen on the logger itself (once): a server started in-process by another test on this
    # worker may have configured uvicorn's loggers not to propagate to the root.
    monkeypatch.setattr(access, "propagate", False)
    access.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="uvicorn.access"):
            # The call uvicorn makes for every request.
            access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", target, "1.1", 303)
    finally:
        access.removeHandler(caplog.handler)
    [record] = [r for r in caplog.records if r.name == "uvicorn.access"]
    line = record.getMessage()
    assert "SECRET-TOKEN" not in line and "[redacted]" in line
    assert "/f/ABC234?" in line
