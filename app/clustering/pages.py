"""The clustering board: the facilitator groups one challenge's contributions into clusters
(by drag and drop, keyboard or forms), and the participants' read-only view of the clusters
forming. The clustering assistant's preview is in `pages_assistant`.

Every region that other people's actions change is its own partial with a stable id,
built by `app.clustering.views`, so a live stream renders and swaps it the same way:
`board_context` → `#board` (`#column-inbox`, `#column-N`).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from app.clustering import service
from app.clustering.models import Cluster, ClusterCreate, ClusterUpdate
from app.clustering.views import board_context, clusters_context
from app.db import DbDep
from app.errors import AppError, InvalidInput, on_refusal
from app.i18n import _, ngettext
from app.models_base import DB_INT_MAX, FormId, PathId, QueryId
from app.sessions import service as sessions_service
from app.sessions.auth import Actor, FacilitatorPageDep, ParticipantPageDep, reload_actor
from app.sessions.models import Contribution
from app.web import board_status, is_htmx, render

router = APIRouter(include_in_schema=False)


def clustering_url(code: str, challenge_id: int | None = None, anchor: str = "") -> str:
    """The board of one challenge, at an anchor."""
    url = f"/s/{code}/facilitate/clustering"
    if challenge_id is not None:
        url += f"?challenge={challenge_id}"
    return url + (f"#{anchor}" if anchor else "")


def optional_id(value: str, field_name: str, minimum: int = 1) -> int | None:
    """A chosen id from a form's select, or a position in a list from 0 (empty: none
    chosen)."""
    value = value.strip()
    if not value:
        return None
    if not value.isdigit() or not minimum <= int(value) <= DB_INT_MAX:
        raise InvalidInput(_("“%(value)s” is not a valid choice.", value=value), field=field_name)
    return int(value)


@router.get("/s/{code}/facilitate/clustering")
def clustering_page(
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    challenge: QueryId = None,
    region: str | None = None,
    seen: int | None = None,
) -> Response:
    """The clustering board of one challenge: inbox, clusters, assistant."""
    context = board_context(db, actor, challenge)
    if region == "arrivals" and seen is not None and is_htmx(request):
        # Polled while contributions may still arrive: 204 (nothing to swap) until they do.
        arrived = len(context["contributions"]) - seen
        if arrived <= 0:
            return Response(status_code=204)
        context["arrived"] = arrived
        message = ngettext(
            "%(num)s new contribution arrived.", "%(num)s new contributions arrived.", arrived
        )
        return render(request, "clustering/_arrivals.html", context, headers=board_status(message))
    return render(request, "clustering/board.html", context, block="board")


def board_response(
    request: Request,
    db: Session,
    actor: Actor,
    challenge_id: int,
    *,
    message: str,
    anchor: str = "",
    focus_note: int | None = None,
    focus_toolbar: bool = False,
) -> Response:
    """After a change: the redrawn board for htmx (with a status message), else a redirect."""
    if not is_htmx(request):
        url = clustering_url(actor.session.code, challenge_id, anchor)
        return RedirectResponse(url, status_code=303)
    context = board_context(db, actor, challenge_id)
    context["focus_note"] = focus_note
    context["focus_toolbar"] = focus_toolbar
    context["oob_switcher"] = True
    return render(
        request,
        "clustering/board.html",
        context,
        block="board",
        headers=board_status(message, clear=True),
    )


def _show_cluster_form_again(
    request: Request, actor: Actor, challenge_id: int, place: str | int, typed: dict[str, str]
) -> None:
    """A refused cluster form comes back on the board as typed, its message on the refused
    field (else on the whole form). An error that names no field is not the form's."""

    def refused(db: Session, error: AppError) -> Response | None:
        if error.field is None:
            return None
        form: dict[str, Any] = dict(typed)
        form["errors"] = {error.field if error.field in typed else "form": error.message}
        forms: dict[str, Any] = {"new": form} if place == "new" else {"edit": {place: form}}
        context = board_context(db, reload_actor(db, actor), challenge_id, forms=forms)
        return render(
            request, "clustering/board.html", context, block="board", status_code=error.status_code
        )

    on_refusal(request, refused)


@router.post("/s/{code}/facilitate/clustering/clusters")
def create_cluster(
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    challenge: FormId,
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
) -> Response:
    """A new, empty cluster named as a policy solution."""
    typed = {"title": title, "description": description, "category": category}
    _show_cluster_form_again(request, actor, challenge, "new", typed)
    cluster = service.create_cluster(
        db,
        actor,
        ClusterCreate(
            challenge_id=challenge, title=title, description=description, category=category
        ),
    )
    return board_response(
        request,
        db,
        actor,
        challenge,
        message=_("Cluster “%(title)s” created.", title=cluster.title),
        anchor=f"column-{cluster.id}",
    )


@router.post("/s/{code}/facilitate/clustering/clusters/merge")
def merge_clusters(
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    source_id: FormId,
    target_id: Annotated[str, Form()] = "",
) -> Response:
    """Merge one cluster into another; every contribution is kept."""
    source_title = service.get_cluster(db, actor.session, source_id).title
    target = optional_id(target_id, "target_id")
    if target is None:
        raise InvalidInput(_("Choose the cluster to merge into."), field="target_id")
    merged = service.merge_clusters(db, actor, source_id, target)
    return board_response(
        request,
        db,
        actor,
        merged.challenge_id,
        message=_(
            "“%(source)s” merged into “%(target)s”.", source=source_title, target=merged.title
        ),
        anchor=f"column-{merged.id}",
    )


