"""The facilitator's working boards: the brainstorm board (moderation) and the clustering
board with the clustering assistant's preview.

Every region that other people's actions change is its own partial with a stable id, built
from one context function, so a live stream can render and swap it later:
`brainstorm_context` → `#brainstorm-board` (`#brainstorm-counts`, `#brainstorm-challenge-N`),
`board_context` → `#board` (`#column-inbox`, `#column-N`).
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from app.clustering import service
from app.clustering.models import Cluster, ClusterCreate, ClusterUpdate, SuggestRequest
from app.config import get_settings
from app.db import DbDep
from app.errors import AppError, Forbidden, InvalidInput
from app.sessions import service as sessions_service
from app.sessions.auth import Actor, page_actor
from app.sessions.models import Contribution
from app.templating import is_htmx, render

router = APIRouter(include_in_schema=False)

FACILITATOR_ONLY = (
    "This page is for the facilitator of the session. Open it with the facilitator link you "
    "received when the session was created (it signs this browser in as facilitator)."
)
GRANULARITY_STEPS = [
    (-1.0, "Much fewer, larger clusters"),
    (-0.5, "Fewer, larger clusters"),
    (0.0, "Automatic"),
    (0.5, "More, smaller clusters"),
    (1.0, "Many more, smaller clusters"),
]


def facilitator_page(code: str, request: Request, db: DbDep) -> Actor:
    """Dependency for facilitator pages: the facilitator (from the cookie), or 403."""
    actor = page_actor(request, db, code)
    if actor is None or not actor.is_facilitator:
        raise Forbidden(FACILITATOR_ONLY)
    return actor


FacilitatorPage = Annotated[Actor, Depends(facilitator_page)]


def see_other(url: str) -> RedirectResponse:
    """The answer to a plain form POST that worked."""
    return RedirectResponse(url, status_code=303)


def with_trigger(response: Response, name: str, **detail: Any) -> Response:
    """Attach an htmx client event (toast, board status) to a response."""
    response.headers["HX-Trigger"] = json.dumps({name: detail})
    return response


def _optional_id(value: str, field_name: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput(f"“{value}” is not a valid choice.", field=field_name)
    return int(value)


def _ids(value: str) -> list[int]:
    return [int(part) for part in value.replace(" ", "").split(",") if part.isdigit()]


def _author(contribution: Contribution, names: dict[int, str]) -> str:
    if contribution.participant_id is None:
        return "Facilitator"
    return names.get(contribution.participant_id, "Participant")


# --- brainstorm board ----------------------------------------------------------------------


def brainstorm_url(code: str) -> str:
    return f"/s/{code}/facilitate/brainstorm"


def brainstorm_context(db: Session, actor: Actor) -> dict[str, Any]:
    """Everything the brainstorm board shows: contributions per challenge, newest first."""
    session = actor.session
    names = sessions_service.author_names(db, session)
    by_challenge: dict[int, list[Contribution]] = defaultdict(list)
    contributions = sessions_service.list_contributions(db, session)
    for contribution in contributions:
        by_challenge[contribution.challenge_id].append(contribution)
    challenges = [
        {
            "challenge": challenge,
            "contributions": list(reversed(by_challenge[challenge.id])),  # type: ignore[index]
        }
        for challenge in sessions_service.list_challenges(db, session)
    ]
    return {
        "session": session,
        "nav_active": "brainstorm",
        "challenges": challenges,
        "authors": {c.id: _author(c, names) for c in contributions},
        "total": len(contributions),
        "participants": len(names),
        "seq": session.last_event_seq,
        "max_chars": get_settings().contribution_max_chars,
        "editing": None,
    }


@router.get("/s/{code}/facilitate/brainstorm")
def brainstorm_page(
    code: str,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    region: str | None = None,
    seen: int | None = None,
    seq: int | None = None,
) -> Response:
    """All contributions per challenge, with authors, counts, edit and remove."""
    if region == "counts" and is_htmx(request):
        if seq is not None and seq == actor.session.last_event_seq:
            return Response(status_code=204)
        context = brainstorm_context(db, actor)
        context["new"] = max(0, context["total"] - seen) if seen is not None else 0
        context["seen"] = seen if seen is not None else context["total"]
        return render(request, "facilitator/_board_counts_update.html", context)
    context = brainstorm_context(db, actor)
    context["seen"] = context["total"]
    return render(request, "facilitator/brainstorm.html", context, block="board")


@router.post("/s/{code}/facilitate/brainstorm/contributions/{contribution_id}/edit")
def brainstorm_edit(
    code: str,
    contribution_id: int,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    text: Annotated[str, Form()] = "",
) -> Response:
    """Rewrite an inappropriate contribution; the form comes back with the message if refused."""
    try:
        contribution = sessions_service.edit_contribution(db, actor, contribution_id, text)
    except AppError as error:
        if error.field is None:
            raise
        db.rollback()
        contribution = sessions_service.get_contribution(db, actor.session, contribution_id)
        context = brainstorm_context(db, actor)
        context["seen"] = context["total"]
        context["editing"] = {"id": contribution_id, "text": text, "error": error.message}
        context["c"] = contribution
        template = (
            "facilitator/_board_contribution.html"
            if is_htmx(request)
            else "facilitator/brainstorm.html"
        )
        return render(request, template, context, status_code=error.status_code)
    if not is_htmx(request):
        return see_other(f"{brainstorm_url(actor.session.code)}#contribution-{contribution.id}")
    context = brainstorm_context(db, actor)
    context["c"] = contribution
    response = render(request, "facilitator/_board_contribution.html", context)
    return with_trigger(response, "showToast", message="Contribution updated.", level="success")


@router.post("/s/{code}/facilitate/brainstorm/contributions/{contribution_id}/remove")
def brainstorm_remove(
    code: str, contribution_id: int, request: Request, db: DbDep, actor: FacilitatorPage
) -> Response:
    """Remove an inappropriate contribution (the page asks for confirmation first)."""
    contribution = sessions_service.get_contribution(db, actor.session, contribution_id)
    challenge_id = contribution.challenge_id
    sessions_service.remove_contribution(db, actor, contribution_id)
    if not is_htmx(request):
        return see_other(
            f"{brainstorm_url(actor.session.code)}#brainstorm-challenge-{challenge_id}"
        )
    context = brainstorm_context(db, actor)
    context["seen"] = context["total"]
    response = render(request, "facilitator/brainstorm.html", context, block="board")
    return with_trigger(response, "showToast", message="Contribution removed.", level="success")


# --- clustering board ----------------------------------------------------------------------


def clustering_url(code: str, challenge_id: int | None = None, anchor: str = "") -> str:
    url = f"/s/{code}/facilitate/clustering"
    if challenge_id is not None:
        url += f"?challenge={challenge_id}"
    return url + (f"#{anchor}" if anchor else "")


@dataclass
class PreviewSuggestion:
    """One proposed cluster as the preview form carries it (nothing of it is saved)."""

    title: str
    category: str | None
    ids: list[int]
    suggested_title: str
    terms: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Preview:
    """The clustering assistant's proposal for one challenge, kept in the page's form."""

    challenge_id: int = 0
    scope: str = "unclustered"
    granularity: float = 0.0
    suggestions: list[PreviewSuggestion] = field(default_factory=list)
    duplicates: list[list[int]] = field(default_factory=list)
    take_from_clusters: bool = False
    considered: int = 0
    error: str | None = None
    notice: str | None = None


def board_context(
    db: Session,
    actor: Actor,
    challenge_id: int | None = None,
    *,
    forms: dict[str, Any] | None = None,
    preview: Preview | None = None,
) -> dict[str, Any]:
    """Everything the clustering board shows for one challenge (default: the first)."""
    session = actor.session
    challenges = sessions_service.list_challenges(db, session)
    if challenge_id is None:
        challenge = challenges[0]
    else:
        challenge = sessions_service.get_challenge(db, session, challenge_id)
    contributions = sessions_service.list_contributions(db, session, challenge.id)
    clusters = service.list_clusters(db, session, challenge.id)
    members: dict[int | None, list[Contribution]] = defaultdict(list)
    for contribution in sorted(contributions, key=lambda c: (c.position, c.id or 0)):
        if contribution.cluster_id is not None:
            members[contribution.cluster_id].append(contribution)
    inbox = [c for c in contributions if c.cluster_id is None]
    unclustered = defaultdict(int)
    for contribution in sessions_service.list_contributions(db, session):
        if contribution.cluster_id is None:
            unclustered[contribution.challenge_id] += 1
    return {
        "session": session,
        "nav_active": "clustering",
        "challenges": challenges,
        "challenge": challenge,
        "unclustered": unclustered,
        "editable": session.phase in service.EDIT_PHASES,
        "categories": session.categories,
        "contributions": contributions,
        "by_id": {c.id: c for c in contributions},
        "inbox": inbox,
        "clusters": [{"cluster": c, "members": members[c.id]} for c in clusters],
        "cluster_titles": {c.id: c.title for c in clusters},
        "title_max": get_settings().title_max_chars,
        "forms": forms or {},
        "preview": preview,
        "where": None,
        "focus_note": None,
        "focus_toolbar": False,
        "granularity_steps": GRANULARITY_STEPS,
    }


@router.get("/s/{code}/facilitate/clustering")
def clustering_page(
    code: str,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    challenge: int | None = None,
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
        response = render(request, "clustering/_arrivals.html", context)
        message = f"{arrived} new contribution{'s' if arrived != 1 else ''} arrived."
        return with_trigger(response, "boardStatus", message=message)
    return render(request, "clustering/board.html", context, block="board")


def _board_response(
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
        return see_other(clustering_url(actor.session.code, challenge_id, anchor))
    context = board_context(db, actor, challenge_id)
    context["focus_note"] = focus_note
    context["focus_toolbar"] = focus_toolbar
    context["oob_switcher"] = True
    response = render(request, "clustering/board.html", context, block="board")
    return with_trigger(response, "boardStatus", message=message, clear=True)


def _form_error(
    request: Request,
    db: Session,
    actor: Actor,
    challenge_id: int,
    error: AppError,
    forms: dict[str, Any],
) -> Response:
    """Redraw the board with the refused form open, its message and the typed text."""
    db.rollback()
    context = board_context(db, actor, challenge_id, forms=forms)
    return render(
        request, "clustering/board.html", context, block="board", status_code=error.status_code
    )


def _refused_cluster_form(
    error: AppError, title: str, description: str, category: str
) -> dict[str, Any]:
    """The cluster form as typed, its error on the refused field (else on the whole form).

    An error that names no field is not the form's to show: it is raised again.
    """
    if error.field is None:
        raise error
    form: dict[str, Any] = {"title": title, "description": description, "category": category}
    shown = error.field if error.field in form else "form"
    form["errors"] = {shown: error.message}
    return form


@router.post("/s/{code}/facilitate/clustering/clusters")
def create_cluster(
    code: str,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    challenge: Annotated[int, Form()],
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
) -> Response:
    """A new, empty cluster named as a policy solution."""
    try:
        cluster = service.create_cluster(
            db,
            actor,
            ClusterCreate(
                challenge_id=challenge, title=title, description=description, category=category
            ),
        )
    except AppError as error:
        form = _refused_cluster_form(error, title, description, category)
        return _form_error(request, db, actor, challenge, error, {"new": form})
    return _board_response(
        request,
        db,
        actor,
        challenge,
        message=f"Cluster “{cluster.title}” created.",
        anchor=f"column-{cluster.id}",
    )


@router.post("/s/{code}/facilitate/clustering/clusters/merge")
def merge_clusters(
    code: str,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    source_id: Annotated[int, Form()],
    target_id: Annotated[str, Form()] = "",
) -> Response:
    """Merge one cluster into another; every contribution is kept."""
    source = service.get_cluster(db, actor.session, source_id)
    source_title = source.title
    target = _optional_id(target_id, "target_id")
    if target is None:
        raise InvalidInput("Choose the cluster to merge into.", field="target_id")
    merged = service.merge_clusters(db, actor, source_id, target)
    return _board_response(
        request,
        db,
        actor,
        merged.challenge_id,
        message=f"“{source_title}” merged into “{merged.title}”.",
        anchor=f"column-{merged.id}",
    )


@router.post("/s/{code}/facilitate/clustering/clusters/{cluster_id}")
def edit_cluster(
    code: str,
    cluster_id: int,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    title: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
) -> Response:
    """Rename, re-describe or re-file a cluster."""
    cluster = service.get_cluster(db, actor.session, cluster_id)
    challenge_id = cluster.challenge_id
    try:
        cluster = service.update_cluster(
            db,
            actor,
            cluster_id,
            ClusterUpdate(title=title, description=description, category=category),
        )
    except AppError as error:
        form = _refused_cluster_form(error, title, description, category)
        return _form_error(request, db, actor, challenge_id, error, {"edit": {cluster_id: form}})
    return _board_response(
        request,
        db,
        actor,
        challenge_id,
        message=f"Cluster “{cluster.title}” saved.",
        anchor=f"column-{cluster.id}",
    )


@router.post("/s/{code}/facilitate/clustering/clusters/{cluster_id}/delete")
def delete_cluster(
    code: str, cluster_id: int, request: Request, db: DbDep, actor: FacilitatorPage
) -> Response:
    """Delete a cluster; its contributions go back to the unclustered inbox."""
    cluster = service.get_cluster(db, actor.session, cluster_id)
    challenge_id, title = cluster.challenge_id, cluster.title
    service.delete_cluster(db, actor, cluster_id)
    return _board_response(
        request,
        db,
        actor,
        challenge_id,
        message=f"Cluster “{title}” deleted; its contributions are back in Unclustered.",
    )


def _moved_message(contribution: Contribution, cluster: Cluster | None) -> str:
    text = contribution.text if len(contribution.text) <= 60 else contribution.text[:57] + "…"
    where = f"“{cluster.title}”" if cluster else "Unclustered"
    return f"Moved “{text}” to {where}."


@router.post("/s/{code}/facilitate/clustering/move")
def move_contribution(
    code: str,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    contribution_id: Annotated[str, Form()] = "",
    cluster_id: Annotated[str, Form()] = "",
    position: Annotated[str, Form()] = "",
    focus: Annotated[str, Form()] = "note",
) -> Response:
    """Keyboard (and no-script) moving: put one contribution into a cluster or the inbox."""
    chosen = _optional_id(contribution_id, "contribution_id")
    if chosen is None:
        raise InvalidInput("Select a contribution to move first.", field="contribution_id")
    target = _optional_id(cluster_id, "cluster_id")
    contribution = service.move_contribution(
        db, actor, chosen, target, _optional_id(position, "position")
    )
    cluster = service.get_cluster(db, actor.session, target) if target is not None else None
    return _board_response(
        request,
        db,
        actor,
        contribution.challenge_id,
        message=_moved_message(contribution, cluster),
        anchor=f"column-{target}" if target else "column-inbox",
        focus_note=contribution.id if focus == "note" else None,
        focus_toolbar=focus == "toolbar",
    )


@router.post("/s/{code}/facilitate/clustering/drop")
def drop_contribution(
    code: str,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    contribution_id: Annotated[int, Form()],
    cluster_id: Annotated[str, Form()] = "",
    position: Annotated[str, Form()] = "",
) -> Response:
    """Drag and drop: move, then answer with the redrawn source and target columns."""
    contribution = sessions_service.get_contribution(db, actor.session, contribution_id)
    source = contribution.cluster_id
    target = _optional_id(cluster_id, "cluster_id")
    service.move_contribution(
        db, actor, contribution_id, target, _optional_id(position, "position")
    )
    cluster = service.get_cluster(db, actor.session, target) if target is not None else None
    context = board_context(db, actor, contribution.challenge_id)
    context["affected"] = [source] if source == target else [source, target]
    response = render(request, "clustering/_drop.html", context)
    return with_trigger(response, "boardStatus", message=_moved_message(contribution, cluster))


@router.get("/s/{code}/facilitate/clustering/where")
def where_does_it_go(
    code: str,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    contribution_id: Annotated[str, Query()] = "",
) -> Response:
    """The existing cluster most similar to one contribution, with a one-click move."""
    chosen = _optional_id(contribution_id, "contribution_id")
    if chosen is None:
        raise InvalidInput("Select a contribution first.", field="contribution_id")
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


# --- clustering assistant: suggestions preview ---------------------------------------------


def _scope(value: str) -> str:
    return "all" if value == "all" else "unclustered"


def _granularity(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput("Choose a cluster size on the scale.", field="granularity") from None
    if not -1.0 <= number <= 1.0:
        raise InvalidInput("The cluster size must be between −1 and 1.", field="granularity")
    return number


def _render_preview(
    request: Request,
    db: Session,
    actor: Actor,
    challenge_id: int,
    preview: Preview,
    *,
    status_code: int = 200,
    message: str | None = None,
    block: str = "workspace",
) -> Response:
    context = board_context(db, actor, challenge_id, preview=preview)
    context["oob_switcher"] = True
    response = render(
        request, "clustering/board.html", context, block=block, status_code=status_code
    )
    if message and is_htmx(request):
        with_trigger(response, "boardStatus", message=message, clear=True)
    return response


def _preview_notice(
    request: Request, db: Session, actor: Actor, preview: Preview, message: str
) -> Response:
    """The preview redrawn after a change to it, the change told in it and announced."""
    preview.notice = message
    return _render_preview(request, db, actor, preview.challenge_id, preview, message=message)


@router.get("/s/{code}/facilitate/clustering/suggest")
def suggest(
    code: str,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    challenge: int,
    scope: str = "unclustered",
    granularity: str = "0",
) -> Response:
    """Ask the assistant for clusters; the proposal is shown, nothing is saved."""
    preview = Preview(challenge_id=challenge, scope=_scope(scope))
    status_code = 200
    try:
        preview.granularity = _granularity(granularity)
        result = service.suggest(
            db,
            actor,
            SuggestRequest(
                challenge_id=challenge,
                only_unclustered=preview.scope == "unclustered",
                granularity=preview.granularity,
            ),
        )
    except InvalidInput as error:
        preview.error = error.message
        status_code = 422
    else:
        preview.suggestions = [
            PreviewSuggestion(
                title=s["title"],
                category=s["category"],
                ids=list(s["contribution_ids"]),
                suggested_title=s["title"],
                terms=list(s["terms"]),
            )
            for s in result["suggestions"]  # type: ignore[attr-defined]
        ]
        preview.duplicates = [list(g) for g in result["duplicates"]]  # type: ignore[attr-defined]
        preview.considered = sum(len(s.ids) for s in preview.suggestions)
    return _render_preview(
        request, db, actor, challenge, preview, status_code=status_code, block="suggestions"
    )


def preview_form(
    challenge: Annotated[int, Form()],
    scope: Annotated[str, Form()] = "unclustered",
    granularity: Annotated[str, Form()] = "0",
    take_from_clusters: Annotated[str, Form()] = "",
    title: Annotated[list[str] | None, Form()] = None,
    category: Annotated[list[str] | None, Form()] = None,
    ids: Annotated[list[str] | None, Form()] = None,
    suggested_title: Annotated[list[str] | None, Form()] = None,
    terms: Annotated[list[str] | None, Form()] = None,
    dup: Annotated[list[str] | None, Form()] = None,
) -> Preview:
    """Dependency: the preview as posted back, every suggestion's fields in order."""
    title, category, ids = title or [], category or [], ids or []
    suggested_title, terms = suggested_title or [], terms or []
    if not len(title) == len(category) == len(ids) == len(suggested_title) == len(terms):
        raise InvalidInput("The suggestion form arrived incomplete; please suggest again.")
    preview = Preview(
        challenge_id=challenge, scope=_scope(scope), take_from_clusters=bool(take_from_clusters)
    )
    try:
        preview.granularity = _granularity(granularity)
    except InvalidInput:
        preview.granularity = 0.0
    for t, c, i, s, k in zip(title, category, ids, suggested_title, terms, strict=True):
        preview.suggestions.append(
            PreviewSuggestion(
                title=t,
                category=c or None,
                ids=_ids(i),
                suggested_title=s,
                terms=[term for term in k.split("|") if term],
            )
        )
    preview.duplicates = [group for group in (_ids(d) for d in dup or []) if len(group) >= 2]
    return preview


