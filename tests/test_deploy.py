"""The reverse-proxy configurations in deploy/: they parse, and nginx really does in front of
a real server what the comments promise (TLS, HTTP/2, streams unbuffered, bodies capped,
plain HTTP redirected). Skipped where the proxy is not installed (.ci/run installs both)."""

import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server import ROOT, ServerProcess, free_port

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
CADDY = shutil.which("caddy")
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")
needs_caddy = pytest.mark.skipif(CADDY is None, reason="caddy is not installed")


def self_signed(tmp: Path) -> tuple[Path, Path]:
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def nginx_config(tmp: Path, *, upstream: int, http: int, https: int) -> Path:
    """deploy/nginx.conf with only what a test run must change: ports, certificate, and
    where nginx writes (pid, logs, temporary files)."""
    cert, key = self_signed(tmp)
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    replacements = {
        "/etc/letsencrypt/live/lab.example.eu/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/lab.example.eu/privkey.pem": str(key),
        "/run/nginx-policylab.pid": str(tmp / "nginx.pid"),
        "/var/log/nginx/": f"{tmp}/",
        "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream};",
        "listen 80;": f"listen 127.0.0.1:{http};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;",
    }
    for old, new in replacements.items():
        assert old in text, old  # the test follows the file: a changed line must be seen
        text = text.replace(old, new)
    text = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)  # no IPv6 in the sandbox
    temp_paths = "".join(
        f"    {name}_temp_path {tmp / name};\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    text = text.replace("http {\n", "http {\n" + temp_paths, 1)
    config = tmp / "nginx.conf"
    config.write_text(text)
    return config


@needs_nginx
def test_the_nginx_configuration_parses(tmp_path: Path) -> None:
    config = nginx_config(tmp_path, upstream=free_port(), http=free_port(), https=free_port())
    checked = subprocess.run(
        [NGINX, "-t", "-c", str(config), "-e", str(tmp_path / "error.log")],  # type: ignore[list-item]
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


@pytest.fixture
def behind_nginx(tmp_path: Path) -> Iterator[tuple[ServerProcess, str, str]]:
    if NGINX is None:
        pytest.skip("nginx is not installed")
    app = ServerProcess(
        tmp_path,
        {
            "POLICYLAB_DATABASE_URL": f"sqlite:///{tmp_path / 'proxied.db'}",
            "POLICYLAB_HTTPS": "true",
            "POLICYLAB_FORWARDED_ALLOW_IPS": "127.0.0.1",
            "POLICYLAB_KEEPALIVE_SECONDS": "1",
        },
    ).start()
    http, https = free_port(), free_port()
    config = nginx_config(tmp_path, upstream=app.port, http=http, https=https)
    proxy = subprocess.Popen(
        [NGINX, "-c", str(config), "-e", str(tmp_path / "error.log"), "-g", "daemon off;"],  # type: ignore[list-item]
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                httpx.get(f"https://127.0.0.1:{https}/healthz", verify=False, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or proxy.poll() is not None:
                    raise RuntimeError((tmp_path / "error.log").read_text()) from None
                time.sleep(0.1)
        yield app, f"https://127.0.0.1:{https}", f"http://127.0.0.1:{http}"
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        app.stop()


def test_nginx_serves_the_app_over_tls_and_http2_with_streams_unbuffered(
    behind_nginx: tuple[ServerProcess, str, str],
) -> None:
    _app, base, plain = behind_nginx
    with httpx.Client(base_url=base, verify=False, timeout=10) as client:
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.headers["strict-transport-security"].startswith("max-age=31536000")
        created = client.post(
            "/api/v1/sessions", json={"title": "Proxied", "challenges": [{"title": "A"}]}
        ).json()
        code, challenge = created["code"], created["challenges"][0]["id"]
        facilitator = {"Authorization": f"Bearer {created['facilitator_token']}"}
        client.post(
            f"/api/v1/sessions/{code}/phase", json={"phase": "brainstorm"}, headers=facilitator
        )

        # An event reaches a stream through the proxy as soon as it happens.
        received: list[tuple[float, str]] = []

        def listen() -> None:
            with (
                httpx.Client(base_url=base, verify=False, timeout=15) as streamer,
                streamer.stream(
                    "GET", f"/api/v1/sessions/{code}/events", headers=facilitator
                ) as stream,
            ):
                for line in stream.iter_lines():
                    if line.startswith("event:"):
                        received.append((time.monotonic(), line))
                    if "contribution_added" in line:
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        assert received, "the stream's first event never came through the proxy"
        sent = time.monotonic()
        posted = client.post(
            f"/api/v1/sessions/{code}/contributions",
            json={"challenge_id": challenge, "text": "Through the proxy"},
            headers=facilitator,
        )
        assert posted.status_code == 201
        listener.join(timeout=10)
        arrived = [at for at, line in received if "contribution_added" in line]
        assert arrived and arrived[0] - sent < 2.0  # not held in a proxy buffer

        # Bodies over the cap are refused by nginx itself.
        huge = client.post("/api/v1/sessions/import", content=b" " * 6_000_000, headers=facilitator)
        assert huge.status_code == 413

    # Plain HTTP is redirected to HTTPS.
    redirect = httpx.get(f"{plain}/healthz", follow_redirects=False)
    assert redirect.status_code == 301
    assert redirect.headers["location"].startswith("https://")

    curl = shutil.which("curl")
    if curl:  # HTTP/2 is negotiated (browsers then share one connection per host)
        version = subprocess.run(
            [curl, "-sk", "--http2", "-o", "/dev/null", "-w", "%{http_version}", f"{base}/healthz"],
            capture_output=True,
            text=True,
        ).stdout
        assert version == "2"


@needs_caddy
def test_the_caddyfile_is_valid(tmp_path: Path) -> None:
    checked = subprocess.run(
        [
            CADDY,
            "validate",
            "--config",
            str(ROOT / "deploy" / "Caddyfile"),
            "--adapter",
            "caddyfile",
        ],  # type: ignore[list-item]
        capture_output=True,
        text=True,
        env={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert checked.returncode == 0, checked.stderr
    assert "Valid configuration" in checked.stdout + checked.stderr


@needs_caddy
def test_the_caddyfile_says_what_it_promises(tmp_path: Path) -> None:
    """Its JSON form holds the timeouts, the body cap and the immediate flush of streams."""
    import json

    adapted = subprocess.run(
        [CADDY, "adapt", "--config", str(ROOT / "deploy" / "Caddyfile"), "--adapter", "caddyfile"],  # type: ignore[list-item]
        capture_output=True,
        text=True,
        env={"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert adapted.returncode == 0, adapted.stderr
    config = json.loads(adapted.stdout)
    [server] = config["apps"]["http"]["servers"].values()
    assert server["read_header_timeout"] == 10_000_000_000
    assert server["read_timeout"] == 60_000_000_000  # the whole request, body included
    text = json.dumps(server)
    assert '"max_size": 5000000' in text
    assert '"flush_interval": -1' in text
    assert "events|s/" in text
