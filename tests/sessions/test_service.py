"""The session rules, tested on the service itself (pages and API only call it)."""

import pytest
from sqlmodel import Session, select

from app import ratelimit
from app.clustering.models import Cluster
from app.errors import Forbidden, InvalidInput, NotFound, TooLarge, TooManyRequests, WrongPhase
from app.live.models import Event
from app.ratelimit import Caller
from app.sessions import service
from app.sessions.auth import FACILITATOR, PARTICIPANT, Actor
from app.sessions.models import (
    DEFAULT_CATEGORIES,
    DEFAULT_QUESTIONS,
    ChallengeIn,
    Contribution,
    Participant,
    SessionCreate,
    SessionSettingsUpdate,
    WorkshopSession,
)


def lab(db: Session, challenges: int = 2, **extra: object) -> service.CreatedSession:
    data = SessionCreate(
        title="AI in the creative industries",
        challenges=[ChallengeIn(title=f"Challenge {i + 1}") for i in range(challenges)],
        **extra,  # type: ignore[arg-type]
    )
    return service.create_session(db, data)


def participant(db: Session, session: WorkshopSession, name: str = "") -> Actor:
    person, _token = service.join(db, session, name)
    return Actor(session=session, role=PARTICIPANT, participant=person)


def facilitator(session: WorkshopSession) -> Actor:
    return Actor(session=session, role=FACILITATOR)


def test_a_new_session_gets_the_methods_defaults(service_db: Session) -> None:
    created = lab(service_db)
    session = created.session
    assert session.phase == "setup" and len(session.code) == 6
    assert session.categories == DEFAULT_CATEGORIES
    assert [c.questions for c in created.challenges] == [DEFAULT_QUESTIONS] * 2
    assert [c.position for c in created.challenges] == [0, 1]
    # The token is handed out once and only its hash is stored.
    assert created.facilitator_token not in session.facilitator_token_hash


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"categories": ["Players", "players"]}, "categories"),
        ({"categories": []}, "categories"),
        ({"categories": [f"C{i}" for i in range(13)]}, "categories"),
        ({"title": " "}, "title"),
    ],
)
def test_invalid_sessions_name_the_field(
    service_db: Session, extra: dict[str, object], field: str
) -> None:
    data = {"title": "Lab", "challenges": [ChallengeIn(title="A")], **extra}
    with pytest.raises(InvalidInput) as refused:
        service.create_session(service_db, SessionCreate(**data))  # type: ignore[arg-type]
    assert refused.value.field == field
    assert service_db.exec(select(WorkshopSession)).first() is None


def test_too_many_challenges_are_refused(service_db: Session) -> None:
    with pytest.raises(InvalidInput, match="At most 6 challenges"):
        lab(service_db, challenges=7)


def test_creating_and_joining_count_against_the_callers_limit(
    service_db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ratelimit.LIMITS, "create_session", 1)
    monkeypatch.setitem(ratelimit.LIMITS, "join", 2)
    venue = Caller("203.0.113.7")
    session = service.create_session(
        service_db, SessionCreate(title="Lab", challenges=[ChallengeIn(title="A")]), venue
    ).session
    with pytest.raises(TooManyRequests):
        service.create_session(
            service_db, SessionCreate(title="Lab", challenges=[ChallengeIn(title="A")]), venue
        )
    service.join(service_db, session, "Amira", venue)
    service.join(service_db, session, "Jonas", venue)
    with pytest.raises(TooManyRequests):
        service.join(service_db, session, "Chiara", venue)
    # Another address, and the command line (no caller), are not held up.
    service.join(service_db, session, "Chiara", Caller("198.51.100.1"))
    service.join(service_db, session, "Demo voice")


def test_phases_move_both_ways_and_keep_the_work(service_db: Session) -> None:
    created = lab(service_db)
    session = created.session
    service.change_phase(service_db, session, "brainstorm")
    amira = participant(service_db, session, "Amira")
    service.add_contribution(service_db, amira, created.challenges[0].id, "Compute is scarce")  # type: ignore[arg-type]
    service.change_phase(service_db, session, "scoring")
    assert service.change_phase(service_db, session, "brainstorm") == "brainstorm"
    assert len(service.list_contributions(service_db, session)) == 1
    kinds = [e.kind for e in service_db.exec(select(Event).order_by(Event.seq))]  # type: ignore[arg-type]
    assert kinds.count("phase_changed") == 3
    with pytest.raises(InvalidInput, match="Unknown phase"):
        service.change_phase(service_db, session, "voting")