PreviewDep = Annotated[Preview, Depends(preview_form)]


def _index(value: str, length: int) -> int:
    if not value.isdigit() or int(value) >= length:
        raise InvalidInput("That suggestion is no longer in the preview; please suggest again.")
    return int(value)


@router.post("/s/{code}/facilitate/clustering/suggestions/accept")
def accept_suggestions(
    code: str,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    preview: PreviewDep,
    accept: Annotated[str, Form()] = "",
) -> Response:
    """Save one suggestion (or all) as clusters, recorded as proposed by the assistant."""
    challenge = preview.challenge_id
    wanted = (
        list(range(len(preview.suggestions)))
        if accept == "all"
        else [_index(accept, len(preview.suggestions))]
    )
    created: list[Cluster] = []
    left: list[int] = []
    skipped_all: list[int] = []
    failed = False
    for index in wanted:
        suggestion = preview.suggestions[index]
        try:
            cluster, skipped = service.accept_suggestion(
                db,
                actor,
                challenge,
                suggestion.title,
                suggestion.category,
                suggestion.ids,
                suggested_title=suggestion.suggested_title,
                take_from_clusters=preview.take_from_clusters,
            )
        except AppError as error:
            if error.status_code in (404, 409) and error.field is None:
                raise
            if error.field == "take_from_clusters" and accept == "all":
                skipped_all.append(index)
                continue
            suggestion.error = error.message
            failed = True
            continue
        created.append(cluster)
        left.extend(skipped)
    if failed:
        # One refused suggestion refuses the whole click: nothing half-done is kept.
        db.rollback()
        preview.error = "Nothing was saved: correct the suggestion marked below and try again."
        return _render_preview(request, db, actor, challenge, preview, status_code=422)
    done = set(wanted) - set(skipped_all)
    preview.suggestions = [s for i, s in enumerate(preview.suggestions) if i not in done]
    parts = []
    if len(created) == 1:
        parts.append(f"Cluster “{created[0].title}” created.")
    elif created:
        parts.append(f"{len(created)} clusters created.")
    if left:
        parts.append(
            f"{len(left)} contribution{'s' if len(left) != 1 else ''} already in other "
            "clusters stayed where they were."
        )
    if skipped_all:
        parts.append(
            f"{len(skipped_all)} suggestion{'s' if len(skipped_all) != 1 else ''} left in the "
            "preview: all their contributions are already in clusters."
        )
    message = " ".join(parts)
    if not preview.suggestions and not preview.duplicates and not is_htmx(request):
        return see_other(clustering_url(actor.session.code, challenge, "board"))
    return _preview_notice(request, db, actor, preview, message)


