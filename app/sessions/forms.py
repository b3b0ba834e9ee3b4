"""The session forms (creating a session, its settings): what the facilitator typed, kept
between re-renders, and turned into the services' input."""

import re
from dataclasses import dataclass, field

from starlette.datastructures import FormData

from app.config import get_settings
from app.errors import InvalidInput
from app.i18n import _, current_language, gettext
from app.sessions.labs import LabTemplate
from app.sessions.models import (
    ChallengeIn,
    SessionCreate,
    SessionSettingsUpdate,
    WorkshopSession,
)
from app.sessions.service import MAX_CATEGORIES, default_categories, default_questions
from app.web import form_flag, form_text, parse_int

BLOCKS_SHOWN = 3
DESCRIPTION_FIELD = "category_description"
MAX_DESCRIPTIONS = MAX_CATEGORIES
_BLOCK_KEY = re.compile(r"^challenges-(\d+)-(title|description|questions)$")
_SERVICE_FIELD = re.compile(r"^challenges\.(\d+)\.(title|description|questions)$")


def selected_ids(form: FormData, name: str) -> list[int]:
    """The ids of the ticked checkboxes named `name`, in order, each once; 422 for a value
    that is not an id."""
    ids: list[int] = []
    for value in form.getlist(name):
        number = parse_int(value) if isinstance(value, str) else None
        if number is None or number < 1:
            raise InvalidInput(
                _("“%(value)s” is not a contribution number.", value=str(value)[:20]), field=name
            )
        if number not in ids:
            ids.append(number)
    return ids


def lines(text: str) -> list[str]:
    """One entry per non-empty line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def _default_questions() -> str:
    return "\n".join(default_questions())


@dataclass
class ChallengeBlock:
    title: str = ""
    description: str = ""
    # Prefilled in the creator's language: what is sent is stored as the session's own text.
    questions: str = field(default_factory=_default_questions)

    @property
    def is_empty(self) -> bool:
        """A block without title and brief is ignored (its questions are prefilled)."""
        return not self.title.strip() and not self.description.strip()


@dataclass
class NewSessionForm:
    title: str = ""
    challenges: list[ChallengeBlock] = field(
        default_factory=lambda: [ChallengeBlock() for _ in range(BLOCKS_SHOWN)]
    )
    categories: str = field(default_factory=lambda: "\n".join(default_categories()))
    show_contributions: bool = True
    show_names: bool = False
    place: str = ""
    organiser: str = ""
    lab_date: str = ""
    template: str = ""
    language: str = field(default_factory=current_language)

    @property
    def max_challenges(self) -> int:
        return get_settings().max_challenges

    @property
    def can_add(self) -> bool:
        return len(self.challenges) < self.max_challenges

    @classmethod
    def from_lab(cls, lab: LabTemplate) -> "NewSessionForm":
        """The form filled in from a built-in lab template."""
        return cls(
            title=gettext(lab.title),
            challenges=[
                ChallengeBlock(
                    gettext(c.title), gettext(c.description), "\n".join(lab.questions_now())
                )
                for c in lab.challenges
            ],
            categories="\n".join(lab.categories_now()),
            template=lab.slug,
        )

    @classmethod
    def from_form(cls, form: FormData) -> "NewSessionForm":
        """Everything typed, exactly as typed (blocks in their numbered order)."""
        numbers = sorted({int(m.group(1)) for key in form if (m := _BLOCK_KEY.match(key))})
        blocks = [
            ChallengeBlock(
                title=form_text(form, f"challenges-{i}-title"),
                description=form_text(form, f"challenges-{i}-description"),
                questions=form_text(form, f"challenges-{i}-questions"),
            )
            for i in numbers[: get_settings().max_challenges]
        ]
        return cls(
            title=form_text(form, "title"),
            challenges=blocks or [ChallengeBlock()],
            categories=form_text(form, "categories"),
            show_contributions=form_flag(form, "show_contributions"),
            show_names=form_flag(form, "show_names"),
            place=form_text(form, "place"),
            organiser=form_text(form, "organiser"),
            lab_date=form_text(form, "lab_date"),
            template=form_text(form, "template"),
            language=form_text(form, "language"),
        )

    def filled_blocks(self) -> list[int]:
        """Indexes of the blocks that describe a challenge."""
        return [i for i, block in enumerate(self.challenges) if not block.is_empty]

    def to_create(self) -> SessionCreate:
        """The service's input; validation is left to the service (one place for rules)."""
        challenges = [
            # model_construct: a missing title is reported by the service with its field name.
            ChallengeIn.model_construct(
                title=self.challenges[i].title,
                description=self.challenges[i].description,
                questions=lines(self.challenges[i].questions),
            )
            for i in self.filled_blocks()
        ]
        return SessionCreate(
            title=self.title,
            challenges=challenges,
            categories=lines(self.categories),
            show_contributions=self.show_contributions,
            show_names=self.show_names,
            place=self.place,
            organiser=self.organiser,
            lab_date=self.lab_date,
            language=self.language or None,
        )

    def form_field(self, service_field: str | None) -> str:
        """The form field a service error names (`challenges.1.title` → its block's field)."""
        if not service_field:
            return "form"
        match = _SERVICE_FIELD.match(service_field)
        if match:
            filled = self.filled_blocks()
            position = int(match.group(1))
            block = filled[position] if position < len(filled) else 0
            return f"challenges-{block}-{match.group(2)}"
        return service_field


