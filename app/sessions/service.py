"""Sessions, challenges, participants and contributions: every rule lives here."""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import ratelimit
from app.clustering.models import Cluster
from app.config import get_settings
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge, WrongPhase
from app.i18n import N_, _, current_language, gettext, is_available, ngettext, use_language
from app.limits import FieldLabel, clean_text, clean_title
from app.live.models import Event
from app.live.service import record_event
from app.matrix.models import Rating
from app.models_base import utcnow
from app.ratelimit import Caller
from app.sessions.auth import Actor, hash_token, new_code, new_token, require_facilitator
from app.sessions.models import (
    DEFAULT_CATEGORIES,
    DEFAULT_QUESTIONS,
    Challenge,
    ChallengeIn,
    ChallengePublic,
    Contribution,
    ContributionPublic,
    Participant,
    Phase,
    SessionCounts,
    SessionCreate,
    SessionSettingsUpdate,
    WorkshopSession,
)
from app.vocabulary import PHASES, phase_name

MAX_CATEGORIES = 12
MAX_QUESTIONS = 12


def require_phase(session: WorkshopSession, allowed: Sequence[str], message: str) -> None:
    """Refuse with 409 when the session is not in one of the `allowed` phases: `message` is
    a whole sentence marked with `N_`, naming the current phase as `%(phase)s`."""
    if session.phase not in allowed:
        raise WrongPhase(gettext(message, phase=phase_name(session.phase)))


# Translators: %(phase)s is a phase inside a sentence (“set-up”, “clustering”, …).
ADDING_CONTRIBUTIONS = N_(
    "Adding contributions is only possible during the brainstorm phase; "
    "the session is in the %(phase)s phase."
)
# Translators: %(phase)s is a phase inside a sentence (“set-up”, “clustering”, …).
CHANGING_CONTRIBUTIONS = N_(
    "Changing contributions is only possible during the brainstorm phase; "
    "the session is in the %(phase)s phase."
)

CATEGORY_NAME = FieldLabel(N_("Category name"), N_("A category name cannot be empty."))
CATEGORY_DESCRIPTION = FieldLabel(
    N_("Category description"), N_("A category description cannot be empty.")
)
CHALLENGE_TITLE = FieldLabel(N_("Challenge title"), N_("A challenge title cannot be empty."))
CHALLENGE_BRIEF = FieldLabel(N_("Challenge brief"), N_("A challenge brief cannot be empty."))
QUESTION = FieldLabel(N_("Guiding question"), N_("A guiding question cannot be empty."))
NAME = FieldLabel(N_("Name"), N_("The name cannot be empty."))
YOUR_CONTRIBUTION = FieldLabel(N_("Your contribution"), N_("Your contribution cannot be empty."))
CONTRIBUTION = FieldLabel(N_("Contribution"), N_("The contribution cannot be empty."))


def default_categories() -> list[str]:
    """The method's three default categories in the current language."""
    return [gettext(name) for name in DEFAULT_CATEGORIES]


def default_questions() -> list[str]:
    """The standard guiding questions of the reverse brainstorm in the current language."""
    return [gettext(question) for question in DEFAULT_QUESTIONS]


def clean_language(value: str | None) -> str:
    """A session's language: one people can choose; the current language when not given."""
    if value is None or not value.strip():
        return current_language()
    code = value.strip().lower()
    if not is_available(code):
        raise InvalidInput(gettext("Unknown language “%(code)s”.", code=value), field="language")
    return code


def clean_categories(values: Sequence[str] | None) -> list[str]:
    """Trimmed, unique, non-empty category names; the method's three levels by default (in
    the current language: a session stores them in its own)."""
    if values is None:
        return default_categories()
    if len(values) > MAX_CATEGORIES:
        raise InvalidInput(
            _("At most %(n)s categories are allowed.", n=MAX_CATEGORIES), field="categories"
        )
    cleaned: list[str] = []
    seen: set[str] = set()
    for value in values:
        name = clean_text(value, field="categories", label=CATEGORY_NAME, max_chars=80)
        if name.casefold() in seen:
            raise InvalidInput(
                _("The category “%(name)s” is listed twice.", name=name), field="categories"
            )
        seen.add(name.casefold())
        cleaned.append(name)
    if not cleaned:
        raise InvalidInput(_("A session needs at least one category."), field="categories")
    return cleaned


