"""The clustering assistant on the board: suggestions shown as a preview the facilitator
edits, accepts (one or all), discards, and near-duplicates to merge. Nothing is saved until
accepted; the preview travels in the page's form (`preview_form`)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from app.clustering import service
from app.clustering.models import SuggestionChoice, SuggestRequest
from app.clustering.pages import clustering_url
from app.clustering.service import SuggestionsRefused
from app.clustering.views import Preview, PreviewSuggestion, board_context
from app.db import DbDep
from app.errors import AppError, InvalidInput, on_refusal
from app.i18n import _, ngettext
from app.models_base import FormId, RequiredQueryId
from app.sessions.auth import Actor, FacilitatorPageDep, reload_actor
from app.web import board_status, is_htmx, parse_float, render

router = APIRouter(include_in_schema=False)


def _scope(value: str) -> str:
    return "all" if value == "all" else "unclustered"


def _granularity(value: str) -> float:
    number = parse_float(value)
    if number is None:
        raise InvalidInput(_("Choose a cluster size on the scale."), field="granularity")
    if not -1.0 <= number <= 1.0:
        raise InvalidInput(_("The cluster size must be between −1 and 1."), field="granularity")
    return number


def _ids(value: str) -> list[int]:
    return [int(part) for part in value.replace(" ", "").split(",") if part.isdigit()]


def render_preview(
    request: Request,
    db: Session,
    actor: Actor,
    preview: Preview,
    *,
    status_code: int = 200,
    message: str | None = None,
    block: str = "workspace",
) -> Response:
    """The board's workspace with the preview (announced with `message`, if any)."""
    context = board_context(db, actor, preview.challenge_id, preview=preview)
    context["oob_switcher"] = True
    headers = board_status(message, clear=True) if message and is_htmx(request) else None
    return render(
        request,
        "clustering/board.html",
        context,
        block=block,
        status_code=status_code,
        headers=headers,
    )


def _preview_notice(
    request: Request, db: Session, actor: Actor, preview: Preview, message: str
) -> Response:
    """The preview redrawn after a change to it, the change told in it and announced."""
    preview.notice = message
    return render_preview(request, db, actor, preview, message=message)


def _show_preview_again(
    request: Request,
    actor: Actor,
    preview: Preview,
    *,
    block: str = "workspace",
    chosen: list[int] | None = None,
) -> None:
    """A refused preview action shows the preview again with the message; `chosen`: the
    places in the preview of the suggestions the request accepted, in order."""

    def refused(db: Session, error: AppError) -> Response | None:
        if isinstance(error, SuggestionsRefused):
            for index, message in error.refused.items():
                preview.suggestions[(chosen or [])[index]].error = message
            preview.error = _(
                "Nothing was saved: correct the suggestion marked below and try again."
            )
        elif isinstance(error, InvalidInput) and block == "suggestions":
            preview.error = error.message
        else:
            return None
        again = reload_actor(db, actor)
        return render_preview(
            request, db, again, preview, status_code=error.status_code, block=block
        )

    on_refusal(request, refused)


@router.get("/s/{code}/facilitate/clustering/suggest")
def suggest(
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    challenge: RequiredQueryId,
    scope: str = "unclustered",
    granularity: str = "0",
) -> Response:
    """Ask the assistant for clusters; the proposal is shown, nothing is saved."""
    preview = Preview(challenge_id=challenge, scope=_scope(scope))
    _show_preview_again(request, actor, preview, block="suggestions")
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
    preview.suggestions = [
        PreviewSuggestion(
            title=s["title"],
            category=s["category"],
            ids=list(s["contribution_ids"]),
            suggested_title=s["title"],
            terms=list(s["terms"]),
            suggested_category=s["category"],
            confidence=s["category_confidence"],
        )
        for s in result["suggestions"]  # type: ignore[attr-defined]
    ]
    preview.duplicates = [list(g) for g in result["duplicates"]]  # type: ignore[attr-defined]
    preview.considered = sum(len(s.ids) for s in preview.suggestions)
    return render_preview(request, db, actor, preview, block="suggestions")


def preview_form(
    challenge: FormId,
    scope: Annotated[str, Form()] = "unclustered",
    granularity: Annotated[str, Form()] = "0",
    take_from_clusters: Annotated[str, Form()] = "",
    title: Annotated[list[str] | None, Form()] = None,
    category: Annotated[list[str] | None, Form()] = None,
    ids: Annotated[list[str] | None, Form()] = None,
    suggested_title: Annotated[list[str] | None, Form()] = None,
    terms: Annotated[list[str] | None, Form()] = None,
    dup: Annotated[list[str] | None, Form()] = None,
    suggested_category: Annotated[list[str] | None, Form()] = None,
    confidence: Annotated[list[str] | None, Form()] = None,
) -> Preview:
    """Dependency: the preview as posted back, every suggestion's fields in order (the
    assistant's category and confidence are optional: a form without them shows none)."""
    title, category, ids = title or [], category or [], ids or []
    suggested_title, terms = suggested_title or [], terms or []
    suggested_category = suggested_category or [""] * len(title)
    confidence = confidence or [""] * len(title)
    if not (
        len(title)
        == len(category)
        == len(ids)
        == len(suggested_title)
        == len(terms)
        == len(suggested_category)
        == len(confidence)
    ):
        raise InvalidInput(_("The suggestion form arrived incomplete; please suggest again."))
    preview = Preview(
        challenge_id=challenge, scope=_scope(scope), take_from_clusters=bool(take_from_clusters)
    )
    # Sent back by the page's own form: a value off the scale falls back to automatic.
    number = parse_float(granularity)
    preview.granularity = number if number is not None and -1.0 <= number <= 1.0 else 0.0
    fields = zip(
        title, category, ids, suggested_title, terms, suggested_category, confidence, strict=True
    )
    for t, c, i, s, k, sc, sure in fields:
        preview.suggestions.append(
            PreviewSuggestion(
                title=t,
                category=c or None,
                ids=_ids(i),
                suggested_title=s,
                terms=[term for term in k.split("|") if term],
                suggested_category=sc or None,
                confidence=_confidence(sure),
            )
        )
    preview.duplicates = [group for group in (_ids(d) for d in dup or []) if len(group) >= 2]
    return preview


