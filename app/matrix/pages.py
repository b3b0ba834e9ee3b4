"""The facilitator's scoring monitor and the relevance × policy-level matrix.

Live regions, built by `matrix_context`: `#scoring-progress` (polled until the live stream
replaces the poll) and `#matrix-results` (one `#matrix-challenge-N` per challenge).
"""

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlmodel import Session

from app.clustering.pages import FacilitatorPage
from app.db import DbDep
from app.matrix.service import MatrixRow, compute_matrix, scoring_progress
from app.sessions.auth import Actor
from app.sessions.service import list_challenges
from app.templating import is_htmx, render
from app.vocabulary import MATRIX_LEVELS, POLICY_LEVELS, RELEVANCE_LABELS, relevance_band

router = APIRouter(include_in_schema=False)

REGIONS = {"progress", "results"}


def _challenge_results(rows: list[MatrixRow]) -> dict[str, Any]:
    rated = [r for r in rows if r.ratings]
    grid: dict[str, dict[int, list[MatrixRow]]] = {
        level: {band: [] for band in range(1, 6)} for level in MATRIX_LEVELS
    }
    for row in rated:
        if row.policy_level in grid and row.relevance_mean is not None:
            grid[row.policy_level][relevance_band(row.relevance_mean)].append(row)
    return {"rated": rated, "unrated": [r for r in rows if not r.ratings], "grid": grid}


def matrix_context(db: Session, actor: Actor) -> dict[str, Any]:
    """Scoring progress and the ranked matrix of every challenge."""
    session = actor.session
    rows = compute_matrix(db, session)
    progress = scoring_progress(db, session)
    challenges = []
    for challenge in list_challenges(db, session):
        own = [r for r in rows if r.challenge_id == challenge.id]
        challenges.append({"challenge": challenge, **_challenge_results(own)})
    return {
        "session": session,
        "nav_active": "matrix",
        "progress": progress,
        "participants": progress[0].participants if progress else 0,
        "challenges": challenges,
        "clusters_total": len(rows),
        "matrix_levels": MATRIX_LEVELS,
        "level_order": POLICY_LEVELS,
        "relevance_labels": RELEVANCE_LABELS,
    }


@router.get("/s/{code}/facilitate/matrix")
def matrix_page(
    code: str,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    region: str | None = None,
    seq: int | None = None,
) -> Response:
    """Scoring progress per challenge, then each challenge's matrix and ranking."""
    if is_htmx(request) and region == "progress" and seq == actor.session.last_event_seq:
        return Response(status_code=204)
    block = region if region in REGIONS else "results"
    return render(request, "matrix/matrix.html", matrix_context(db, actor), block=block)