def _check_question_count(index: int, data: ChallengeIn) -> None:
    if data.questions is not None and len(data.questions) > MAX_QUESTIONS:
        raise InvalidInput(
            _("At most %(n)s guiding questions per challenge.", n=MAX_QUESTIONS),
            field=f"challenges.{index}.questions",
        )


def _clean_challenge(index: int, data: ChallengeIn) -> ChallengePublic:
    _check_question_count(index, data)
    title = clean_title(data.title, field=f"challenges.{index}.title", label=CHALLENGE_TITLE)
    description = clean_text(
        data.description,
        field=f"challenges.{index}.description",
        label=CHALLENGE_BRIEF,
        max_chars=4000,
        required=False,
    )
    raw_questions = default_questions() if data.questions is None else data.questions
    questions = [
        clean_text(q, field=f"challenges.{index}.questions", label=QUESTION, max_chars=300)
        for q in raw_questions
        if q.strip()
    ]
    # Not saved yet: the id is its position until the session exists.
    return ChallengePublic(id=index, title=title, description=description, questions=questions)


@dataclass
class CreatedSession:
    session: WorkshopSession
    challenges: list[Challenge]
    facilitator_token: str


# The optional details printed on the report's title page: field → (label, max length).
DETAILS = {
    "place": (FieldLabel(N_("Place"), N_("The place cannot be empty.")), 200),
    "organiser": (FieldLabel(N_("Organiser"), N_("The organiser cannot be empty.")), 200),
    "lab_date": (FieldLabel(N_("Date"), N_("The date cannot be empty.")), 40),
}


def clean_detail(field: str, value: str | None) -> str:
    """A title-page detail (place, organiser, date), trimmed; "" when left empty."""
    label, max_chars = DETAILS[field]
    return clean_text(value, field=field, label=label, max_chars=max_chars, required=False)


def create_session(
    db: Session, data: SessionCreate, caller: Caller | None = None
) -> CreatedSession:
    """Create a session with its challenges; the facilitator token is returned once.

    `caller`: who asked over the network (counted against the creation limit); None for
    the command line."""
    if caller is not None:
        ratelimit.hit("create_session", caller.address)
    settings = get_settings()
    # Every list is counted before any text is cleaned: an over-long list costs nothing.
    if not data.challenges:
        raise InvalidInput(_("A session needs at least one challenge."), field="challenges")
    if len(data.challenges) > settings.max_challenges:
        raise InvalidInput(
            _("At most %(n)s challenges per session.", n=settings.max_challenges),
            field="challenges",
        )
    if data.categories is not None and len(data.categories) > MAX_CATEGORIES:
        raise InvalidInput(
            _("At most %(n)s categories are allowed.", n=MAX_CATEGORIES), field="categories"
        )
    for index, challenge in enumerate(data.challenges):
        _check_question_count(index, challenge)
    title = clean_title(data.title)
    language = clean_language(data.language)
    # Defaults are written in the session's language and are its own text from then on.
    with use_language(language):
        challenges = [_clean_challenge(i, c) for i, c in enumerate(data.challenges)]
        categories = clean_categories(data.categories)
    token = new_token()
    session = WorkshopSession(
        code=_unused_code(db),
        title=title,
        facilitator_token_hash=hash_token(token),
        categories=categories,
        show_contributions=data.show_contributions,
        show_names=data.show_names,
        place=clean_detail("place", data.place),
        organiser=clean_detail("organiser", data.organiser),
        lab_date=clean_detail("lab_date", data.lab_date),
        language=language,
    )
    db.add(session)
    db.flush()
    assert session.id is not None
    saved = [
        Challenge(
            session_id=session.id,
            position=position,
            title=c.title,
            description=c.description,
            questions=c.questions,
        )
        for position, c in enumerate(challenges)
    ]
    db.add_all(saved)
    db.flush()
    return CreatedSession(session=session, challenges=saved, facilitator_token=token)


def _unused_code(db: Session) -> str:
    for _attempt in range(50):
        code = new_code()
        if db.exec(select(WorkshopSession.id).where(WorkshopSession.code == code)).first() is None:
            return code
    raise Conflict(_("Could not find a free session code; please try again."))


def list_challenges(db: Session, session: WorkshopSession) -> list[Challenge]:
    """The session's challenges in their order."""
    return list(
        db.exec(
            select(Challenge)
            .where(Challenge.session_id == session.id)
            .order_by(col(Challenge.position), col(Challenge.id))
        )
    )


def get_challenge(db: Session, session: WorkshopSession, challenge_id: int) -> Challenge:
    """A challenge of this session, or 404."""
    challenge = db.get(Challenge, challenge_id)
    if challenge is None or challenge.session_id != session.id:
        raise NotFound(_("This session has no challenge %(id)s.", id=challenge_id))
    return challenge


