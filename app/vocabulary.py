"""The workshop's words, defined once: phases, policy levels, relevance and agreement.

Python code imports them from here, templates get them as Jinja globals (see
`app.templating`), and the browser reads them from the one JSON block that `base.html`
renders (`#policylab-config`, built by `client_config`). Nothing else spells a phase name,
the order of the policy levels or their labels.
"""

import math
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    """The phases of a session, in their order."""

    setup = "setup"
    brainstorm = "brainstorm"
    clustering = "clustering"
    scoring = "scoring"
    report = "report"


PHASES: list[Phase] = list(Phase)
PHASE_LABELS: dict[str, str] = {
    "setup": "Setup",
    "brainstorm": "Brainstorm",
    "clustering": "Clustering",
    "scoring": "Scoring",
    "report": "Report",
}
# A phase inside a sentence ("… during the brainstorm phase").
PHASE_NAMES: dict[str, str] = {
    "setup": "set-up",
    "brainstorm": "brainstorm",
    "clustering": "clustering",
    "scoring": "scoring",
    "report": "report",
}


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
LEVEL_LABELS: dict[str, str] = {
    "local_regional": "Local & regional",
    "national": "National",
    "eu": "EU",
}
NO_LEVEL = "No level yet"

RELEVANCE_SCORES = (1, 2, 3, 4, 5)
RELEVANCE_LABELS: dict[int, str] = {
    1: "Not relevant",
    2: "Low",
    3: "Medium",
    4: "High",
    5: "Essential",
}

# Agreement is 1 − sd / 2 of the relevance scores (see app.matrix.service). Below this, with
# at least CONTESTED_MIN_RATINGS ratings, a cluster is "contested": one word everywhere.
CONTESTED_BELOW = 0.5
CONTESTED_MIN_RATINGS = 3
CONTESTED_LABEL = "Contested"


def phase_label(phase: str) -> str:
    """A phase as people read it."""
    return PHASE_LABELS.get(phase, phase)


def phase_name(phase: str) -> str:
    """A phase as it reads inside a sentence."""
    return PHASE_NAMES.get(phase, phase)


def level_label(level: str | None, default: str = NO_LEVEL) -> str:
    """A policy level as people read it; `default` when there is none yet."""
    return LEVEL_LABELS.get(level or "", default)


def relevance_band(mean: float) -> int:
    """The matrix column of a mean relevance: rounded half up, within 1–5. Every format
    (page, projector, chart, Markdown, spreadsheets) places a cluster by this."""
    return min(5, max(1, math.floor(mean + 0.5)))


def is_contested(agreement: float | None, ratings: int) -> bool:
    """Whether participants disagreed enough for the report to call a cluster contested."""
    return (
        agreement is not None and ratings >= CONTESTED_MIN_RATINGS and agreement < CONTESTED_BELOW
    )


# Strings the browser's scripts show, keyed by name; scripts read them from the page's
# `#policylab-config` block instead of spelling them (`PolicyLab.message(key, values)` in
# static/js/app.js fills the `{name}` placeholders). tests/test_scripts.py checks that every
# key is used and that the scripts spell no sentence of their own.
CLIENT_MESSAGES: dict[str, str] = {
    # toasts and errors (app.js)
    "dismissMessage": "Dismiss message",
    "errorWrongPhase": "That is not possible in the current phase.",
    "errorForbidden": "You are not allowed to do that.",
    "errorTooManyRequests": "Too many requests: please wait a moment and try again.",
    "errorGeneric": "Something went wrong. Please try again.",
    "errorOffline": "No connection to the server. Nothing was lost: please try again.",
    # clipboard
    "copied": "Copied",
    "copiedToClipboard": "Copied to the clipboard",
    "copyFailed": "Could not copy. Select the text and copy it by hand.",
    # character counters: the visible count, and what a screen reader hears
    "charactersUsed": "{used} / {max}",
    "oneCharacterLeft": "1 character left",
    "charactersLeft": "{count} characters left",
    # confirmation dialog
    "confirmTitle": "Please confirm",
    "confirmCancel": "Cancel",
    "confirmOk": "Confirm",
    # connection state
    "liveConnecting": "Connecting…",
    "liveLive": "Live",
    "liveReconnecting": "Reconnecting…",
    "liveOffline": "Offline",
    # live pages (live.js)
    "phaseChanged": "The workshop is now in the {phase} phase.",
    "pageOutOfDate": "This page is out of date.",
    "showNextStep": "Show the next step",
    "reloadPage": "Reload the page",
    "updatesMissed": "Some updates could not be shown.",
    "updatesHeld": "There are updates for what you are working on. They appear when you are done.",
    "showUpdatesNow": "Show them now",
    # the phase timer
    "timerPaused": "Paused",
    "timerExpired": "Time is up",
    "timerIdle": "Not started",
    "timerStart": "Start",
    "timerRestart": "Restart",
    "timerOneMinute": "1 minute left",
    # clustering board (board.js)
    "noteSelected": "Selected: “{text}”. Press Move here on a column, or M to choose where it goes.",
    "selectionCleared": "Selection cleared.",
    "moveFailed": "The move did not work. Please try again.",
    # participant page (participant.js)
    "notSentOffline": (
        "Not sent yet: there is no connection. Your text stays here and is sent by itself as "
        "soon as the connection is back."
    ),
    "savedAfterRetry": "Saved: your contribution arrived once the connection was back.",
    # report downloads (report.js)
    "preparingFile": "Preparing the {format} file…",
    "preparingLargeFile": "Preparing the {format} file… large reports can take a few seconds.",
    "fileReady": "{format} file ready: {name}",
    "exportFailed": "The export failed.",
    "exportFailedRetry": "The export failed. Please try again.",
    "exportFailedStatus": "The export failed ({status}).",
    "defaultFormat": "file",
    "defaultFileName": "report",
}


def client_config() -> dict[str, Any]:
    """What the browser's scripts need to know of the vocabulary, as one JSON object."""
    return {
        "phases": [str(p) for p in PHASES],
        "phaseLabels": dict(PHASE_LABELS),
        "phaseNames": dict(PHASE_NAMES),
        "levels": [str(level) for level in POLICY_LEVELS],
        "levelLabels": dict(LEVEL_LABELS),
        "messages": dict(CLIENT_MESSAGES),
    }
