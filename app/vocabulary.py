"""The workshop's words, defined once: phases, policy levels, relevance and agreement.

Python code imports them from here, templates get them as Jinja globals (see
`app.templating`), and the browser reads them from the one JSON block that `base.html`
renders (`#policylab-config`, built by `client_config`). Nothing else spells a phase name,
the order of the policy levels or their labels.
"""

import math
from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from app.i18n import N_, gettext, ngettext, plural_forms, plural_locale

K = TypeVar("K")


class Translated(Mapping[K, str]):
    """Labels marked with `N_` and translated when read, in the language of the moment:
    `LEVEL_LABELS["eu"]` is “EU” in English and “UE” in French, wherever it is used."""

    def __init__(self, messages: dict[K, str]) -> None:
        self.messages = messages

    def __getitem__(self, key: K) -> str:
        return gettext(self.messages[key])

    def __iter__(self) -> Iterator[K]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def __repr__(self) -> str:
        return f"Translated({self.messages!r})"


class Phase(StrEnum):
    """The phases of a session, in their order."""

    setup = "setup"
    brainstorm = "brainstorm"
    clustering = "clustering"
    scoring = "scoring"
    report = "report"


PHASES: list[Phase] = list(Phase)
PHASE_LABELS: Translated[str] = Translated(
    {
        # Translators: the phases of a workshop as headings, buttons and the stepper show them.
        "setup": N_("Setup"),
        "brainstorm": N_("Brainstorm"),
        "clustering": N_("Clustering"),
        "scoring": N_("Scoring"),
        "report": N_("Report"),
    }
)
# A phase inside a sentence ("… during the brainstorm phase").
PHASE_NAMES: Translated[str] = Translated(
    {
        # Translators: a phase inside a sentence: “… only possible during the set-up phase”.
        "setup": N_("set-up"),
        # Translators: a phase inside a sentence: “The workshop is now in the brainstorm phase.”
        "brainstorm": N_("brainstorm"),
        # Translators: a phase inside a sentence: “… during the clustering phase”.
        "clustering": N_("clustering"),
        # Translators: a phase inside a sentence: “… during the scoring phase”.
        "scoring": N_("scoring"),
        # Translators: a phase inside a sentence: “… during the report phase”.
        "report": N_("report"),
    }
)


class PolicyLevel(StrEnum):
    """The level of government a proposed solution targets."""

    local_regional = "local_regional"
    national = "national"
    eu = "eu"


# Most local first: ties in the most-chosen level go to the more local one, and the
# distribution bars read left to right in this order.
POLICY_LEVELS: list[PolicyLevel] = [
    PolicyLevel.local_regional,
    PolicyLevel.national,
    PolicyLevel.eu,
]
# Top to bottom as the method draws the matrix: the widest level first.
MATRIX_LEVELS: list[PolicyLevel] = list(reversed(POLICY_LEVELS))
LEVEL_LABELS: Translated[str] = Translated(
    {
        # Translators: a policy level a proposed solution targets (see docs/glossary.csv).
        "local_regional": N_("Local & regional"),
        "national": N_("National"),
        "eu": N_("EU"),
    }
)
NO_LEVEL = N_("No level yet")

RELEVANCE_SCORES = (1, 2, 3, 4, 5)
RELEVANCE_LABELS: Translated[int] = Translated(
    {
        # Translators: relevance score 1 of 5 of a proposed solution.
        1: N_("Not relevant"),
        # Translators: relevance score 2 of 5 (low relevance).
        2: N_("Low"),
        # Translators: relevance score 3 of 5 (medium relevance).
        3: N_("Medium"),
        # Translators: relevance score 4 of 5 (high relevance).
        4: N_("High"),
        # Translators: relevance score 5 of 5 (essential).
        5: N_("Essential"),
    }
)

# Agreement is 1 − sd / 2 of the relevance scores (see app.matrix.service). Below this, with
# at least CONTESTED_MIN_RATINGS ratings, a cluster is "contested": one word everywhere.
CONTESTED_BELOW = 0.5
CONTESTED_MIN_RATINGS = 3
# Translators: said of a proposed solution whose relevance scores disagree strongly.
CONTESTED_LABEL = N_("Contested")


def phase_label(phase: str) -> str:
    """A phase as people read it."""
    return PHASE_LABELS.get(phase, phase)


def phase_name(phase: str) -> str:
    """A phase as it reads inside a sentence."""
    return PHASE_NAMES.get(phase, phase)


def level_label(level: str | None, default: str = NO_LEVEL) -> str:
    """A policy level as people read it; `default` (translated) when there is none yet."""
    return LEVEL_LABELS.get(level or "", gettext(default))


def relevance_band(mean: float) -> int:
    """The matrix column of a mean relevance: rounded half up, within 1–5. Every format
    (matrix page, projector, report page, HTML, PDF, DOCX, Markdown, CSV, XLSX, JSON) places a
    cluster by this, so one cluster sits in the same column everywhere."""
    return min(5, max(1, math.floor(mean + 0.5)))


def contested_label() -> str:
    """The one word for low agreement (“Contested”), in the language of the moment: every
    page, fragment, chart and export shows this (templates: `{{ vocab.contested_label() }}`)."""
    return gettext(CONTESTED_LABEL)