def counts(db: Session, session: WorkshopSession) -> SessionCounts:
    """How many participants, contributions, clusters and ratings the session has."""

    def count(model: Any) -> int:
        statement = select(func.count()).select_from(model).where(model.session_id == session.id)
        return int(db.exec(statement).one())

    return SessionCounts(
        participants=count(Participant),
        contributions=count(Contribution),
        clusters=count(Cluster),
        ratings=count(Rating),
    )


def update_settings(db: Session, session: WorkshopSession, data: SessionSettingsUpdate) -> None:
    """Change title, options or categories; renaming a category keeps its clusters filed."""
    if data.title is not None:
        session.title = clean_title(data.title)
    for flag in ("show_contributions", "show_names", "joins_open"):
        value = getattr(data, flag)
        if value is not None:
            setattr(session, flag, value)
    for field in DETAILS:
        value = getattr(data, field)
        if value is not None:
            setattr(session, field, clean_detail(field, value))
    if data.language is not None:
        # Stored text (categories, questions) stays as written: it is the session's own.
        session.language = clean_language(data.language)
    if data.categories is not None:
        _replace_categories(db, session, clean_categories(data.categories))
    if data.category_descriptions is not None:
        session.category_descriptions = clean_category_descriptions(
            session.categories, data.category_descriptions
        )
    if data.results_revealed is not None:
        reveal_results(db, session, data.results_revealed)
    session.updated_at = utcnow()
    db.add(session)
    record_event(db, session, "session_updated")
    db.flush()


def reveal_results(db: Session, session: WorkshopSession, revealed: bool) -> bool:
    """Show the scoring results to the room and to participants, or hide them again; open
    screens follow at once (event `results_revealed`). Who sees what is decided by
    `app.matrix.service.results_visible`."""
    if session.results_revealed != revealed:
        session.results_revealed = revealed
        session.updated_at = utcnow()
        db.add(session)
        record_event(db, session, "results_revealed", revealed=revealed)
        db.flush()
    return session.results_revealed


def clean_category_descriptions(
    categories: Sequence[str], descriptions: dict[str, str]
) -> dict[str, str]:
    """One line per category of the session, at most 200 characters; empty ones dropped."""
    if len(descriptions) > MAX_CATEGORIES:
        raise InvalidInput(
            _("At most %(n)s categories are allowed.", n=MAX_CATEGORIES),
            field="category_descriptions",
        )
    known = {c.casefold(): c for c in categories}
    cleaned: dict[str, str] = {}
    for name, text in descriptions.items():
        category = known.get(name.strip().casefold())
        if category is None:
            raise InvalidInput(
                _("“%(name)s” is not a category of this session.", name=name.strip()),
                field="category_descriptions",
            )
        line = " ".join(
            clean_text(
                text,
                field="category_descriptions",
                label=CATEGORY_DESCRIPTION,
                max_chars=200,
                required=False,
            ).split()
        )
        if line:
            cleaned[category] = line
    return cleaned


def _replace_categories(db: Session, session: WorkshopSession, new: list[str]) -> None:
    # Categories are matched by position: editing the second name renames it everywhere.
    old = list(session.categories)
    renames = {o: n for o, n in zip(old, new, strict=False) if o != n}
    clusters = db.exec(select(Cluster).where(Cluster.session_id == session.id)).all()
    for cluster in clusters:
        if cluster.category in renames:
            cluster.category = renames[cluster.category]
            db.add(cluster)
        elif cluster.category not in new:
            cluster.category = new[0]
            db.add(cluster)
    session.category_descriptions = {
        renames.get(name, name): text
        for name, text in (session.category_descriptions or {}).items()
        if renames.get(name, name) in new
    }
    session.categories = new


def change_phase(db: Session, session: WorkshopSession, phase: str) -> str:
    """Move the session to any phase, forwards or back; ratings and clusters are kept."""
    if phase not in PHASES:
        names = ", ".join(PHASES)
        raise InvalidInput(
            _("Unknown phase “%(phase)s”. Use one of: %(names)s.", phase=phase, names=names),
            field="phase",
        )
    if phase != session.phase:
        previous = session.phase
        session.phase = Phase(phase)
        session.updated_at = utcnow()
        db.add(session)
        record_event(db, session, "phase_changed", phase=phase, previous=previous)
        db.flush()
    return session.phase