@router.post("/s/{code}/facilitate/clustering/suggestions/discard")
def discard_suggestion(
    code: str,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    preview: PreviewDep,
    discard: Annotated[str, Form()] = "",
) -> Response:
    """Drop one suggestion (or the whole preview); nothing in the session changes."""
    challenge = preview.challenge_id
    if discard == "all":
        if not is_htmx(request):
            return see_other(clustering_url(actor.session.code, challenge))
        context = board_context(db, actor, challenge)
        response = render(request, "clustering/board.html", context, block="workspace")
        return with_trigger(response, "boardStatus", message="Suggestions discarded.")
    index = _index(discard, len(preview.suggestions))
    gone = preview.suggestions.pop(index)
    message = f"Suggestion “{gone.title}” discarded."
    return _preview_notice(request, db, actor, preview, message)


@router.post("/s/{code}/facilitate/clustering/suggestions/duplicates")
def merge_duplicates(
    code: str,
    request: Request,
    db: DbDep,
    actor: FacilitatorPage,
    preview: PreviewDep,
    group: Annotated[str, Form()] = "",
) -> Response:
    """Merge one group of near-duplicates: every text and author stays, one note leads."""
    index = _index(group, len(preview.duplicates))
    merged_ids = preview.duplicates.pop(index)
    original = service.merge_duplicates(db, actor, merged_ids)
    # The merged copies follow their original from now on, so they leave the suggestions.
    followers = set(merged_ids) - {original.id}
    for suggestion in preview.suggestions:
        suggestion.ids = [i for i in suggestion.ids if i not in followers]
    preview.suggestions = [s for s in preview.suggestions if s.ids]
    message = f"{len(merged_ids)} contributions merged as duplicates; every text is kept."
    return _preview_notice(request, db, actor, preview, message)
