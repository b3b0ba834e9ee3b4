"""Built-in lab templates: realistic scoping documents to start a workshop from.

Their titles, summaries and briefs are marked with `N_` and translated where they are shown
or written into a new session (in that session's language). The sample contributions are
what participants wrote in a demo: they stay as written, like any contribution."""

from dataclasses import dataclass, field

from app.i18n import N_, current_language, gettext, use_language
from app.sessions.models import DEFAULT_CATEGORIES, DEFAULT_QUESTIONS, ChallengeIn, SessionCreate


@dataclass(frozen=True)
class LabChallenge:
    title: str
    description: str
    sample_contributions: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabTemplate:
    slug: str
    title: str
    summary: str
    challenges: tuple[LabChallenge, ...]
    categories: tuple[str, ...] = tuple(DEFAULT_CATEGORIES)
    questions: tuple[str, ...] = field(default=tuple(DEFAULT_QUESTIONS))

    def categories_now(self) -> list[str]:
        """The categories in the current language (the method's defaults are translated)."""
        return [gettext(c) if c in DEFAULT_CATEGORIES else c for c in self.categories]

    def questions_now(self) -> list[str]:
        """The guiding questions in the current language (the standard ones are translated)."""
        return [gettext(q) if q in DEFAULT_QUESTIONS else q for q in self.questions]

    def to_create(self, language: str | None = None) -> SessionCreate:
        """The session this template describes (in `language`, default the current one):
        its texts in that language."""
        with use_language(language or current_language()):
            return self._create(language)

    def _create(self, language: str | None) -> SessionCreate:
        return SessionCreate(
            title=gettext(self.title),
            challenges=[
                ChallengeIn(
                    title=gettext(c.title),
                    description=gettext(c.description),
                    questions=None
                    if self.questions == tuple(DEFAULT_QUESTIONS)
                    else list(self.questions),
                )
                for c in self.challenges
            ],
            categories=None
            if self.categories == tuple(DEFAULT_CATEGORIES)
            else list(self.categories),
            language=language,
        )


AI_CCI = LabTemplate(
    slug="ai-cci",
    title=N_("AI in the cultural and creative industries"),
    summary=N_(
        "Three challenges on how AI reshapes creative work, skills and the sector's "
        "influence on AI development."
    ),
    challenges=(
        LabChallenge(
            N_("Innovation ecosystems"),
            N_(
                "How can cultural and creative organisations, tech companies and research "
                "institutions work together to develop and adopt AI? Think about networks, "
                "intermediaries, testbeds and access to finance."
            ),
            (
                "Small creative studios cannot afford compute for AI experiments",
                "No shared testbed where artists and AI developers can prototype together",
                "Innovation vouchers exclude cultural organisations",
                "Funding calls are too complex for micro-enterprises in the creative sector",
                "Regional creative hubs lack AI expertise to advise members",
                "Matchmaking events between AI start-ups and cultural institutions are rare",
                "Access to public cultural datasets for training is unclear",
                "Venture capital ignores creative-tech start-ups",
                "Co-funding for pilot projects between museums and AI labs is missing",
                "Digital innovation hubs do not list creative industries as a target sector",
            ),
        ),
        LabChallenge(
            N_("Skills for AI"),
            N_(
                "Which skills do creative professionals need to work with AI, and which do AI "
                "developers need to understand creative work? Consider education, lifelong "
                "learning and awareness."
            ),
            (
                "Art schools do not teach how generative AI tools work",
                "Freelancers have no time or money for AI training courses",
                "Short hands-on AI workshops for creatives are missing",
                "AI developers rarely learn about authorship and creative practice",
                "Lack of awareness of what AI can and cannot do among cultural managers",
                "No recognised micro-credentials for AI skills in the creative sector",
                "Training material exists only in English",
                "Mentoring programmes pairing artists with engineers are missing",
            ),
        ),
        LabChallenge(
            N_("Creative industries shaping AI development"),
            N_(
                "How can the cultural and creative sectors influence how AI is built and "
                "governed — from copyright and remuneration to ethics and standards?"
            ),
            (
                "Creators are not paid when their works are used to train models",
                "Opt-out from text and data mining is impossible to exercise in practice",
                "Transparency obligations on training data are too vague",
                "Creative sector voices are absent from AI standardisation bodies",
                "Collective licensing models for AI training do not exist yet",
                "Labelling of AI-generated content is inconsistent",
                "Public procurement of AI ignores cultural diversity",
                "Small rights holders cannot monitor how their works are used",
            ),
        ),
    ),
)

GREEN_SME = LabTemplate(
    slug="green-sme",
    title=N_("Green transition of small businesses"),
    summary=N_("Two challenges on helping SMEs cut emissions and find green markets."),
    challenges=(
        LabChallenge(
            N_("Access to green finance"),
            N_(
                "What keeps small and medium-sized enterprises from financing energy "
                "efficiency, circular products and low-carbon processes?"
            ),
        ),
        LabChallenge(
            N_("Skills and advice for the transition"),
            N_(
                "Which knowledge and support do SMEs lack to plan and carry out their green "
                "transition?"
            ),
        ),
    ),
)

LABS = {lab.slug: lab for lab in (AI_CCI, GREEN_SME)}
