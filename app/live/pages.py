"""Live pages: one server-sent event stream per page, pushing re-rendered HTML regions.

`GET /s/{code}/live?view=…` streams, for one page, what changed on it:

- `hello` (JSON: phase, server_now, timer, seq) on every (re)connection;
- `update` (HTML): out-of-band fragments (`hx-swap-oob`) re-rendered from the page's own
  partials, see `app.live.fragments`; static/js/live.js swaps them by id and never under
  the hands of someone working in a region;
- `timer` (JSON: the timer plus `server_now`), `phase` (JSON), `reset` (JSON: reload);
- `ack` (no payload): only moves the stream's id on, so a reconnection skips events that
  did not concern the page.

Views: `participant` (`&phase=` the phase the page shows), and for the facilitator
`dashboard`, `brainstorm`, `clustering` (`&challenge=`), `matrix`, `projector`.

Cost with a full room: every region a view pushes to everyone (the clusters forming, a new
note for "What others wrote", results, the projector) is rendered once per event and
shared by every stream of the process (`FragmentCache`, keyed by session, event seq,
region and language: each viewer sees their own language, the projector the session's); regions that depend on the viewer are rare events (a participant's own note edited
by the facilitator, score cards when clusters change). A burst is coalesced: while newer
events are already read, a stream only notes which regions are dirty, and renders them once
at the newest event; its message id stays behind until then, so a reconnection never skips
an unrendered change. Rendering runs in threads with short read-only database sessions.
"""

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.db import DbDep
from app.errors import AppError, InvalidInput, NotFound, on_refusal
from app.i18n import N_, _, current_language, ngettext, use_language
from app.live.fragments import EMPTY, Fragment, Renderer, deleted
from app.live.hub import RETRY_MS, LiveEvent, LiveHub
from app.live.stream import event_stream, open_stream
from app.live.timer import MAX_SECONDS, control_timer, iso
from app.live.views import timer_card_context
from app.models_base import QueryId, utcnow
from app.sessions import service
from app.sessions.auth import (
    PARTICIPANT,
    Actor,
    FacilitatorPageDep,
    reload_actor,
    require_facilitator,
    require_participant,
)
from app.sessions.models import Participant, WorkshopSession
from app.sessions.views import dashboard_context
from app.vocabulary import PHASES
from app.web import FormDep, form_text, is_htmx, render, toast

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

PARTICIPANT_VIEW = "participant"
FACILITATOR_VIEWS = {"dashboard", "brainstorm", "clustering", "matrix", "projector"}
CACHE_SIZE = 512

CONTRIBUTION_EVENTS = {"contribution_added", "contribution_updated", "contribution_removed"}
CLUSTER_EVENTS = {"cluster_changed", "cluster_removed"}
# Who is in the room changed (counts, progress, authors).
PARTICIPANT_EVENTS = {"participant_joined", "participant_removed"}

# A region: (name, argument). Participant and facilitator regions have distinct names, and a
# stream only ever asks for those of its own audience (see `regions_for`).
Region = tuple[str, int | None]
PERSONAL = {"my_contribution", "score_card", "my_scoring_progress"}


@dataclass(frozen=True)
class Watch:
    """Who watches which page. Plain values only: no database object outlives the request."""

    session_id: int
    view: str
    participant_id: int | None = None
    page_phase: str | None = None
    challenge_id: int | None = None


def regions_for(watch: Watch, event: LiveEvent) -> list[Region]:
    """The page regions an event changes, for this watcher's view."""
    kind, data = event.kind, event.data
    cid = data.get("contribution_id")
    cluster_id = data.get("cluster_id")
    if watch.view == PARTICIPANT_VIEW:
        # Every participant screen says whether the report is anonymous: a privacy promise.
        privacy = [("privacy_note", None)] if kind == "session_updated" else []
        return privacy + _participant_regions(watch.page_phase, kind, cid, cluster_id)
    if watch.view == "dashboard":
        if kind == "phase_changed":
            return [("dash_phase", None)]
        if kind in CONTRIBUTION_EVENTS | CLUSTER_EVENTS | PARTICIPANT_EVENTS | {"rating_changed"}:
            return [("dash_counts", None)]
        return []
    if watch.view == "brainstorm":
        if kind in CONTRIBUTION_EVENTS | CLUSTER_EVENTS | PARTICIPANT_EVENTS:
            return [("brainstorm_board", None)]
        return []
    if watch.view == "clustering":
        board = [("clustering_board", watch.challenge_id)]
        if kind in {"phase_changed", "session_updated"}:
            return board
        if kind in CONTRIBUTION_EVENTS | CLUSTER_EVENTS and data.get("challenge_id") in (
            None,
            watch.challenge_id,
        ):
            return board
        return []
    if watch.view == "matrix":
        if kind in CLUSTER_EVENTS | PARTICIPANT_EVENTS | {"rating_changed"}:
            return [("matrix", None)]
        if kind in {"results_revealed", "phase_changed"}:
            return [("matrix_reveal", None)]
        return []
    if watch.view == "projector":
        if kind in CONTRIBUTION_EVENTS | CLUSTER_EVENTS | PARTICIPANT_EVENTS | {
            "rating_changed",
            "phase_changed",
            "session_updated",
            "results_revealed",
        }:
            return [("projector", None)]
        return []
    return []