PreviewDep = Annotated[Preview, Depends(preview_form)]


def _confidence(value: str) -> float | None:
    """A confidence sent back by the page's own form; anything off the 0–1 scale is none."""
    number = parse_float(value)
    return number if number is not None and 0.0 <= number <= 1.0 else None


def _index(value: str, length: int) -> int:
    if not value.isdigit() or int(value) >= length:
        raise InvalidInput(_("That suggestion is no longer in the preview; please suggest again."))
    return int(value)


@router.post("/s/{code}/facilitate/clustering/suggestions/accept")
def accept_suggestions(
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    preview: PreviewDep,
    accept: Annotated[str, Form()] = "",
) -> Response:
    """Save one suggestion (or all) as clusters, recorded as proposed by the assistant."""
    wanted = (
        list(range(len(preview.suggestions)))
        if accept == "all"
        else [_index(accept, len(preview.suggestions))]
    )
    _show_preview_again(request, actor, preview, chosen=wanted)
    accepted = service.accept_suggestions(
        db,
        actor,
        preview.challenge_id,
        [
            SuggestionChoice(
                title=s.title,
                category=s.category,
                contribution_ids=s.ids,
                suggested_title=s.suggested_title,
            )
            for s in (preview.suggestions[i] for i in wanted)
        ],
        take_from_clusters=preview.take_from_clusters,
        require_category=True,
    )
    skipped = {wanted[i] for i in accepted.skipped}
    done = set(wanted) - skipped
    preview.suggestions = [s for i, s in enumerate(preview.suggestions) if i not in done]
    parts = []
    created, left = accepted.clusters, accepted.left_in_place
    if len(created) == 1:
        parts.append(_("Cluster “%(title)s” created.", title=created[0].title))
    elif created:
        parts.append(
            ngettext("%(num)s cluster created.", "%(num)s clusters created.", len(created))
        )
    if left:
        parts.append(
            ngettext(
                "%(num)s contribution already in another cluster stayed where it was.",
                "%(num)s contributions already in other clusters stayed where they were.",
                len(left),
            )
        )
    if skipped:
        parts.append(
            ngettext(
                "%(num)s suggestion left in the preview: all its contributions are already "
                "in clusters.",
                "%(num)s suggestions left in the preview: all their contributions are already "
                "in clusters.",
                len(skipped),
            )
        )
    if not preview.suggestions and not preview.duplicates and not is_htmx(request):
        url = clustering_url(actor.session.code, preview.challenge_id, "board")
        return RedirectResponse(url, status_code=303)
    return _preview_notice(request, db, actor, preview, " ".join(parts))


@router.post("/s/{code}/facilitate/clustering/suggestions/discard")
def discard_suggestion(
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    preview: PreviewDep,
    discard: Annotated[str, Form()] = "",
) -> Response:
    """Drop one suggestion (or the whole preview); nothing in the session changes."""
    challenge = preview.challenge_id
    if discard == "all":
        if not is_htmx(request):
            return RedirectResponse(clustering_url(actor.session.code, challenge), status_code=303)
        context = board_context(db, actor, challenge)
        return render(
            request,
            "clustering/board.html",
            context,
            block="workspace",
            headers=board_status(_("Suggestions discarded.")),
        )
    gone = preview.suggestions.pop(_index(discard, len(preview.suggestions)))
    message = _("Suggestion “%(title)s” discarded.", title=gone.title)
    return _preview_notice(request, db, actor, preview, message)


@router.post("/s/{code}/facilitate/clustering/suggestions/duplicates")
def merge_duplicates(
    request: Request,
    db: DbDep,
    actor: FacilitatorPageDep,
    preview: PreviewDep,
    group: Annotated[str, Form()] = "",
) -> Response:
    """Merge one group of near-duplicates: every text and author stays, one note leads."""
    merged_ids = preview.duplicates.pop(_index(group, len(preview.duplicates)))
    original = service.merge_duplicates(db, actor, merged_ids)
    # The merged copies follow their original from now on, so they leave the suggestions.
    followers = set(merged_ids) - {original.id}
    for suggestion in preview.suggestions:
        suggestion.ids = [i for i in suggestion.ids if i not in followers]
    preview.suggestions = [s for s in preview.suggestions if s.ids]
    message = _(
        "%(num)s contributions merged as duplicates; every text is kept.", num=len(merged_ids)
    )
    return _preview_notice(request, db, actor, preview, message)