def is_contested(agreement: float | None, ratings: int) -> bool:
    """Whether participants disagreed enough for the report to call a cluster contested."""
    return (
        agreement is not None and ratings >= CONTESTED_MIN_RATINGS and agreement < CONTESTED_BELOW
    )


# Strings the browser's scripts show, keyed by name; scripts read them from the page's
# `#policylab-config` block instead of spelling them (`PolicyLab.message(key, values)` in
# static/js/app.js fills the `{name}` placeholders). tests/test_scripts.py checks that every
# key is used and that the scripts spell no sentence of their own. Marked with N_ and
# translated by `client_config` for the page's language.
CLIENT_MESSAGES: dict[str, str] = {
    # toasts and errors (app.js)
    "dismissMessage": N_("Dismiss message"),
    "errorWrongPhase": N_("That is not possible in the current phase."),
    "errorForbidden": N_("You are not allowed to do that."),
    "errorTooManyRequests": N_("Too many requests: please wait a moment and try again."),
    "errorGeneric": N_("Something went wrong. Please try again."),
    "errorOffline": N_("No connection to the server. Nothing was lost: please try again."),
    # clipboard
    "copied": N_("Copied"),
    "copiedToClipboard": N_("Copied to the clipboard"),
    "copyFailed": N_("Could not copy. Select the text and copy it by hand."),
    # character counters: the visible count, and what a screen reader hears
    "charactersUsed": N_("{used} / {max}"),
    # (the plural forms come from CLIENT_PLURALS)
    "charactersLeft": "{count} characters left",
    "charactersTooMany": "{count} characters too many: at most {max} characters can be sent.",
    # confirmation dialog
    "confirmTitle": N_("Please confirm"),
    "confirmCancel": N_("Cancel"),
    "confirmOk": N_("Confirm"),
    # connection state
    "liveConnecting": N_("Connecting…"),
    "liveLive": N_("Live"),
    "liveReconnecting": N_("Reconnecting…"),
    "liveOffline": N_("Offline"),
    "liveDeleted": N_("Session deleted"),
    # live pages (live.js)
    "phaseChanged": N_("The workshop is now in the {phase} phase."),
    "pageOutOfDate": N_("This page is out of date."),
    "showNextStep": N_("Show the next step"),
    "reloadPage": N_("Reload the page"),
    "updatesMissed": N_("Some updates could not be shown."),
    "updatesHeld": N_(
        "There are updates for what you are working on. They appear when you are done."
    ),
    "showUpdatesNow": N_("Show them now"),
    "sessionDeleted": N_("This session has been deleted."),
    "goToStart": N_("Go to the start page"),
    # the phase timer
    "timerPaused": N_("Paused"),
    "timerExpired": N_("Time is up"),
    "timerIdle": N_("Not started"),
    "timerStart": N_("Start"),
    "timerRestart": N_("Restart"),
    "timerOneMinute": N_("1 minute left"),
    # clustering board (board.js)
    "noteSelected": N_(
        "Selected: “{text}”. Press Move here on a column, or M to choose where it goes."
    ),
    "selectionCleared": N_("Selection cleared."),
    "moveFailed": N_("The move did not work. Please try again."),
    # brainstorm board: removing contributions in bulk (brainstorm.js)
    "selectedCount": N_("Selected: {count}"),
    # participant page (participant.js)
    "notSentOffline": N_(
        "Not sent yet: there is no connection. Your text stays here and is sent by itself as "
        "soon as the connection is back."
    ),
    "savedAfterRetry": N_("Saved: your contribution arrived once the connection was back."),
    # report downloads (report.js)
    "preparingFile": N_("Preparing the {format} file…"),
    "preparingLargeFile": N_("Preparing the {format} file… large reports can take a few seconds."),
    "fileReady": N_("{format} file ready: {name}"),
    "exportFailed": N_("The export failed."),
    "exportFailedRetry": N_("The export failed. Please try again."),
    "exportFailedStatus": N_("The export failed ({status})."),
    "defaultFormat": N_("file"),
    "defaultFileName": N_("report"),
}


# Messages with a count: `PolicyLab.message(key, {count: n})` picks the plural form of the
# page's language (`plural_forms`: every form by CLDR category, chosen in the browser by
# Intl.PluralRules for `pluralLocale`).
CLIENT_PLURALS: dict[str, Callable[[int], str]] = {
    "charactersLeft": lambda n: ngettext("{count} character left", "{count} characters left", n),
    "charactersTooMany": lambda n: ngettext(
        "{count} character too many: at most {max} characters can be sent. Shorten the text "
        "to send it.",
        "{count} characters too many: at most {max} characters can be sent. Shorten the text "
        "to send it.",
        n,
    ),
}


def client_config() -> dict[str, Any]:
    """What the browser's scripts need to know of the vocabulary, as one JSON object, in
    the language of the page."""
    plurals = {key: plural_forms(text_for) for key, text_for in CLIENT_PLURALS.items()}
    messages = {key: gettext(text) for key, text in CLIENT_MESSAGES.items() if key not in plurals}
    return {
        "phases": [str(p) for p in PHASES],
        "phaseLabels": dict(PHASE_LABELS),
        "phaseNames": dict(PHASE_NAMES),
        "levels": [str(level) for level in POLICY_LEVELS],
        "levelLabels": dict(LEVEL_LABELS),
        "messages": {**messages, **{key: forms["other"] for key, forms in plurals.items()}},
        "plurals": plurals,
        "pluralLocale": plural_locale(),
    }