def _participant_regions(
    phase: str | None, kind: str, cid: int | None, cluster_id: int | None
) -> list[Region]:
    """The regions of the participant page in `phase` that an event changes."""
    if phase == "brainstorm":
        brainstorm: dict[str, list[Region]] = {
            "contribution_added": [("others_added", cid)],
            "contribution_updated": [("others_updated", cid)],
            "contribution_removed": [("others_deleted", cid)],
            "session_updated": [("others_sections", None)],
        }
        return brainstorm.get(kind, [])
    if phase == "clustering" and kind in CONTRIBUTION_EVENTS | CLUSTER_EVENTS | {"session_updated"}:
        return [("participant_clusters", None)]
    if phase == "scoring":
        if kind == "results_revealed":  # shown or hidden: the results follow at once
            return [("revealed_results", None)]
        # Revealed results grow as ratings arrive (nothing is sent while they are hidden).
        regions: list[Region] = (
            [("revealed_results_update", None)]
            if kind in CLUSTER_EVENTS | {"rating_changed"}
            else []
        )
        if kind == "cluster_changed" and cluster_id is not None:
            return [("score_card", cluster_id), ("my_scoring_progress", None), *regions]
        if kind == "cluster_removed" and cluster_id is not None:
            return [("score_card_removed", cluster_id), ("my_scoring_progress", None), *regions]
        return regions
    if phase == "report" and kind in CLUSTER_EVENTS | {"rating_changed", "session_updated"}:
        return [("results", None)]
    return []


class FragmentCache:
    """Shared fragments by key, rendered once however many streams ask at the same time
    (the others wait for the same render); the newest `size` are kept."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.renders = 0
        self._tasks: OrderedDict[Hashable, asyncio.Future[Fragment]] = OrderedDict()

    async def get(self, key: Hashable, make: Callable[[], Awaitable[Fragment]]) -> Fragment:
        """The cached fragment for `key`, rendering it with `make` on a miss."""
        task = self._tasks.get(key)
        if task is None:
            self.renders += 1
            task = asyncio.ensure_future(make())
            self._tasks[key] = task
            task.add_done_callback(lambda done: self._forget_failed(key, done))
            while len(self._tasks) > self.size:
                self._tasks.popitem(last=False)
        else:
            self._tasks.move_to_end(key)
        # Shielded: a client that leaves does not cancel a render others are waiting for.
        return await asyncio.shield(task)

    def _forget_failed(self, key: Hashable, done: "asyncio.Future[Fragment]") -> None:
        if (done.cancelled() or done.exception() is not None) and self._tasks.get(key) is done:
            del self._tasks[key]


def fragment_cache(app: FastAPI) -> FragmentCache:
    """The process's shared fragment cache (one per app)."""
    cache = getattr(app.state, "live_fragments", None)
    if cache is None:
        cache = app.state.live_fragments = FragmentCache()
    return cache


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


