"""A small scored workshop whose figures are easy to check by hand."""

import io
from dataclasses import dataclass

from fastapi.testclient import TestClient

from tests.conftest import Workshop, create_workshop

# Distinctive names: if one of them shows up in an export, it leaked.
NAMES = ["Zebulon Quaxley", "Philippa Wrenfield", "Ottoline Marchbanks", "Barnaby Culpepper"]


@dataclass
class Scored:
    w: Workshop
    clusters: dict[str, int]
    notes: dict[str, int]


def scored_workshop(client: TestClient, *, show_names: bool = False) -> Scored:
    """Four named participants, two challenges, four clusters (one contested, one unrated,
    one accepted from a suggestion and then renamed), a merged duplicate and one contribution
    left unclustered."""
    w = create_workshop(
        client,
        challenges=2,
        show_names=show_names,
        place="Brussels",
        organiser="Creative Policy Network",
        lab_date="14 May 2024",
    )
    for name in NAMES:
        w.join(name)
    w.phase("brainstorm")
    texts = {
        "hubs": "Regional AI hubs are missing for creative SMEs",
        "hubs2": "No regional hub advises creative firms on AI",
        "vouchers": "Training vouchers exclude freelancers",
        "pay": "Creators are not paid when their works train models",
        "optout": "Opt-out from text and data mining does not work",
        "lonely": "Nobody clustered this stray idea",
        "data": "Open cultural datasets are hard to find",
    }
    challenge_of = {"hubs": 0, "hubs2": 0, "vouchers": 0, "lonely": 0, "pay": 1, "optout": 1}
    challenge_of["data"] = 1
    notes = {
        key: w.contribute(i % 4, challenge_of[key], text)["id"]
        for i, (key, text) in enumerate(texts.items())
    }
    w.phase("clustering")
    hubs = w.cluster(0, "Regional AI hubs", "Ecosystem structure", [notes["hubs"], notes["hubs2"]])
    response = client.post(
        w.url(f"/contributions/{notes['hubs2']}/duplicate"),
        json={"original_id": notes["hubs"]},
        headers=w.f,
    )
    assert response.status_code == 200, response.text
    vouchers = w.cluster(0, "Training vouchers", "AI and sector players", [notes["vouchers"]])
    accepted = client.post(
        w.url("/clusters/accept"),
        json={
            "challenge_id": w.challenges[1]["id"],
            "suggestions": [
                {"title": "Pay creators", "contribution_ids": [notes["pay"], notes["optout"]]}
            ],
        },
        headers=w.f,
    )
    assert accepted.status_code == 201, accepted.text
    pay = accepted.json()[0]
    renamed = client.patch(
        w.url(f"/clusters/{pay['id']}"),
        json={"title": "Remuneration for AI training", "category": "Key framework conditions"},
        headers=w.f,
    )
    assert renamed.status_code == 200, renamed.text
    data = w.cluster(1, "Open cultural data spaces", "Key framework conditions", [notes["data"]])
    w.phase("scoring")
    # Regional AI hubs: 5, 5, 4, 4 → mean 4.5, median 4.5; levels EU 1, national 1, local 2.
    for who, score, level in [
        (0, 5, "local_regional"),
        (1, 5, "local_regional"),
        (2, 4, "national"),
        (3, 4, "eu"),
    ]:
        w.rate(who, hubs["id"], score, level)
    # Training vouchers: 2, 2, 2 → mean 2.0, full agreement, national.
    for who in (0, 1, 2):
        w.rate(who, vouchers["id"], 2, "national")
    # Remuneration: 1, 5, 5, 1 → mean 3.0, sd 2, agreement 0: contested; EU.
    for who, score in [(0, 1), (1, 5), (2, 5), (3, 1)]:
        w.rate(who, pay["id"], score, "eu")
    w.phase("report")
    return Scored(
        w=w,
        clusters={
            "hubs": hubs["id"],
            "vouchers": vouchers["id"],
            "pay": pay["id"],
            "data": data["id"],
        },
        notes=notes,
    )


def export(w: Workshop, fmt: str) -> bytes:
    """The report file in `fmt`, downloaded by the facilitator."""
    response = w.client.get(w.url("/report"), params={"format": fmt}, headers=w.f)
    assert response.status_code == 200, response.text
    return response.content


def pdf_text(content: bytes) -> str:
    """All text of a PDF, pages joined."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def docx_text(content: bytes) -> tuple[list[tuple[str, str]], str]:
    """(style, text) of every paragraph, and all text including tables."""
    from docx import Document

    document = Document(io.BytesIO(content))
    paragraphs = [(p.style.name, p.text) for p in document.paragraphs]
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return paragraphs, "\n".join([t for _, t in paragraphs] + cells)