def delete_session(db: Session, session: WorkshopSession) -> None:
    """Delete the session and every row that belongs to it."""
    # Explicit deletes in dependency order, so the result does not rely on the database's
    # ON DELETE support being switched on.
    models: tuple[Any, ...] = (Rating, Event, Contribution, Cluster, Participant, Challenge)
    for model in models:
        db.exec(delete(model).where(model.session_id == session.id))
    db.delete(session)
    db.flush()


# --- participants ------------------------------------------------------------------------


def join(
    db: Session, session: WorkshopSession, name: str | None, caller: Caller | None = None
) -> tuple[Participant, str]:
    """Add a participant; the token is returned once and stored hashed. `caller`: who asked
    over the network (counted against the joining limit); None for the command line."""
    if not session.joins_open:
        raise Forbidden(
            _("This session is closed to new participants. Ask the facilitator to open it.")
        )
    if caller is not None:
        ratelimit.hit("join", caller.address)
        ratelimit.hit("join_session", session.code)
    clean = clean_text(
        name,
        field="name",
        label=NAME,
        max_chars=get_settings().name_max_chars,
        required=False,
    )
    token = new_token()
    participant = Participant(session_id=session.id, name=clean, token_hash=hash_token(token))  # type: ignore[arg-type]
    db.add(participant)
    db.flush()
    record_event(db, session, "participant_joined", participant_id=participant.id)
    return participant, token


def rename_participant(db: Session, actor: Actor, name: str) -> Participant:
    """A participant changes their display name."""
    if actor.participant is None:
        raise Forbidden(_("Only participants have a display name."))
    actor.participant.name = clean_text(
        name,
        field="name",
        label=NAME,
        max_chars=get_settings().name_max_chars,
        required=False,
    )
    db.add(actor.participant)
    db.flush()
    return actor.participant


def remove_participant(db: Session, actor: Actor, participant_id: int) -> int:
    """The facilitator removes a participant with everything they wrote and scored (a
    puppet, or someone who asked to be forgotten); their token stops working at once.
    Returns how many contributions went with them."""
    require_facilitator(actor)
    session = actor.session
    participant = db.get(Participant, participant_id)
    if participant is None or participant.session_id != session.id:
        raise NotFound(_("This session has no participant %(id)s.", id=participant_id))
    theirs = db.exec(
        select(Contribution.id).where(Contribution.participant_id == participant_id)
    ).all()
    removed = _remove_contributions(db, session, [i for i in theirs if i is not None])
    db.exec(delete(Rating).where(col(Rating.participant_id) == participant_id))
    db.delete(participant)
    record_event(db, session, "participant_removed", participant_id=participant_id)
    db.flush()
    return removed


def list_participants(db: Session, session: WorkshopSession) -> list[Participant]:
    """Everyone who joined, in joining order."""
    return list(
        db.exec(
            select(Participant)
            .where(Participant.session_id == session.id)
            .order_by(col(Participant.id))
        )
    )


@dataclass
class ParticipantActivity:
    """One participant as the facilitator sees them: joining number (for “Participant 3”
    when they gave no name) and what they contributed and scored."""

    participant: Participant
    number: int
    contributions: int
    ratings: int


def participant_activity(db: Session, session: WorkshopSession) -> list[ParticipantActivity]:
    """Everyone who joined, in joining order, with how many contributions and ratings each
    has (two grouped counts, whatever the number of participants)."""

    def per_participant(model: Any) -> dict[int, int]:
        rows = db.exec(
            select(model.participant_id, func.count())
            .where(model.session_id == session.id, col(model.participant_id).is_not(None))
            .group_by(col(model.participant_id))
        ).all()
        return {pid: n for pid, n in rows}

    contributions = per_participant(Contribution)
    ratings = per_participant(Rating)
    return [
        ParticipantActivity(
            participant=p,
            number=i,
            contributions=contributions.get(p.id, 0),  # type: ignore[arg-type]
            ratings=ratings.get(p.id, 0),  # type: ignore[arg-type]
        )
        for i, p in enumerate(list_participants(db, session), start=1)
    ]


# --- contributions -----------------------------------------------------------------------