class PageStream:
    """The render callback of one page's stream: events in, at most a few SSE messages out
    (see the module docstring)."""

    def __init__(self, request: Request, watch: Watch) -> None:
        self.request = request
        self.watch = watch
        self.hub: LiveHub = request.app.state.live
        self.renderer = Renderer(request.app.state.templates.env)
        self.cache = fragment_cache(request.app)
        self.dirty: dict[Region, None] = {}  # an ordered set
        # Each viewer's own language; the projector speaks the session's (read per render,
        # so a change of the session's language shows at its next update).
        self.language: str | None = None if watch.view == "projector" else current_language()

    async def __call__(self, event: LiveEvent) -> bytes | None:
        try:
            messages = await self.messages(event)
        except Exception:
            logger.exception("live page %s: rendering event %s failed", self.watch, event.seq)
            return None
        return b"".join(m.encode() for m in messages) if messages else None

    async def messages(self, event: LiveEvent) -> list[ServerSentEvent]:
        """The messages for one event (empty while a burst is being coalesced)."""
        seq = str(event.seq)
        if event.kind == "hello":
            hello = _json({**event.data, "seq": event.seq})
            return [ServerSentEvent(data=hello, event="hello", id=seq, retry=RETRY_MS)]
        if event.kind == "reset":
            self.dirty.clear()  # the page reloads or redraws everything
            return [ServerSentEvent(data=_json(event.data), event="reset", id=seq)]
        pending: list[tuple[str, str]] = []
        if event.kind == "timer_changed":
            # The client's clock offset comes from server_now: stamped now, not at the event.
            timer = {**event.data, "server_now": iso(utcnow())}
            pending.append(("timer", _json(timer)))
        elif event.kind == "phase_changed":
            pending.append(("phase", _json(event.data)))
        for region in regions_for(self.watch, event):
            self.dirty[region] = None
        if not self._is_newest(event):
            # A newer event is already read: render once, for it. Ids stay behind meanwhile.
            return [ServerSentEvent(data=data, event=name) for name, data in pending]
        if self.dirty:
            html = await self.flush(event.seq)
            if html:
                pending.append(("update", html))
        if not pending:
            return [ServerSentEvent(event="ack", data="", id=seq)]
        messages = [ServerSentEvent(data=data, event=name) for name, data in pending[:-1]]
        name, data = pending[-1]
        messages.append(ServerSentEvent(data=data, event=name, id=seq))
        return messages

    def _is_newest(self, event: LiveEvent) -> bool:
        feed = self.hub.feeds.get(self.watch.session_id)
        return feed is None or event.seq >= feed.cursor

    async def flush(self, seq: int) -> str:
        """Render every dirty region as of now (at least event `seq`)."""
        regions = list(self.dirty)
        self.dirty.clear()
        parts: list[str] = []
        personal: list[Region] = []
        me = self.watch.participant_id
        for name, arg in regions:
            if name in PERSONAL:
                personal.append((name, arg))
                continue
            fragment = await self.shared(name, arg, seq)
            if fragment.author_id is not None and fragment.author_id == me:
                # The viewer's own note is not one of "others"; edited by the facilitator,
                # it is redrawn in their own list instead.
                if name == "others_updated":
                    personal.append(("my_contribution", arg))
                continue
            parts.append(fragment.html)
        if personal:
            parts.append(await self.hub.read(self._personal, personal))
        return "".join(parts)

    async def shared(self, name: str, arg: int | None, seq: int) -> Fragment:
        """A fragment the same for every watcher of this view, from the shared cache."""
        sid = self.watch.session_id
        if name == "others_deleted":
            return Fragment(deleted(f"other-{arg}") + deleted(f"contribution-{arg}"))
        key: tuple[Hashable, ...] = (sid, seq, name, arg, self.language)
        if name == "projector":  # the join link follows the address the room uses
            key += (str(self.request.base_url),)

        async def make() -> Fragment:
            return await self.hub.read(self._shared, name, arg)

        return await self.cache.get(key, make)

    def _shared(self, db: Session, name: str, arg: int | None) -> Fragment:
        session = db.get(WorkshopSession, self.watch.session_id)
        if session is None:
            return EMPTY
        with use_language(self.language or session.language):
            return self._render_shared(db, session, name, arg)

    def _render_shared(
        self, db: Session, session: WorkshopSession, name: str, arg: int | None
    ) -> Fragment:
        r = self.renderer
        if name == "others_added":
            return r.others_added(db, session, arg)  # type: ignore[arg-type]
        if name == "others_updated":
            return r.others_updated(db, session, arg)  # type: ignore[arg-type]
        if name == "others_sections":
            return r.others_sections(db, session)
        if name == "participant_clusters":
            return r.participant_clusters(db, session)
        if name == "results":
            return r.results(db, session)
        if name == "revealed_results":
            return r.revealed_results(db, session)
        if name == "revealed_results_update":
            return r.revealed_results(db, session, only_if_shown=True)
        if name == "matrix_reveal":
            return r.matrix_reveal(session)
        if name == "privacy_note":
            return r.privacy_note(session)
        if name == "score_card_removed":
            return r.score_card_removed(session, arg)  # type: ignore[arg-type]
        if name == "dash_counts":
            return r.dash_counts(db, session)
        if name == "dash_phase":
            return r.dash_phase(db, session)
        if name == "brainstorm_board":
            return r.brainstorm_board(db, session)
        if name == "clustering_board":
            return r.clustering_board(db, session, arg)  # type: ignore[arg-type]
        if name == "matrix":
            return r.matrix(db, session)
        if name == "projector":
            return r.projector(db, session, self.request)
        raise ValueError(f"unknown live region {name}")

    def _personal(self, db: Session, regions: list[Region]) -> str:
        session = db.get(WorkshopSession, self.watch.session_id)
        participant = db.get(Participant, self.watch.participant_id or 0)
        if session is None or participant is None or participant.session_id != session.id:
            return ""
        actor = Actor(session=session, role=PARTICIPANT, participant=participant)
        with use_language(self.language or session.language):
            return self._render_personal(db, actor, regions)

    def _render_personal(self, db: Session, actor: Actor, regions: list[Region]) -> str:
        parts = []
        for name, arg in regions:
            if name == "my_contribution":
                parts.append(self.renderer.my_contribution(db, actor, arg))  # type: ignore[arg-type]
            elif name == "score_card":
                parts.append(self.renderer.score_card(db, actor, arg))  # type: ignore[arg-type]
            elif name == "my_scoring_progress":
                parts.append(self.renderer.my_scoring_progress(db, actor))
        return "".join(parts)