@router.post("/s/{code}/facilitate/clustering/clusters/{cluster_id}")
def edit_cluster(
    cluster_id: PathId,
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
) -> Response:
    """Rename, re-describe or re-file a cluster."""
    challenge_id = service.get_cluster(db, actor.session, cluster_id).challenge_id
    typed = {"title": title, "description": description, "category": category}
    _show_cluster_form_again(request, actor, challenge_id, cluster_id, typed)
    cluster = service.update_cluster(
        db,
        actor,
        cluster_id,
        ClusterUpdate(title=title, description=description, category=category),
    )
    return board_response(
        request,
        db,
        actor,
        challenge_id,
        message=_("Cluster “%(title)s” saved.", title=cluster.title),
        anchor=f"column-{cluster.id}",
    )


@router.post("/s/{code}/facilitate/clustering/clusters/{cluster_id}/delete")
def delete_cluster(
    cluster_id: PathId, request: Request, db: DbDep, actor: FacilitatorPageDep
) -> Response:
    """Delete a cluster; its contributions go back to the unclustered inbox."""
    cluster = service.get_cluster(db, actor.session, cluster_id)
    challenge_id, title = cluster.challenge_id, cluster.title
    service.delete_cluster(db, actor, cluster_id)
    return board_response(
        request,
        db,
        actor,
        challenge_id,
        message=_(
            "Cluster “%(title)s” deleted; its contributions are back in Unclustered.", title=title
        ),
    )


def _moved_message(contribution: Contribution, cluster: Cluster | None) -> str:
    text = contribution.text if len(contribution.text) <= 60 else contribution.text[:57] + "…"
    if cluster is None:
        return _("Moved “%(text)s” to Unclustered.", text=text)
    return _("Moved “%(text)s” to “%(title)s”.", text=text, title=cluster.title)


@router.post("/s/{code}/facilitate/clustering/move")
def move_contribution(
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    contribution_id: Annotated[str, Form()] = "",
    cluster_id: Annotated[str, Form()] = "",
    position: Annotated[str, Form()] = "",
    then_focus: Annotated[str, Form()] = "note",
) -> Response:
    """Keyboard (and no-script) moving: put one contribution into a cluster or the inbox.
    `then_focus`: `note` (the moved note) or `toolbar` (the move panel) after the redraw."""
    chosen = optional_id(contribution_id, "contribution_id")
    if chosen is None:
        raise InvalidInput(_("Select a contribution to move first."), field="contribution_id")
    target = optional_id(cluster_id, "cluster_id")
    contribution = service.move_contribution(
        db, actor, chosen, target, optional_id(position, "position", minimum=0)
    )
    cluster = service.get_cluster(db, actor.session, target) if target is not None else None
    return board_response(
        request,
        db,
        actor,
        contribution.challenge_id,
        message=_moved_message(contribution, cluster),
        anchor=f"column-{target}" if target else "column-inbox",
        focus_note=contribution.id if then_focus == "note" else None,
        focus_toolbar=then_focus == "toolbar",
    )


@router.post("/s/{code}/facilitate/clustering/drop")
def drop_contribution(
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    contribution_id: FormId,
    cluster_id: Annotated[str, Form()] = "",
    position: Annotated[str, Form()] = "",
) -> Response:
    """Drag and drop: move, then answer with the redrawn source and target columns."""
    source = sessions_service.get_contribution(db, actor.session, contribution_id).cluster_id
    target = optional_id(cluster_id, "cluster_id")
    contribution = service.move_contribution(
        db, actor, contribution_id, target, optional_id(position, "position", minimum=0)
    )
    cluster = service.get_cluster(db, actor.session, target) if target is not None else None
    context = board_context(db, actor, contribution.challenge_id)
    context["affected"] = [source] if source == target else [source, target]
    return render(
        request,
        "clustering/_drop.html",
        context,
        headers=board_status(_moved_message(contribution, cluster)),
    )


@router.get("/s/{code}/facilitate/clustering/where")
def where_does_it_go(
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    contribution_id: Annotated[str, Query()] = "",
) -> Response:
    """The existing cluster most similar to one contribution, with a one-click move."""
    chosen = optional_id(contribution_id, "contribution_id")
    if chosen is None:
        raise InvalidInput(_("Select a contribution first."), field="contribution_id")
    contribution = sessions_service.get_contribution(db, actor.session, chosen)
    found = service.where_does_it_go(db, actor, chosen)
    context = board_context(db, actor, contribution.challenge_id)
    context["where"] = {
        "contribution": contribution,
        "cluster": found[0] if found else None,
        "similarity": found[1] if found else None,
    }
    template = "clustering/_where.html" if is_htmx(request) else "clustering/board.html"
    return render(request, template, context)


# --- participants: the clusters forming ------------------------------------------------------


@router.get("/s/{code}/clusters")
def participant_clusters(request: Request, db: DbDep, actor: ParticipantPageDep) -> Response:
    """The clusters forming (polled until live updates arrive)."""
    if not is_htmx(request):
        return RedirectResponse(f"/s/{actor.session.code}", status_code=303)
    return render(request, "participant/_clusters.html", clusters_context(db, actor.session))