def add_contribution(
    db: Session, actor: Actor, challenge_id: int, text: str, client_id: str | None = None
) -> tuple[Contribution, bool]:
    """Store a contribution; a retry with the same `client_id` returns the stored one.

    Returns the contribution and whether it was created now.
    """
    session = actor.session
    settings = get_settings()
    client_id = _idempotency_key(actor, client_id)
    if client_id:
        existing = _by_client_id(db, session, client_id)
        if existing is not None:
            return existing, False
    require_phase(session, ["brainstorm"], ADDING_CONTRIBUTIONS)
    if actor.participant_id is not None:  # the facilitator may paste in a whole wall of notes
        ratelimit.hit("contribute", f"{session.id}:{actor.participant_id}")
        ratelimit.hit("contribute_session", session.code)
    challenge = get_challenge(db, session, challenge_id)
    cleaned = clean_text(
        text, field="text", label=YOUR_CONTRIBUTION, max_chars=settings.contribution_max_chars
    )
    if actor.participant is not None:
        # Count and insert as one step per person: the participant's row is locked until the
        # commit on PostgreSQL, so simultaneous posts wait for each other's count (SQLite's
        # write transactions are serialised already; FOR UPDATE is left out there).
        db.exec(
            select(Participant.id).where(Participant.id == actor.participant_id).with_for_update()
        ).one()
        already = db.exec(
            select(func.count())
            .select_from(Contribution)
            .where(
                Contribution.challenge_id == challenge.id,
                Contribution.participant_id == actor.participant_id,
            )
        ).one()
        if already >= settings.contributions_per_challenge:
            raise TooLarge(
                ngettext(
                    "You have reached the limit of %(num)s contribution for this challenge.",
                    "You have reached the limit of %(num)s contributions for this challenge.",
                    settings.contributions_per_challenge,
                )
            )
    contribution = Contribution(
        session_id=session.id,  # type: ignore[arg-type]
        challenge_id=challenge.id,  # type: ignore[arg-type]
        participant_id=actor.participant_id,
        text=cleaned,
        client_id=client_id,
    )
    try:
        with db.begin_nested():
            db.add(contribution)
    except IntegrityError:
        # A concurrent retry with the same client_id won the race: return what it stored.
        existing = _by_client_id(db, session, client_id or "")
        if existing is None:
            raise
        return existing, False
    record_event(
        db,
        session,
        "contribution_added",
        contribution_id=contribution.id,
        challenge_id=challenge.id,
    )
    return contribution, True


def _idempotency_key(actor: Actor, client_id: str | None) -> str | None:
    """The stored form of a submission's `client_id`, scoped to its author: two people's
    browsers (or scripts) may pick the same ids, and only a retry by the same author is one.
    Fits the 64-character column whatever the length of the client's id."""
    client_id = (client_id or "").strip()
    if not client_id:
        return None
    author = f"p{actor.participant_id}:" if actor.participant_id else "f:"
    if len(author) + len(client_id) > 64:
        client_id = "#" + hashlib.sha256(client_id.encode()).hexdigest()[:40]
    return author + client_id


def _by_client_id(db: Session, session: WorkshopSession, client_id: str) -> Contribution | None:
    return db.exec(
        select(Contribution).where(
            Contribution.session_id == session.id, Contribution.client_id == client_id
        )
    ).first()


def get_contribution(db: Session, session: WorkshopSession, contribution_id: int) -> Contribution:
    """A contribution of this session, or 404."""
    contribution = db.get(Contribution, contribution_id)
    if contribution is None or contribution.session_id != session.id:
        raise NotFound(_("This session has no contribution %(id)s.", id=contribution_id))
    return contribution


def get_own_contribution(db: Session, actor: Actor, contribution_id: int) -> Contribution:
    """One of the actor's own contributions, or 404 / 403."""
    contribution = get_contribution(db, actor.session, contribution_id)
    if contribution.participant_id != actor.participant_id:
        raise Forbidden(_("You can only change your own contributions."))
    return contribution


def _check_can_change(actor: Actor, contribution: Contribution) -> None:
    if actor.is_facilitator:
        return
    if contribution.participant_id != actor.participant_id:
        raise Forbidden(_("You can only change your own contributions."))
    require_phase(actor.session, ["brainstorm"], CHANGING_CONTRIBUTIONS)


def edit_contribution(db: Session, actor: Actor, contribution_id: int, text: str) -> Contribution:
    """The author (while the brainstorm is open) or the facilitator rewrites a contribution."""
    contribution = get_contribution(db, actor.session, contribution_id)
    _check_can_change(actor, contribution)
    contribution.text = clean_text(
        text,
        field="text",
        label=CONTRIBUTION,
        max_chars=get_settings().contribution_max_chars,
    )
    contribution.updated_at = utcnow()
    db.add(contribution)
    record_event(
        db,
        actor.session,
        "contribution_updated",
        contribution_id=contribution.id,
        challenge_id=contribution.challenge_id,
    )
    db.flush()
    return contribution


