"""The join link phones can open: loopback addresses are recognised, the machine's network
address is found without sending anything, and the dashboard, the projector and the
command line give that address (or say how to get one) when the one in use is loopback."""

import socket

import pytest
from fastapi.testclient import TestClient

from app import network
from app.cli import main as cli
from app.config import get_settings
from tests.conftest import create_workshop

LAN = "192.0.2.7"
PAGE = {"Accept": "text/html"}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("app.localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("192.168.1.20", False),
        ("lab.example.eu", False),
        ("", False),
        (None, False),
    ],
)
def test_loopback_hosts_are_recognised(host: str | None, loopback: bool) -> None:
    assert network.is_loopback_host(host) is loopback


def test_the_network_address_is_never_a_loopback_one() -> None:
    found = network.lan_address()
    assert found is None or not network.is_loopback_host(found)


def test_listens_on_tells_an_open_port_from_a_closed_one() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert network.listens_on("127.0.0.1", port)
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        free = closed.getsockname()[1]
    assert not network.listens_on("127.0.0.1", free)


@pytest.fixture
def on_a_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(network, "lan_address", lambda: LAN)


def test_a_loopback_address_is_replaced_only_when_the_server_answers_on_the_network(
    on_a_network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert network.reachable("https://lab.example.eu") == network.Reachability(
        url="https://lab.example.eu"
    )
    monkeypatch.setattr(network, "listens_on", lambda host, port: (host, port) == (LAN, 8000))
    reach = network.reachable("http://localhost:8000")
    assert reach.replaced and reach.url == f"http://{LAN}:8000"
    reach = network.reachable("http://127.0.0.1:8150")
    assert not reach.replaced and reach.url == "http://127.0.0.1:8150"
    assert reach.loopback and reach.lan_url == f"http://{LAN}:8150"
    monkeypatch.setattr(network, "lan_address", lambda: None)
    reach = network.reachable("http://localhost:8000")
    assert reach.loopback and reach.lan_url is None and reach.url == "http://localhost:8000"


def test_dashboard_and_projector_give_the_network_address_instead_of_localhost(
    client: TestClient, on_a_network: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = create_workshop(client)
    client.cookies.set(f"policylab_{w.code}", w.facilitator_token)
    local = "http://127.0.0.1:8000"
    monkeypatch.setattr(network, "listens_on", lambda host, port: True)
    dashboard = client.get(f"{local}/s/{w.code}/facilitate", headers=PAGE).text
    assert f'value="http://{LAN}:8000/join/{w.code}"' in dashboard
    assert "network address instead" in dashboard
    projector = client.get(f"{local}/s/{w.code}/projector", headers=PAGE).text
    assert f"http://{LAN}:8000/join/{w.code}" in projector and "127.0.0.1" not in projector
    assert "phones on the same Wi-Fi can open it" in projector
    # Listening on this computer only: the link stays, and both say how to fix it.
    monkeypatch.setattr(network, "listens_on", lambda host, port: False)
    dashboard = client.get(f"{local}/s/{w.code}/facilitate", headers=PAGE).text
    assert f'value="{local}/join/{w.code}"' in dashboard
    assert "--host 0.0.0.0" in dashboard and f"http://{LAN}:8000/join/{w.code}" in dashboard
    projector = client.get(f"{local}/s/{w.code}/projector", headers=PAGE).text
    assert "Phones cannot open this address" in projector and "--host 0.0.0.0" in projector
    # A real address: nothing to say.
    dashboard = client.get(f"/s/{w.code}/facilitate", headers=PAGE).text
    assert "--host 0.0.0.0" not in dashboard and "network address instead" not in dashboard


def test_serve_and_demo_print_a_link_phones_can_open(
    client: TestClient,
    on_a_network: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    served: list[dict[str, object]] = []
    monkeypatch.setattr("app.cli.uvicorn.run", lambda *args, **kwargs: served.append(kwargs))
    assert cli(["serve", "--host", "0.0.0.0", "--port", "8123"]) == 0
    out = capsys.readouterr().out
    assert f"http://{LAN}:8123" in out and "http://localhost:8123" in out
    assert "--host 0.0.0.0" not in out
    assert served[-1]["host"] == "0.0.0.0" and served[-1]["port"] == 8123
    # Bound to this computer only: the network address it would have, and how to get it.
    assert cli(["serve", "--port", "8124"]) == 0
    out = capsys.readouterr().out
    assert "--host 0.0.0.0" in out and f"http://{LAN}:8124" in out
    assert served[-1]["host"] == "127.0.0.1"
    assert cli(["demo", "--host", "0.0.0.0", "--port", "8125", "--empty"]) == 0
    out = capsys.readouterr().out
    code = out.split("(code ")[1].split(")")[0]
    assert f"http://{LAN}:8125/join/{code}" in out
    assert f"http://localhost:8125/f/{code}?key=" in out
    assert cli(["demo", "--port", "8126", "--empty"]) == 0
    out = capsys.readouterr().out
    code = out.split("(code ")[1].split(")")[0]
    assert "--host 0.0.0.0" in out and f"http://{LAN}:8126/join/{code}" in out
    # A configured public address is the one to give.
    monkeypatch.setenv("POLICYLAB_BASE_URL", "https://lab.example.eu")
    get_settings.cache_clear()
    try:
        assert cli(["serve", "--port", "8127"]) == 0
        out = capsys.readouterr().out
        assert "https://lab.example.eu" in out and "--host 0.0.0.0" not in out
    finally:
        monkeypatch.delenv("POLICYLAB_BASE_URL")
        get_settings.cache_clear()