@dataclass
class SettingsForm:
    title: str
    categories: str
    show_contributions: bool
    show_names: bool
    place: str
    organiser: str
    lab_date: str
    language: str = ""
    # One line per category, by the category's position (a renamed line keeps its line).
    descriptions: list[str] = field(default_factory=list)

    @classmethod
    def from_session(cls, session: WorkshopSession) -> "SettingsForm":
        described = session.category_descriptions or {}
        return cls(
            title=session.title,
            categories="\n".join(session.categories),
            descriptions=[described.get(name, "") for name in session.categories],
            show_contributions=session.show_contributions,
            show_names=session.show_names,
            place=session.place,
            organiser=session.organiser,
            lab_date=session.lab_date,
            language=session.language,
        )

    @classmethod
    def from_form(cls, form: FormData) -> "SettingsForm":
        return cls(
            title=form_text(form, "title"),
            categories=form_text(form, "categories"),
            show_contributions=form_flag(form, "show_contributions"),
            show_names=form_flag(form, "show_names"),
            place=form_text(form, "place"),
            organiser=form_text(form, "organiser"),
            lab_date=form_text(form, "lab_date"),
            language=form_text(form, "language"),
            descriptions=[
                form_text(form, f"{DESCRIPTION_FIELD}-{i}") for i in range(MAX_DESCRIPTIONS)
            ]
            if f"{DESCRIPTION_FIELD}-0" in form
            else [],
        )

    def category_rows(self) -> list[tuple[int, str, str]]:
        """(position, category name, description) for each category line of the form."""
        names = lines(self.categories)
        return [
            (i, name, self.descriptions[i] if i < len(self.descriptions) else "")
            for i, name in enumerate(names)
        ]

    def category_descriptions(self) -> dict[str, str] | None:
        """Descriptions by the category named on their line now (None: not on the form, so
        left as they are); lines beyond the categories are dropped."""
        if not self.descriptions:
            return None
        names = lines(self.categories)
        return {
            names[i]: text
            for i, text in enumerate(self.descriptions)
            if i < len(names) and text.strip()
        }

    def to_update(self) -> SessionSettingsUpdate:
        return SessionSettingsUpdate(
            category_descriptions=self.category_descriptions(),
            title=self.title,
            categories=lines(self.categories),
            show_contributions=self.show_contributions,
            show_names=self.show_names,
            place=self.place,
            organiser=self.organiser,
            lab_date=self.lab_date,
            # Not on the form (an older page): the language is left as it is.
            language=self.language or None,
        )
