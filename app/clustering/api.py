"""JSON API for clusters: editing, merging, and suggestions (`/api/v1`)."""

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from app.clustering import service
from app.clustering.models import (
    AcceptRequest,
    Cluster,
    ClusterCreate,
    ClusterPublic,
    ClusterUpdate,
    ContributionMoved,
    DuplicateMarked,
    DuplicateRequest,
    MergeRequest,
    MoveRequest,
    SuggestRequest,
    SuggestResponse,
)
from app.db import DbDep
from app.errors import API_ERRORS
from app.models_base import PathId
from app.sessions.auth import Actor, ActorDep, FacilitatorDep

router = APIRouter(prefix="/api/v1/sessions/{code}", tags=["clusters"], responses=API_ERRORS)


def _public(db: Session, actor: Actor, cluster: Cluster) -> ClusterPublic:
    members = service.members_by_cluster(db, actor.session)
    return service.cluster_public(cluster, members.get(cluster.id, []))  # type: ignore[arg-type]


@router.get("/clusters", response_model=list[ClusterPublic])
def list_clusters(
    actor: ActorDep, db: DbDep, challenge_id: int | None = None
) -> list[ClusterPublic]:
    """Every cluster (or one challenge's) with its contributions."""
    members = service.members_by_cluster(db, actor.session)
    return [
        service.cluster_public(c, members.get(c.id, []))  # type: ignore[arg-type]
        for c in service.list_clusters(db, actor.session, challenge_id)
    ]


@router.post("/clusters", status_code=201, response_model=ClusterPublic)
def create_cluster(data: ClusterCreate, actor: FacilitatorDep, db: DbDep) -> ClusterPublic:
    """Create a cluster (a proposed policy solution), optionally with contributions."""
    return _public(db, actor, service.create_cluster(db, actor, data))


@router.patch("/clusters/{cluster_id}", response_model=ClusterPublic)
def update_cluster(
    cluster_id: PathId, data: ClusterUpdate, actor: FacilitatorDep, db: DbDep
) -> ClusterPublic:
    """Change a cluster's title, category, description or contributions."""
    return _public(db, actor, service.update_cluster(db, actor, cluster_id, data))


@router.delete("/clusters/{cluster_id}", status_code=204)
def delete_cluster(cluster_id: PathId, actor: FacilitatorDep, db: DbDep) -> Response:
    """Delete a cluster; its contributions become unclustered."""
    service.delete_cluster(db, actor, cluster_id)
    return Response(status_code=204)


@router.post("/clusters/merge", response_model=ClusterPublic)
def merge_clusters(data: MergeRequest, actor: FacilitatorDep, db: DbDep) -> ClusterPublic:
    """Merge the source cluster into the target; every contribution is kept."""
    return _public(db, actor, service.merge_clusters(db, actor, data.source_id, data.target_id))


@router.post("/clusters/suggest", response_model=SuggestResponse)
async def suggest_clusters(
    data: SuggestRequest, actor: FacilitatorDep, db: DbDep
) -> SuggestResponse:
    """Proposed clusters for a challenge; nothing is saved until accepted."""
    # The clustering is CPU work: keep it off the event loop.
    return SuggestResponse.model_validate(await run_in_threadpool(service.suggest, db, actor, data))


@router.post("/clusters/accept", status_code=201, response_model=list[ClusterPublic])
def accept_suggestions(
    data: AcceptRequest, actor: FacilitatorDep, db: DbDep
) -> list[ClusterPublic]:
    """Save suggestions as clusters, recorded as proposed by the tool (all or nothing).

    As on the clustering board: contributions already in a cluster stay there unless
    `take_from_clusters`, and marked duplicates follow their original."""
    accepted = service.accept_suggestions(
        db, actor, data.challenge_id, data.suggestions, take_from_clusters=data.take_from_clusters
    )
    return [_public(db, actor, c) for c in accepted.clusters]


@router.post("/contributions/{contribution_id}/move", response_model=ContributionMoved)
def move_contribution(
    contribution_id: PathId, data: MoveRequest, actor: FacilitatorDep, db: DbDep
) -> ContributionMoved:
    """Put a contribution into a cluster (at a position), or back among the unclustered."""
    contribution = service.move_contribution(
        db, actor, contribution_id, data.cluster_id, data.position
    )
    return ContributionMoved.model_validate(contribution)


@router.post("/contributions/{contribution_id}/duplicate", response_model=DuplicateMarked)
def mark_duplicate(
    contribution_id: PathId, data: DuplicateRequest, actor: FacilitatorDep, db: DbDep
) -> DuplicateMarked:
    """Mark a contribution as a duplicate of another; both texts stay for the report."""
    duplicate = service.mark_duplicate(db, actor, contribution_id, data.original_id)
    return DuplicateMarked.model_validate(duplicate)