def remove_contribution(db: Session, actor: Actor, contribution_id: int) -> None:
    """The author (while the brainstorm is open) or the facilitator removes a contribution."""
    contribution = get_contribution(db, actor.session, contribution_id)
    _check_can_change(actor, contribution)
    _remove_contributions(db, actor.session, [contribution_id])


def remove_contributions(db: Session, actor: Actor, contribution_ids: Sequence[int]) -> int:
    """The facilitator removes several contributions at once (all of them, or none: an id
    of another session refuses the whole request). Returns how many were removed."""
    require_facilitator(actor)
    wanted = list(dict.fromkeys(contribution_ids))
    for contribution_id in wanted:
        get_contribution(db, actor.session, contribution_id)
    return _remove_contributions(db, actor.session, wanted)


def _remove_contributions(db: Session, session: WorkshopSession, ids: Sequence[int]) -> int:
    """Delete these contributions of the session; marked duplicates of them stand alone."""
    if not ids:
        return 0
    for duplicate in db.exec(
        select(Contribution).where(col(Contribution.duplicate_of_id).in_(ids))
    ):
        if duplicate.id not in ids:
            duplicate.duplicate_of_id = None
            db.add(duplicate)
    found = db.exec(select(Contribution).where(col(Contribution.id).in_(ids))).all()
    for contribution in found:
        db.delete(contribution)
        record_event(
            db,
            session,
            "contribution_removed",
            contribution_id=contribution.id,
            challenge_id=contribution.challenge_id,
        )
    db.flush()
    return len(found)


def list_contributions(
    db: Session, session: WorkshopSession, challenge_id: int | None = None
) -> list[Contribution]:
    """All contributions of the session (or one challenge), oldest first."""
    statement = select(Contribution).where(Contribution.session_id == session.id)
    if challenge_id is not None:
        statement = statement.where(Contribution.challenge_id == challenge_id)
    return list(db.exec(statement.order_by(col(Contribution.id))))


def visible_contributions(
    db: Session, actor: Actor, challenge_id: int | None = None
) -> list[Contribution]:
    """What this actor may read: everything for the facilitator; for a participant during the
    brainstorm, only their own unless the facilitator shares the board."""
    contributions = list_contributions(db, actor.session, challenge_id)
    session = actor.session
    if actor.is_facilitator or session.phase != "brainstorm" or session.show_contributions:
        return contributions
    return [c for c in contributions if c.participant_id == actor.participant_id]


def author_names(db: Session, session: WorkshopSession) -> dict[int, str]:
    """Participant id → display name (or “Participant N”) for the facilitator's eyes."""
    return {
        p.id: (p.name or _("Participant %(number)s", number=i))  # type: ignore[misc]
        for i, p in enumerate(list_participants(db, session), start=1)
    }


def author_label(contribution: Contribution, names: dict[int, str]) -> str:
    """Who wrote a contribution, as the facilitator sees it (`names` from `author_names`)."""
    if contribution.participant_id is None:
        return _("Facilitator")
    return names.get(contribution.participant_id, _("Participant"))


def contribution_public(
    contribution: Contribution, actor: Actor, names: dict[int, str] | None = None
) -> ContributionPublic:
    """The API shape of a contribution; the author is shown to the facilitator only."""
    return ContributionPublic.model_validate(
        contribution,
        update={
            # The facilitator's own contributions are those without a participant.
            "mine": contribution.participant_id == actor.participant_id,
            "author": author_label(contribution, names or {}) if actor.is_facilitator else None,
        },
    )


def my_contribution_counts(db: Session, actor: Actor) -> dict[int, int]:
    """Challenge id → how many contributions this participant has submitted."""
    if actor.participant is None:
        return {}
    rows = db.exec(
        select(Contribution.challenge_id, func.count())
        .where(Contribution.participant_id == actor.participant_id)
        .group_by(col(Contribution.challenge_id))
    ).all()
    return {challenge_id: n for challenge_id, n in rows}


def contribution_counts(db: Session, session: WorkshopSession) -> dict[int, int]:
    """Challenge id → how many contributions it has (everyone's)."""
    rows = db.exec(
        select(Contribution.challenge_id, func.count())
        .where(Contribution.session_id == session.id)
        .group_by(col(Contribution.challenge_id))
    ).all()
    return {challenge_id: n for challenge_id, n in rows}
