"""Screenshots of every page, to compare the look of two versions of the front end.

    uv run python scripts/screenshots.py build  STATE_DIR          # workshops in every phase
    uv run python scripts/screenshots.py shoot  STATE_DIR OUT [--root DIR]
    uv run python scripts/screenshots.py compare BEFORE AFTER [--diff DIR]

`build` starts a server on a new database in STATE_DIR and creates, through the JSON
API, one session per phase (the same content as tests/e2e/test_pages.py). `shoot` starts a
server from `--root` (default: this checkout; pass an older checkout to shoot it) on a fresh
copy of that database and on a fixed port, so both versions render the same content with
the same join links and QR codes, and saves full-page screenshots of every page at
390 × 844, 1366 × 768 and 1920 × 1080, plus a few interactive states. `compare` reports,
per screenshot, whether it is pixel-identical, and how many pixels differ where not.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PORT = 8767
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--font-render-hinting=none",
]
VIEWPORTS = {
    "390": {"width": 390, "height": 844},
    "1366": {"width": 1366, "height": 768},
    "1920": {"width": 1920, "height": 1080},
}
PHASES = ["setup", "brainstorm", "clustering", "scoring", "report"]
CHALLENGES = [
    {
        "title": "Innovation ecosystems",
        "description": "How creative SMEs and AI developers find each other, and where they do not.",
        "questions": ["Which gaps stand in the way?", "What could be done about it?"],
    },
    {
        "title": "Skills for AI",
        "description": "What artists, technicians and civil servants need to learn to work with AI.",
        "questions": ["Which intervention is missing today?"],
    },
]
IDEAS = [
    (0, 0, "Small creative studios cannot afford compute for AI experiments"),
    (1, 0, "No shared testbed where artists and AI developers can prototype together"),
    (2, 0, "Funding calls are too complex for micro-enterprises in the creative sector"),
    (0, 0, "Regional creative hubs lack AI expertise to advise their members"),
    (1, 1, "Art schools do not teach how generative models work"),
    (2, 1, "Civil servants cannot judge AI procurement offers"),
    (0, 1, "Short courses on AI for technicians in theatres and studios are missing"),
]


class Server:
    def __init__(self, root: Path, db: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "POLICYLAB_DATABASE_URL": f"sqlite:///{db}",
            "POLICYLAB_RATE_LIMITS": "false",
        }
        env.pop("POLICYLAB_REDIS_URL", None)
        self.log = db.with_suffix(".log")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)]
            + ["--log-level", "warning"],
            cwd=root,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(self.log.read_text())
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("server did not start")

    def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)
        assert response.status_code < 300, (path, response.status_code, response.text)
        return response.json() if response.content else None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def build_lab(server: Server, phase: str) -> dict[str, Any]:
    body = {
        "title": "AI in the cultural and creative industries",
        "challenges": CHALLENGES,
        "place": "Brussels",
        "lab_date": "2024-05-14",
    }
    data = server.call("POST", "/api/v1/sessions", json=body)
    code, fac = data["code"], data["facilitator_token"]
    base = f"/api/v1/sessions/{code}"
    tokens = [
        server.call("POST", f"{base}/participants", json={"name": f"Person {i + 1}"})[
            "participant_token"
        ]
        for i in range(3)
    ]
    lab = {"phase": phase, "code": code, "facilitator": fac, "tokens": tokens}
    if phase == "setup":
        return lab
    server.call("POST", f"{base}/phase", fac, json={"phase": "brainstorm"})
    made = []
    for who, challenge, text in IDEAS:
        body = {"challenge_id": data["challenges"][challenge]["id"], "text": text}
        made.append(server.call("POST", f"{base}/contributions", tokens[who], json=body)["id"])
    if phase == "brainstorm":
        return lab
    server.call("POST", f"{base}/phase", fac, json={"phase": "clustering"})

    def cluster(challenge: int, title: str, ids: list[int], category: int = 0) -> int:
        body = {
            "challenge_id": data["challenges"][challenge]["id"],
            "title": title,
            "category": data["categories"][category],
            "contribution_ids": ids,
        }
        return int(server.call("POST", f"{base}/clusters", fac, json=body)["id"])

    compute = cluster(0, "Shared AI testbeds and compute for creative SMEs", made[:2])
    funding = cluster(0, "Simpler funding calls for micro-enterprises", [made[2]], 2)
    skills = cluster(1, "AI literacy in arts and public administration", made[4:6], 1)
    if phase == "clustering":
        return lab
    server.call("POST", f"{base}/phase", fac, json={"phase": "scoring"})
    for who, (a, b, c) in enumerate([(5, 3, 4), (4, 2, 4), (4, 3, 5)]):

        def rate(cluster_id: int, relevance: int, level: str, who: int = who) -> None:
            body = {"relevance": relevance, "policy_level": level}
            server.call("PUT", f"{base}/clusters/{cluster_id}/rating", tokens[who], json=body)

        rate(compute, a, ["national", "eu", "national"][who])
        rate(funding, b, "local_regional")
        if who < 2:
            rate(skills, c, "eu")
    if phase == "scoring":
        return lab
    server.call("POST", f"{base}/phase", fac, json={"phase": "report"})
    return lab


def cmd_build(state: Path) -> None:
    state.mkdir(parents=True, exist_ok=True)
    db = state / "labs.db"
    db.unlink(missing_ok=True)
    server = Server(ROOT, db, PORT)
    try:
        labs = [build_lab(server, phase) for phase in PHASES]
    finally:
        server.stop()
    (state / "labs.json").write_text(json.dumps(labs, indent=1))
    print(f"built {len(labs)} sessions in {db}")


def pages(labs: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    """(name, path, token): token None = no cookie, "f" = facilitator, else a participant."""
    first = labs[0]["code"]
    found: list[tuple[str, str, str | None]] = [
        ("landing", "/", None),
        ("create", "/new", None),
        ("create-template", "/new?template=ai-cci", None),
        ("join-code", "/join", None),
        ("join-wrong-code", "/join?code=ZZZZZZ", None),
        ("join-name", f"/join/{first}", None),
        ("facilitator-sign-in", "/f", None),
        ("error-404", "/s/ZZZZZZ/facilitate", None),
        ("error-403", f"/s/{first}/facilitate", None),
        ("created", f"/s/{first}/created", "f"),
        ("confirm-phase", f"/s/{labs[2]['code']}/facilitate/phase?to=brainstorm", "f"),
    ]
    boards = {
        "setup": [],
        "brainstorm": ["brainstorm"],
        "clustering": ["clustering"],
        "scoring": ["matrix"],
        "report": ["matrix", "report"],
    }
    for lab in labs:
        phase, code = lab["phase"], lab["code"]
        found.append((f"participant-{phase}", f"/s/{code}", lab["tokens"][0]))
        found.append((f"dashboard-{phase}", f"/s/{code}/facilitate", "f"))
        for board in boards[phase]:
            found.append((f"{board}-{phase}", f"/s/{code}/facilitate/{board}", "f"))
        found.append((f"projector-{phase}", f"/s/{code}/projector", "f"))
    return found


def settle(page: Any) -> None:
    """Wait for the stream (pages that have one), fonts and finite animations."""
    if page.locator("[data-live-sink]").count():
        page.wait_for_selector("[data-live-indicator][data-state=live]", state="attached")
    page.evaluate("document.fonts.ready")
    page.wait_for_function(
        """() => document.getAnimations().every(a => {
            const t = a.effect && a.effect.getComputedTiming();
            return a.playState !== 'running' || !t || t.endTime === Infinity; })""",
        timeout=5_000,
    )
    page.wait_for_timeout(300)


def shoot_states(page: Any, lab_by_phase: dict[str, Any], out: Path, url: str) -> None:
    """A few states that only appear after an action, at 1366 × 768."""
    clustering = lab_by_phase["clustering"]["code"]
    page.goto(f"/s/{clustering}/facilitate/clustering")
    settle(page)
    page.locator("#column-inbox [data-note]").first.click()
    settle(page)
    page.screenshot(path=str(out / "state-note-selected-1366.png"), full_page=True)
    page.keyboard.press("Escape")
    # Once clusters exist the assistant is a folded side panel: open it first.
    if page.locator("#assistant-panel:not([open])").count():
        page.locator("#assistant-panel > summary").click()
    page.get_by_role("button", name="Suggest clusters").first.click()
    page.wait_for_selector("#suggestions .suggestion, #suggestions article", timeout=15_000)
    settle(page)
    page.screenshot(path=str(out / "state-suggestions-1366.png"), full_page=True)

    page.goto(f"/s/{clustering}/facilitate")
    settle(page)
    page.get_by_role("button", name="Back to Brainstorm").click()
    page.wait_for_selector("dialog[open]")
    settle(page)
    page.screenshot(path=str(out / "state-confirm-dialog-1366.png"), full_page=False)
    page.keyboard.press("Escape")

    participant = lab_by_phase["brainstorm"]
    page.context.add_cookies(
        [
            {
                "name": f"policylab_{participant['code']}",
                "value": participant["tokens"][0],
                "url": url,
            }
        ]
    )
    page.goto(f"/s/{participant['code']}")
    settle(page)
    page.fill("#field-text", "A half-written idea about regional hubs")
    page.locator(".brainstorm__mine a", has_text="Edit").first.click()
    page.wait_for_timeout(500)
    settle(page)
    page.screenshot(path=str(out / "state-participant-editing-1366.png"), full_page=True)


def cmd_shoot(state: Path, out: Path, root: Path) -> None:
    from playwright.sync_api import sync_playwright

    labs = json.loads((state / "labs.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    db = out / "labs.db"
    shutil.copy(state / "labs.db", db)
    server = Server(root, db, PORT)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
            for vname, viewport in VIEWPORTS.items():
                phone = vname == "390"
                contexts: dict[str | None, Any] = {}

                def context_for(
                    token: str | None, code: str, viewport: Any = viewport, phone: bool = phone
                ) -> Any:
                    context = browser.new_context(
                        base_url=server.url,
                        viewport=viewport,
                        has_touch=phone,
                        is_mobile=phone,
                        reduced_motion="reduce",
                    )
                    if token:
                        context.add_cookies(
                            [{"name": f"policylab_{code}", "value": token, "url": server.url}]
                        )
                    return context

                for name, path, who in pages(labs):
                    code = next((lab["code"] for lab in labs if lab["code"] in path), "")
                    lab = next((lab for lab in labs if lab["code"] == code), None)
                    token = lab["facilitator"] if who == "f" and lab else who
                    key = f"{token}-{code}"
                    if key not in contexts:
                        contexts[key] = context_for(token, code)
                    page = contexts[key].new_page()
                    page.goto(path)
                    settle(page)
                    page.screenshot(
                        path=str(out / f"{name}-{vname}.png"), full_page=True, caret="hide"
                    )
                    page.close()
                for context in contexts.values():
                    context.close()
            by_phase = {lab["phase"]: lab for lab in labs}
            context = browser.new_context(
                base_url=server.url, viewport=VIEWPORTS["1366"], reduced_motion="reduce"
            )
            for lab in labs:
                context.add_cookies(
                    [
                        {
                            "name": f"policylab_{lab['code']}",
                            "value": lab["facilitator"],
                            "url": server.url,
                        }
                    ]
                )
            shoot_states(context.new_page(), by_phase, out, server.url)
            context.close()
            browser.close()
    finally:
        server.stop()
    print(f"screenshots in {out}")


def cmd_compare(before: Path, after: Path, diff_dir: Path | None) -> int:
    from PIL import Image, ImageChops

    names = sorted({p.name for p in before.glob("*.png")} | {p.name for p in after.glob("*.png")})
    differ = 0
    for name in names:
        a, b = before / name, after / name
        if not a.exists() or not b.exists():
            print(f"{name}: only in {'after' if b.exists() else 'before'}")
            differ += 1
            continue
        ia, ib = Image.open(a).convert("RGB"), Image.open(b).convert("RGB")
        if ia.size != ib.size:
            print(f"{name}: size {ia.size} -> {ib.size}")
            differ += 1
            continue
        delta = ImageChops.difference(ia, ib)
        box = delta.getbbox()
        if box is None:
            continue
        changed = delta.convert("L").point(lambda v: 255 if v else 0).histogram()[255]
        print(f"{name}: {changed} px differ in box {box}")
        differ += 1
        if diff_dir:
            diff_dir.mkdir(parents=True, exist_ok=True)
            mask = delta.convert("L").point(lambda v: 255 if v else 0)
            marked = ib.copy()
            marked.paste((255, 0, 255), mask=mask)
            marked.save(diff_dir / name)
    print(f"{len(names)} screenshots, {len(names) - differ} identical, {differ} differ")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("state", type=Path)
    s = sub.add_parser("shoot")
    s.add_argument("state", type=Path)
    s.add_argument("out", type=Path)
    s.add_argument("--root", type=Path, default=ROOT)
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    c.add_argument("--diff", type=Path)
    args = parser.parse_args()
    if args.cmd == "build":
        cmd_build(args.state)
    elif args.cmd == "shoot":
        cmd_shoot(args.state, args.out, args.root.resolve())
    else:
        return cmd_compare(args.before, args.after, args.diff)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