# --- routes ----------------------------------------------------------------------------------


@router.get("/s/{code}/live")
async def live_page_stream(
    code: str,
    request: Request,
    view: str = PARTICIPANT_VIEW,
    phase: str = "",
    challenge: QueryId = None,
) -> EventSourceResponse:
    """The live stream of one page (server-sent events of HTML fragments)."""

    # async, no DbDep: these checks run inside the stream's one short opening read.
    def authorize(db: Session, actor: Actor) -> Watch:
        session = actor.session
        if view == PARTICIPANT_VIEW:
            require_participant(actor)
        elif view in FACILITATOR_VIEWS:
            require_facilitator(actor)
        else:
            raise NotFound(_("There is no live view “%(view)s”.", view=view))
        challenge_id = challenge
        if view == "clustering":
            if challenge_id is None:
                challenges = service.list_challenges(db, session)
                challenge_id = challenges[0].id if challenges else None
            if challenge_id is not None:
                challenge_id = service.get_challenge(db, session, challenge_id).id
        return Watch(
            session_id=session.id,  # type: ignore[arg-type]
            view=view,
            participant_id=actor.participant_id,
            page_phase=phase if phase in PHASES else str(session.phase),
            challenge_id=challenge_id if view == "clustering" else None,
        )

    opened = await open_stream(request, code, authorize)
    watch: Watch = opened.value  # type: ignore[assignment]
    return event_stream(request, opened, render=PageStream(request, watch))


TIMER_MESSAGES = {
    "start": N_("Timer started."),
    "pause": N_("Timer paused."),
    "resume": N_("Timer running again."),
    "extend": N_("Time added."),
    "reset": N_("Timer reset."),
}
TIMER_CHANGED = N_("Timer changed.")


def time_hint() -> str:
    """How to type a duration, in the language of the request."""
    return ngettext(
        "Enter the time in minutes, for example 10 or 2.5 (at most %(num)s hour).",
        "Enter the time in minutes, for example 10 or 2.5 (at most %(num)s hours).",
        MAX_SECONDS // 3600,
    )


def minutes_to_seconds(value: str) -> int | None:
    """Minutes as typed (10, 2.5, 2,5) in whole seconds; None when left empty."""
    value = value.strip().replace(",", ".")
    if not value:
        return None
    try:
        minutes = float(value)
    except ValueError:
        raise InvalidInput(time_hint(), field="minutes") from None
    if minutes != minutes or minutes in (float("inf"), float("-inf")):
        raise InvalidInput(time_hint(), field="minutes")
    return round(minutes * 60)


@router.post("/s/{code}/facilitate/timer")
def timer_control(
    request: Request, db: DbDep, actor: FacilitatorPageDep, form: FormDep
) -> Response:
    """Start, pause, resume, extend or reset the phase timer from the dashboard."""
    session = actor.session
    action = form_text(form, "action")
    extend = form_text(form, "extend")
    minutes = form_text(form, "minutes")

    def refused(db: Session, error: AppError) -> Response:
        again = reload_actor(db, actor).session
        about_time = error.field in ("seconds", "minutes")
        context = timer_card_context(
            again,
            error=time_hint() if about_time else error.message,
            error_field="minutes" if about_time else None,
            minutes=minutes,
        )
        if is_htmx(request):
            return render(request, "live/_timer_card.html", context, status_code=error.status_code)
        full = {**dashboard_context(request, db, again), **context}
        return render(request, "facilitator/dashboard.html", full, status_code=error.status_code)

    on_refusal(request, refused)
    seconds: int | None = None
    if extend:
        action = "extend"
        if not extend.isdigit():
            raise InvalidInput(time_hint(), field="minutes")
        seconds = int(extend)
    elif action == "start":
        seconds = minutes_to_seconds(minutes)
    control_timer(db, session, action, seconds)
    if not is_htmx(request):
        return RedirectResponse(f"/s/{session.code}/facilitate#timer-card", status_code=303)
    context = timer_card_context(session, minutes=minutes if action == "start" else None)
    return render(
        request,
        "live/_timer_card.html",
        context,
        headers=toast(_(TIMER_MESSAGES.get(action, TIMER_CHANGED))),
    )
