"""JSON API for ratings and the matrix (`/api/v1`)."""

from fastapi import APIRouter

from app.db import DbDep
from app.errors import API_ERRORS
from app.matrix import service
from app.matrix.models import MatrixPublic, MatrixRowPublic, RatingIn, RatingPublic
from app.models_base import PathId
from app.sessions.auth import ActorDep

router = APIRouter(prefix="/api/v1/sessions/{code}", tags=["matrix"], responses=API_ERRORS)


@router.put("/clusters/{cluster_id}/rating", response_model=RatingPublic)
def rate_cluster(cluster_id: PathId, data: RatingIn, actor: ActorDep, db: DbDep) -> RatingPublic:
    """Score a cluster: relevance 1–5 and a policy level; a second PUT replaces the first."""
    return RatingPublic.model_validate(service.rate(db, actor, cluster_id, data))


@router.get("/ratings/mine", response_model=list[RatingPublic])
def my_ratings(actor: ActorDep, db: DbDep) -> list[RatingPublic]:
    """The caller's own ratings."""
    return [RatingPublic.model_validate(r) for r in service.my_ratings(db, actor).values()]


@router.get("/matrix", response_model=MatrixPublic)
def matrix(actor: ActorDep, db: DbDep) -> MatrixPublic:
    """Aggregated ratings per cluster, ranked within each challenge. Participants get them
    once the facilitator has revealed the results, or in the report phase (403 before)."""
    service.require_results(actor)
    rows = service.compute_matrix(db, actor.session)
    return MatrixPublic(clusters=[MatrixRowPublic.model_validate(row.public()) for row in rows])
