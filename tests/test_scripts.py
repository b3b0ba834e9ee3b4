"""The browser's scripts spell no words of their own: everything a person reads comes from
`app.vocabulary.CLIENT_MESSAGES` (and the phase and level labels), handed to the page in the
`#policylab-config` block, so that translating the server translates the scripts too."""

import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient

from app.vocabulary import CLIENT_MESSAGES, LEVEL_LABELS, PHASE_LABELS, client_config

SCRIPTS = sorted((Path(__file__).resolve().parents[1] / "static" / "js").glob("*.js"))

# Words a script must spell because they are not shown to anyone: HTTP headers and key names.
TECHNICAL = {"Accept", "Content-Disposition", "Enter", "Escape", "use strict"}
# Before a `/`, these mean a regular expression starts (not a division).
_REGEX_BEFORE = set("(,=:[!&|?{};+-*%<>~^") | {""}


def string_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal in a script."""
    return [(source.count("\n", 0, start) + 1, text) for start, text in string_starts(source)]


def string_starts(source: str) -> list[tuple[int, str]]:
    """(offset, text) of every string literal in a script, skipping comments and regular
    expressions. Enough of JavaScript's grammar for our own plain ES5 files."""
    found: list[tuple[int, str]] = []
    i, n = 0, len(source)
    previous = ""  # the last significant character before i
    while i < n:
        char = source[i]
        if source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
            continue
        if source.startswith("/*", i):
            i = source.index("*/", i + 2) + 2
            continue
        if char in "'\"`":
            start = i
            i += 1
            while source[i] != char:
                i += 2 if source[i] == "\\" else 1
            found.append((start, source[start + 1 : i]))
            i += 1
            previous = char
            continue
        word = re.match(r"[A-Za-z_$][\w$]*", source[i:])
        if word:
            previous = "" if word.group() in ("return", "typeof") else "a"
            i += len(word.group())
            continue
        if char == "/" and previous in _REGEX_BEFORE:
            i += 1
            in_class = False
            while in_class or source[i] != "/":
                if source[i] == "\\":
                    i += 1
                elif source[i] == "[":
                    in_class = True
                elif source[i] == "]":
                    in_class = False
                i += 1
            i += 1
            previous = "a"
            continue
        if not char.isspace():
            previous = char
        i += 1
    return found


def looks_like_prose(text: str) -> bool:
    """Words for people: a capitalised word, a sentence's end, or two plain words in a row
    (and none of the characters selectors, class lists and code are made of)."""
    if text in TECHNICAL:
        return False
    if "<" in text:  # markup: its words count, its tags do not
        return any(looks_like_prose(part.strip()) for part in re.split(r"<[^>]*>", text))
    code = re.search(r"[\[\]#=>(){}]|--|__|\\u00d7", text)
    if re.match(r"[A-Z][a-z]", text):
        return True
    if re.search(r"[A-Za-z](?:[.!?…]|\\u2026)$", text):
        return True
    return bool(re.search(r"[A-Za-z]{2,}\s+[A-Za-z]{2,}", text)) and not code


def test_the_scanner_finds_prose_and_leaves_code_alone() -> None:
    source = r"""
      // "A comment is not shown."
      var a = "Send"; /* 'Nor is this.' */ var b = x / 2 / y;
      var c = /filename="([^"]+)"/.exec(h); var d = "btn btn--secondary btn--small";
      var e = "input:not([type=hidden]), textarea"; var f = 'time is up';
      var g = "[data-note][aria-pressed=\"true\"]"; var h = message("errorOffline");
      el.innerHTML = '<button class="btn" value="cancel">Cancel</button>';
    """
    literals = [text for _, text in string_literals(source)]
    assert literals == [
        "Send",
        "btn btn--secondary btn--small",
        "input:not([type=hidden]), textarea",
        "time is up",
        '[data-note][aria-pressed=\\"true\\"]',
        "errorOffline",
        '<button class="btn" value="cancel">Cancel</button>',
    ]
    prose = [t for t in literals if looks_like_prose(t)]
    assert prose == ["Send", "time is up", '<button class="btn" value="cancel">Cancel</button>']


def test_no_script_spells_words_for_people() -> None:
    prose = [
        f"{script.name}:{line}: {text!r}"
        for script in SCRIPTS
        for line, text in string_literals(script.read_text())
        if looks_like_prose(text)
    ]
    assert len(SCRIPTS) >= 5
    assert not prose, "move these to CLIENT_MESSAGES in app/vocabulary.py:\n" + "\n".join(prose)


def test_every_message_a_script_asks_for_exists_and_every_message_is_used() -> None:
    literals = {text for script in SCRIPTS for _, text in string_literals(script.read_text())}
    asked = set()
    for script in SCRIPTS:
        source = script.read_text()
        for start, text in string_starts(source):
            if re.search(r"\bmessage\(\s*$", source[max(0, start - 20) : start]):
                asked.add(text)
    assert asked, "the scripts read no messages at all"
    assert asked <= CLIENT_MESSAGES.keys(), asked - CLIENT_MESSAGES.keys()
    # Keys are also chosen in maps and conditions before message() is called: a key no
    # script spells anywhere is unused.
    assert not CLIENT_MESSAGES.keys() - literals, CLIENT_MESSAGES.keys() - literals


def test_placeholders_are_filled_with_the_values_the_scripts_pass() -> None:
    for key, text in CLIENT_MESSAGES.items():
        assert re.fullmatch(r"[a-z][A-Za-z]+", key), key
        rest = re.sub(r"\{\w+\}", "", text)
        assert "{" not in rest and "}" not in rest, f"{key}: placeholders are {{name}}: {text}"
    calls = [
        call
        for script in SCRIPTS
        for call in re.findall(r"""message\(\s*"(\w+)",\s*\{([^}]*)\}""", script.read_text())
    ]
    assert len(calls) >= 5
    for key, values in calls:
        passed = set(re.findall(r"(\w+)\s*:", values))
        assert passed == set(re.findall(r"\{(\w+)\}", CLIENT_MESSAGES[key])), (key, passed)


class _ConfigBlock(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inside = tag == "script" and ("id", "policylab-config") in attrs

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text += data

    def handle_endtag(self, tag: str) -> None:
        self.inside = False


def test_every_page_hands_the_words_to_its_scripts(client: TestClient) -> None:
    parser = _ConfigBlock()
    parser.feed(client.get("/").text)
    config = json.loads(parser.text)
    assert config == client_config()
    assert config["messages"]["liveOffline"] == CLIENT_MESSAGES["liveOffline"]
    assert config["phaseLabels"] == PHASE_LABELS and config["levelLabels"] == LEVEL_LABELS
    assert config["phaseNames"]["setup"] == "set-up"


def test_vendored_files_are_the_pinned_ones() -> None:
    vendor = SCRIPTS[0].parents[1] / "vendor"
    listed = re.findall(r"^([0-9a-f]{64})  (\S+)$", (vendor / "VERSIONS.md").read_text(), re.M)
    assert {name for _, name in listed} >= {"htmx.min.js", "idiomorph.min.js"}
    for digest, name in listed:
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest, name
        # A file's licence sits next to it (`htmx.LICENSE`), or in its package's folder.
        folder = (vendor / name).parent
        licence = (
            folder / "LICENSE" if folder != vendor else vendor / f"{name.split('.')[0]}.LICENSE"
        )
        assert licence.exists(), name