def test_contributions_only_during_the_brainstorm_and_up_to_the_cap(
    service_db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POLICYLAB_CONTRIBUTIONS_PER_CHALLENGE", "2")
    from app.config import get_settings

    get_settings.cache_clear()
    created = lab(service_db)
    session, challenge = created.session, created.challenges[0].id
    amira = participant(service_db, session)
    with pytest.raises(WrongPhase, match="brainstorm"):
        service.add_contribution(service_db, amira, challenge, "Too early")  # type: ignore[arg-type]
    service.change_phase(service_db, session, "brainstorm")
    for text in ("One", "Two"):
        service.add_contribution(service_db, amira, challenge, text)  # type: ignore[arg-type]
    with pytest.raises(TooLarge, match="limit of 2"):
        service.add_contribution(service_db, amira, challenge, "Three")  # type: ignore[arg-type]
    # The facilitator pastes in a wall of notes: no cap.
    for i in range(3):
        service.add_contribution(service_db, facilitator(session), challenge, f"Wall {i}")  # type: ignore[arg-type]
    with pytest.raises(NotFound):
        service.add_contribution(service_db, amira, 10_000, "Nowhere")


def test_a_retry_is_stored_once_and_client_ids_belong_to_their_author(
    service_db: Session,
) -> None:
    created = lab(service_db)
    session, challenge = created.session, created.challenges[0].id
    service.change_phase(service_db, session, "brainstorm")
    amira, jonas = participant(service_db, session), participant(service_db, session)
    first, made = service.add_contribution(service_db, amira, challenge, "Text", "id-1")  # type: ignore[arg-type]
    again, made_again = service.add_contribution(service_db, amira, challenge, "Text", "id-1")  # type: ignore[arg-type]
    assert made and not made_again and again.id == first.id
    # The same client id from someone else is their own submission.
    other, made_other = service.add_contribution(service_db, jonas, challenge, "Text", "id-1")  # type: ignore[arg-type]
    assert made_other and other.id != first.id


def test_participants_change_only_their_own_notes_and_only_during_the_brainstorm(
    service_db: Session,
) -> None:
    created = lab(service_db)
    session, challenge = created.session, created.challenges[0].id
    service.change_phase(service_db, session, "brainstorm")
    amira, jonas = participant(service_db, session), participant(service_db, session)
    note, _ = service.add_contribution(service_db, amira, challenge, "Mine")  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        service.edit_contribution(service_db, jonas, note.id, "Hijack")  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        service.get_own_contribution(service_db, jonas, note.id)  # type: ignore[arg-type]
    service.edit_contribution(service_db, amira, note.id, "Still mine")  # type: ignore[arg-type]
    service.change_phase(service_db, session, "clustering")
    with pytest.raises(WrongPhase):
        service.remove_contribution(service_db, amira, note.id)  # type: ignore[arg-type]
    # The facilitator moderates in every phase.
    service.edit_contribution(service_db, facilitator(session), note.id, "Moderated")  # type: ignore[arg-type]
    assert service_db.get(Contribution, note.id).text == "Moderated"  # type: ignore[union-attr]


def test_a_hidden_board_shows_participants_only_their_own(service_db: Session) -> None:
    created = lab(service_db, show_contributions=False)
    session, challenge = created.session, created.challenges[0].id
    service.change_phase(service_db, session, "brainstorm")
    amira, jonas = participant(service_db, session), participant(service_db, session)
    service.add_contribution(service_db, amira, challenge, "Amira's")  # type: ignore[arg-type]
    service.add_contribution(service_db, jonas, challenge, "Jonas's")  # type: ignore[arg-type]
    assert [c.text for c in service.visible_contributions(service_db, amira)] == ["Amira's"]
    assert len(service.visible_contributions(service_db, facilitator(session))) == 2
    # Once the brainstorm is over, everyone sees every contribution (to cluster and score).
    service.change_phase(service_db, session, "clustering")
    assert len(service.visible_contributions(service_db, amira)) == 2


def test_authors_are_named_for_the_facilitator_only(service_db: Session) -> None:
    created = lab(service_db)
    session, challenge = created.session, created.challenges[0].id
    service.change_phase(service_db, session, "brainstorm")
    named, unnamed = participant(service_db, session, "Amira"), participant(service_db, session)
    notes = [
        service.add_contribution(service_db, who, challenge, text)[0]  # type: ignore[arg-type]
        for who, text in ((named, "A"), (unnamed, "B"), (facilitator(session), "C"))
    ]
    names = service.author_names(service_db, session)
    assert [service.author_label(n, names) for n in notes] == [
        "Amira",
        "Participant 2",
        "Facilitator",
    ]
    seen_by_facilitator = service.contribution_public(notes[0], facilitator(session), names)
    seen_by_author = service.contribution_public(notes[0], named)
    assert seen_by_facilitator.author == "Amira" and not seen_by_facilitator.mine
    assert seen_by_author.author is None and seen_by_author.mine
    assert "author" not in seen_by_author.model_dump()


def test_renaming_a_category_keeps_its_clusters_filed(service_db: Session) -> None:
    created = lab(service_db)
    session = created.session
    cluster = Cluster(
        session_id=session.id,  # type: ignore[arg-type]
        challenge_id=created.challenges[0].id,  # type: ignore[arg-type]
        title="Compute vouchers",
        category=DEFAULT_CATEGORIES[2],
        description="",
    )
    service_db.add(cluster)
    service_db.flush()
    renamed = [*DEFAULT_CATEGORIES[:2], "Framework conditions"]
    service.update_settings(service_db, session, SessionSettingsUpdate(categories=renamed))
    assert cluster.category == "Framework conditions"


def test_deleting_a_session_removes_every_row_of_it(service_db: Session) -> None:
    keep = lab(service_db).session
    created = lab(service_db)
    session = created.session
    service.change_phase(service_db, session, "brainstorm")
    amira = participant(service_db, session)
    service.add_contribution(service_db, amira, created.challenges[0].id, "Gone soon")  # type: ignore[arg-type]
    service.delete_session(service_db, session)
    service_db.flush()
    assert service_db.exec(select(WorkshopSession)).all() == [keep]
    assert service_db.exec(select(Participant)).all() == []
    assert service_db.exec(select(Contribution)).all() == []
    assert all(e.session_id == keep.id for e in service_db.exec(select(Event)))


def test_a_closed_session_takes_no_new_participants(service_db: Session) -> None:
    session = lab(service_db).session
    participant(service_db, session, "Amira")
    service.update_settings(service_db, session, SessionSettingsUpdate(joins_open=False))
    with pytest.raises(Forbidden, match="closed to new participants"):
        service.join(service_db, session, "Puppet")
    service.update_settings(service_db, session, SessionSettingsUpdate(joins_open=True))
    service.join(service_db, session, "Jonas")
    assert len(service.list_participants(service_db, session)) == 2


def test_joining_is_limited_per_session_too(
    service_db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(ratelimit.LIMITS, "join_session", 2)
    session, other = lab(service_db).session, lab(service_db).session
    for address in ("198.51.100.1", "198.51.100.2"):
        service.join(service_db, session, "", Caller(address))
    # A third address is refused here (one client cannot fill a room with puppets)…
    with pytest.raises(TooManyRequests):
        service.join(service_db, session, "", Caller("198.51.100.3"))
    # …while other sessions are not affected.
    service.join(service_db, other, "", Caller("198.51.100.3"))


def test_removing_a_participant_takes_their_notes_and_scores(service_db: Session) -> None:
    created = lab(service_db)
    session, challenge = created.session, created.challenges[0].id
    service.change_phase(service_db, session, "brainstorm")
    puppet, amira = participant(service_db, session), participant(service_db, session)
    for text in ("Spam 1", "Spam 2"):
        service.add_contribution(service_db, puppet, challenge, text)  # type: ignore[arg-type]
    kept, _ = service.add_contribution(service_db, amira, challenge, "Real gap")  # type: ignore[arg-type]
    with pytest.raises(Forbidden):
        service.remove_participant(service_db, amira, puppet.participant_id)  # type: ignore[arg-type]
    removed = service.remove_participant(
        service_db,
        facilitator(session),
        puppet.participant_id,  # type: ignore[arg-type]
    )
    assert removed == 2
    assert [c.text for c in service.list_contributions(service_db, session)] == ["Real gap"]
    assert [p.id for p in service.list_participants(service_db, session)] == [amira.participant_id]
    with pytest.raises(NotFound):
        service.remove_participant(service_db, facilitator(session), puppet.participant_id)  # type: ignore[arg-type]
    assert kept.id is not None


def test_bulk_removal_is_all_or_nothing(service_db: Session) -> None:
    created, other = lab(service_db), lab(service_db)
    session, challenge = created.session, created.challenges[0].id
    service.change_phase(service_db, session, "brainstorm")
    service.change_phase(service_db, other.session, "brainstorm")
    amira = participant(service_db, session)
    ids = [
        service.add_contribution(service_db, amira, challenge, f"Note {i}")[0].id
        for i in range(3)  # type: ignore[arg-type]
    ]
    foreign, _ = service.add_contribution(
        service_db,
        facilitator(other.session),
        other.challenges[0].id,  # type: ignore[arg-type]
        "Elsewhere",
    )
    with pytest.raises(NotFound):
        service.remove_contributions(service_db, facilitator(session), [ids[0], foreign.id])  # type: ignore[list-item]
    assert len(service.list_contributions(service_db, session)) == 3
    with pytest.raises(Forbidden):
        service.remove_contributions(service_db, amira, ids[:1])  # type: ignore[arg-type]
    assert service.remove_contributions(service_db, facilitator(session), ids[:2]) == 2  # type: ignore[arg-type]
    assert [c.id for c in service.list_contributions(service_db, session)] == ids[2:]


def test_category_descriptions_follow_their_category(service_db: Session) -> None:
    session = lab(service_db).session
    service.update_settings(
        service_db,
        session,
        SessionSettingsUpdate(
            category_descriptions={
                "ai and SECTOR players": "  the actors   themselves ",
                "Ecosystem structure": "",
            }
        ),
    )
    assert session.category_descriptions == {"AI and sector players": "the actors themselves"}
    with pytest.raises(InvalidInput, match="not a category"):
        service.update_settings(
            service_db, session, SessionSettingsUpdate(category_descriptions={"Nope": "x"})
        )
    renamed = ["Players", *DEFAULT_CATEGORIES[1:]]
    service.update_settings(service_db, session, SessionSettingsUpdate(categories=renamed))
    assert session.category_descriptions == {"Players": "the actors themselves"}
