"""Translations: the catalogues are in step with the code, the first slice is translated in
every language, each person gets their own language (browser, cookie), the projector and
the report the session's, exports any language on demand, numbers and dates follow the
language; no visible string is left unmarked, and the core languages are complete.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import datetime
from gettext import GNUTranslations
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from fastapi.testclient import TestClient

from app import i18n
from app.i18n_web import LANGUAGE_COOKIE, request_language
from app.vocabulary import LEVEL_LABELS, PHASE_LABELS, client_config
from tests.conftest import Workshop, create_workshop

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "test-output"
POT = ROOT / "app" / "locale" / "messages.pot"


def _load_script() -> Any:
    spec = importlib.util.spec_from_file_location("i18n_script", ROOT / "scripts" / "i18n.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["i18n_script"] = module
    spec.loader.exec_module(module)
    return module


script = _load_script()


def catalogue(code: str) -> Catalog:
    return read_po(script.po_path(code).open("rb"), locale=code)


def keys(catalog: Catalog) -> set[tuple[Any, Any]]:
    return {(m.id, m.context) for m in catalog if m.id}


# --- the catalogues follow the code ----------------------------------------------------------


def test_the_committed_template_has_exactly_the_marked_strings_of_the_code() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "messages.pot"
        script.extract_to(fresh)
        extracted = keys(read_po(fresh.open("rb")))
    committed = keys(read_po(POT.open("rb")))
    new = sorted(str(k[0]) for k in extracted - committed)
    gone = sorted(str(k[0]) for k in committed - extracted)
    assert not new and not gone, (
        "run `uv run python scripts/i18n.py` and commit app/locale/: "
        f"marked but not in messages.pot: {new}; in messages.pot but no longer marked: {gone}"
    )


@pytest.mark.parametrize("code", script.TRANSLATED_LANGUAGES)
def test_every_catalogue_has_every_message_and_compiles_with_its_placeholders(code: str) -> None:
    catalog = catalogue(code)
    assert keys(catalog) == keys(read_po(POT.open("rb"))), "run scripts/i18n.py update"
    problems = [(m.id, errors) for m, errors in catalog.check()]
    assert not problems
    i18n.compile_po(script.po_path(code), code)


# The first slice, translated in every language by the infrastructure work: the switcher,
# the method's words, the defaults a session is created with, the error handler's messages.
SLICE = [
    "Language",
    "Change language",
    "Language of the session",
    *("Setup", "Brainstorm", "Clustering", "Scoring", "Report"),
    *("set-up", "brainstorm", "clustering", "scoring", "report"),
    *("Local & regional", "National", "EU", "No level yet"),
    *("Not relevant", "Low", "Medium", "High", "Essential", "Contested"),
    "AI and sector players",
    "Ecosystem structure",
    "Key framework conditions",
    "Which gaps stand in the way of solving this challenge?",
    "Which intervention is missing today?",
    "What could be done about it?",
    "What type of intervention would it take?",
    "There is nothing at this address.",
    "Something went wrong on our side. Please try again.",
    "%(field)s: %(problem)s",
    "Invalid input",
]


@pytest.mark.parametrize("code", script.TRANSLATED_LANGUAGES)
def test_the_first_slice_is_translated_in_every_language(code: str) -> None:
    catalog = catalogue(code)
    missing = [m for m in SLICE if not catalog.get(m) or not catalog.get(m).string]
    fuzzy = [m for m in SLICE if catalog.get(m) and catalog.get(m).fuzzy]
    assert not missing and not fuzzy, (missing, fuzzy)


def test_the_glossary_has_every_language_and_agrees_with_the_catalogues() -> None:
    rows = list(csv.DictReader((ROOT / "docs" / "glossary.csv").open(encoding="utf-8")))
    assert set(i18n.EU_LANGUAGES) <= set(rows[0])
    for row in rows:
        assert all(row[code].strip() for code in i18n.EU_LANGUAGES), row["term"]
    by_term = {row["term"]: row for row in rows}
    for code in script.TRANSLATED_LANGUAGES:
        translated = catalogue(code)
        # The policy levels on screen are the glossary's (capitalised as labels).
        for term, msgid in (("EU", "EU"), ("national", "National")):
            word = by_term[term][code]
            assert translated.get(msgid).string.casefold() == word.casefold(), (code, term)


# The eight core languages complete (en is the source language): a string marked without
# its translations fails here.
@pytest.mark.parametrize("code", ["fr", "de", "es", "it", "nl", "pl", "pt"])
def test_core_languages_have_no_missing_or_fuzzy_entry(code: str) -> None:
    coverage = script.coverage(code)
    assert coverage.translated == coverage.total and coverage.fuzzy == 0, coverage


# --- runtime ---------------------------------------------------------------------------------


def test_each_language_is_named_in_itself_in_the_eu_protocol_order() -> None:
    names = {language.code: language.name for language in i18n.language_choices()}
    assert list(names)[:3] == ["bg", "es", "cs"] and len(names) >= 24
    assert names["de"] == "Deutsch" and names["el"] == "Ελληνικά" and names["ga"] == "Gaeilge"
    assert names["fr"] == "Français" and names["pt"] == "Português"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("de-AT,de;q=0.9,en;q=0.8", "de"),
        ("pt-BR", "pt"),
        ("zh-CN, fr;q=0.5, en;q=0.7", "en"),
        ("ja, sv;q=0.1", "sv"),
        ("en;q=0, pl", "pl"),
        ("DE-de", "de"),
        ("*", None),
        ("zh, ja", None),
        ("", None),
        ("de;q=abc, fr", "fr"),
    ],
)
def test_accept_language_is_negotiated_by_preference(header: str, expected: str | None) -> None:
    assert i18n.negotiate(header) == expected


def test_the_cookie_wins_over_the_browser_and_a_bad_cookie_is_ignored() -> None:
    assert request_language(f"a=1; {LANGUAGE_COOKIE}=fi", "de") == "fi"
    assert request_language(f"{LANGUAGE_COOKIE}=xx", "de;q=0.8") == "de"
    assert request_language(None, None) == "en"


def test_labels_and_formats_follow_the_language_of_the_moment() -> None:
    moment = datetime(2026, 11, 25, 14, 5)
    assert i18n.format_pct(0.755) == "76%" and i18n.format_number(4.25) == "4.2"
    assert i18n.format_date(moment) == "25 November 2026"
    with i18n.use_language("de"):
        assert LEVEL_LABELS["local_regional"] == "Lokal und regional"
        assert i18n.format_number(4.5) == "4,5" and i18n.format_pct(0.5) == "50\xa0%"
        assert i18n.format_date(moment) == "25. November 2026"
        assert client_config()["phaseLabels"]["scoring"] == "Bewertung"
    with i18n.use_language("pl"):
        assert PHASE_LABELS["brainstorm"] == "Burza mózgów"
        assert i18n.format_integer(1234567) == "1\xa0234\xa0567"
    with i18n.use_language("pt"):
        assert i18n.format_date(moment) == "25 de novembro de 2026"
    assert LEVEL_LABELS["local_regional"] == "Local & regional"


def test_plural_forms_come_from_each_languages_rules() -> None:
    """A catalogue with the header `scripts/i18n.py` wrote picks the right form for n."""

    def forms(code: str, strings: tuple[str, ...]) -> Any:
        header = script.po_path(code).read_text(encoding="utf-8").split("\n\n", 1)[0]
        entry = 'msgid "%(num)s vote"\nmsgid_plural "%(num)s votes"\n' + "".join(
            f'msgstr[{i}] "%(num)s {s}"\n' for i, s in enumerate(strings)
        )
        return i18n.compile_po(f"{header}\n\n{entry}".encode(), code)

    polish = forms("pl", ("głos", "głosy", "głosów"))
    assert [
        polish.ngettext("%(num)s vote", "%(num)s votes", n) % {"num": n} for n in (1, 3, 5, 22)
    ] == [
        "1 głos",
        "3 głosy",
        "5 głosów",
        "22 głosy",
    ]
    # European Portuguese: zero takes the plural (Brazil's rule would take the singular).
    portuguese = forms("pt", ("voto", "votos", "votos"))
    assert portuguese.ngettext("%(num)s vote", "%(num)s votes", 0) == "%(num)s votos"
    assert portuguese.ngettext("%(num)s vote", "%(num)s votes", 1) == "%(num)s voto"


def test_the_browser_gets_every_plural_form_of_a_count_by_cldr_category() -> None:
    """A count in a script's message (the character counter) in the form the language uses
    for it: Polish one / few / many, picked in the browser by Intl.PluralRules."""
    header = script.po_path("pl").read_text(encoding="utf-8").split("\n\n", 1)[0]
    entry = (
        'msgid "{count} character left"\nmsgid_plural "{count} characters left"\n'
        'msgstr[0] "Został {count} znak"\nmsgstr[1] "Zostały {count} znaki"\n'
        'msgstr[2] "Zostało {count} znaków"\n'
    )
    polish = i18n.compile_po(f"{header}\n\n{entry}".encode(), "pl")
    i18n.register_language("qpl", polish, name="Polski (test)", format_locale="pl")
    try:
        with i18n.use_language("qpl"):
            config = client_config()
    finally:
        i18n.unregister_language("qpl")
    assert config["pluralLocale"] == "pl"
    forms = config["plurals"]["charactersLeft"]
    assert forms["one"] == "Został {count} znak"
    assert forms["few"] == "Zostały {count} znaki"
    assert forms["many"] == "Zostało {count} znaków"
    # The plain message (no Intl in the browser) is one of the forms, never a blank.
    assert config["messages"]["charactersLeft"] in forms.values()
    with i18n.use_language("pt"):
        assert client_config()["pluralLocale"] == "pt-PT"  # zero takes the plural in Portugal


def test_names_sort_with_accents_next_to_their_letters() -> None:
    names = ["Zagreb", "Évora", "emilia", "Aarhus", "Ålesund", "éclair", "Eindhoven"]
    assert i18n.sorted_by_name(names) == [
        "Aarhus",
        "Ålesund",
        "éclair",
        "Eindhoven",
        "emilia",
        "Évora",
        "Zagreb",
    ]


# --- the web: each person's language ---------------------------------------------------------


def test_a_page_speaks_the_browsers_language_and_the_switcher_keeps_a_choice(
    client: TestClient,
) -> None:
    page = client.get("/", headers={"Accept-Language": "fr-BE,fr;q=0.9"})
    assert '<html lang="fr">' in page.text and ">Langue</label>" in page.text
    assert page.headers["content-language"] == "fr"
    assert "Accept-Language" in page.headers["vary"] and "Cookie" in page.headers["vary"]
    switched = client.post(
        "/language", data={"lang": "pl", "next": "/new?x=1"}, follow_redirects=False
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/new?x=1"
    assert "httponly" in switched.headers["set-cookie"].lower()
    again = client.get("/new", headers={"Accept-Language": "fr"})
    assert '<html lang="pl">' in again.text and "Zmień język" in again.text
    # The form is prefilled in the person's language: the default categories in Polish.
    assert "Podmioty z obszaru SI i sektora" in again.text
    assert 'value="pl" lang="pl" selected' in again.text


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil", ""])
def test_the_switcher_goes_back_to_this_site_only(client: TestClient, target: str) -> None:
    answer = client.post("/language", data={"lang": "de", "next": target}, follow_redirects=False)
    assert answer.headers["location"] == "/"


def test_the_switcher_comes_back_to_the_page_without_its_secrets(client: TestClient) -> None:
    page = client.get("/f/ABC234?key=s3cret-key&x=1", headers={"Accept": "text/html"})
    assert "s3cret-key" not in page.text
    assert 'name="next" value="/f/ABC234?x=1"' in page.text


def test_an_unknown_language_forgets_the_choice(client: TestClient) -> None:
    client.post("/language", data={"lang": "de", "next": "/"})
    assert client.cookies.get(LANGUAGE_COOKIE) == "de"
    client.post("/language", data={"lang": "tlh", "next": "/"})
    assert client.cookies.get(LANGUAGE_COOKIE) is None


def test_api_details_follow_accept_language(client: TestClient) -> None:
    answer = client.get("/api/v1/nowhere", headers={"Accept-Language": "it"})
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Non c’è nulla a questo indirizzo."}
    refused = client.post(
        "/api/v1/sessions",
        json={"title": "T", "challenges": [{"title": "C"}], "language": "tlh"},
        headers={"Accept-Language": "de"},
    )
    assert refused.status_code == 422 and refused.json()["detail"] == "Unbekannte Sprache „tlh“."


UNKNOWN_CODE = "No session has this code. Check the code and try again."


def said_in(code: str, message: str, **values: Any) -> str:
    """`message` as the catalogue of `code` says it (and not left in English)."""
    with i18n.use_language(code):
        text = i18n.gettext(message, **values)
    assert text != (message % values if values else message), (code, message)
    return text


def test_api_refusals_come_in_the_requests_language(client: TestClient) -> None:
    french = {"Accept-Language": "fr-BE,fr;q=0.9"}
    empty = client.post("/api/v1/sessions", json={"title": "T", "challenges": []}, headers=french)
    assert empty.status_code == 422
    assert empty.json()["detail"] == said_in("fr", "A session needs at least one challenge.")
    # A refusal naming the phase: the whole sentence and the phase in French.
    w = create_workshop(client, participants=1, language="de")
    early = client.post(
        w.url("/contributions"),
        json={"challenge_id": w.challenges[0]["id"], "text": "Trop tôt"},
        headers={**w.p(0), **french},
    )
    assert early.status_code == 409
    assert early.json()["detail"] == said_in(
        "fr",
        "Adding contributions is only possible during the brainstorm phase; "
        "the session is in the %(phase)s phase.",
        phase=said_in("fr", "set-up"),
    )
    # A field's limit, with its plural.
    long = client.post(
        "/api/v1/sessions",
        json={"title": "x" * 201, "challenges": [{"title": "C"}]},
        headers={"Accept-Language": "de"},
    )
    detail = long.json()["detail"]
    assert detail.startswith("Titel: zu lang, 201 Zeichen;") and "200" in detail, detail
    # pydantic's own complaints, in the common cases.
    missing = client.post("/api/v1/sessions", json={"challenges": []}, headers=french)
    assert missing.json()["detail"] == "title\u00a0: une valeur est requise"
    # Refused before any route, by the security middleware: the same language.
    nul = client.get("/api/v1/sessions/%00", headers=french)
    assert nul.status_code == 400 and nul.json()["detail"] == "L’adresse contient un caractère NUL."


def test_the_cli_speaks_the_terminals_language(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main as cli

    monkeypatch.setenv("LANGUAGE", "fr_BE:fr")
    assert cli(["export", "NOPE99", "--format", "md"]) == 2
    assert said_in("fr", UNKNOWN_CODE) in capsys.readouterr().err
    assert cli(["migrate"]) == 0
    assert capsys.readouterr().out == "La base de données est à jour.\n"
    monkeypatch.setenv("LANGUAGE", "de")
    with pytest.raises(SystemExit):
        cli(["--help"])
    assert said_in("de", "run the web server") in capsys.readouterr().out


# --- the session's language ------------------------------------------------------------------


def test_a_session_stores_the_defaults_in_its_language_and_keeps_them(
    client: TestClient,
) -> None:
    german = create_workshop(client, language="de")
    assert german.categories[0] == "KI- und Branchenakteure"
    assert german.challenges[0]["questions"][1] == "Welche Maßnahme fehlt heute?"
    # No language given: the creator's (Accept-Language).
    answer = client.post(
        "/api/v1/sessions",
        json={"title": "T", "challenges": [{"title": "C"}]},
        headers={"Accept-Language": "es"},
    )
    assert answer.json()["language"] == "es"
    assert answer.json()["categories"][2] == "Condiciones marco clave"
    # Changing the language later leaves the stored text as it was written.
    changed = client.patch(german.url(), json={"language": "fr"}, headers=german.f)
    assert changed.json()["language"] == "fr"
    assert changed.json()["categories"][0] == "KI- und Branchenakteure"


def test_a_lab_template_is_written_into_a_session_in_its_language() -> None:
    from app.sessions.labs import AI_CCI

    german = AI_CCI.to_create("de")
    assert german.title == "KI in der Kultur- und Kreativwirtschaft"
    assert german.challenges[1].title == "Kompetenzen für KI"
    assert german.language == "de"
    assert AI_CCI.to_create("en").title == "AI in the cultural and creative industries"


def test_the_clustering_assistant_knows_the_default_categories_in_any_language() -> None:
    """A session stores the defaults in its own language: the assistant still gives them
    their lexicon and built-in descriptions."""
    from app.clustering.categories import (
        FRAMEWORK,
        PLAYERS,
        category_descriptions,
        default_category,
        suggest_category,
    )

    assert default_category("Φορείς της ΤΝ και του τομέα") == PLAYERS
    assert default_category("zentrale rahmenbedingungen") == FRAMEWORK
    assert default_category("Our own category") is None
    greek = category_descriptions(["Φορείς της ΤΝ και του τομέα", "Δικό μας"])
    assert len(greek[0]) > 1 and greek[1] == ("Δικό μας",)
    with i18n.use_language("de"):
        german = [i18n.gettext(name) for name in ("AI and sector players", FRAMEWORK)]
    texts = ["Grants and tax incentives for funding", "Copyright regulation and remuneration"]
    assert suggest_category(texts, german) == german[1]


def test_the_projector_speaks_the_sessions_language_whatever_the_browser(
    client: TestClient,
) -> None:
    lab = create_workshop(client, language="el")
    client.cookies.set(f"policylab_{lab.code}", lab.facilitator_token)
    client.cookies.set(LANGUAGE_COOKIE, "fr")
    projector = client.get(f"/s/{lab.code}/projector")
    assert '<html lang="el">' in projector.text and "Προετοιμασία" in projector.text
    assert projector.headers["content-language"] == "el"
    dashboard = client.get(f"/s/{lab.code}/facilitate")
    assert '<html lang="fr">' in dashboard.text and "Préparation" in dashboard.text


def test_exports_are_in_the_sessions_language_or_the_one_asked_for(
    client: TestClient,
) -> None:
    w = create_workshop(client, participants=1, language="fr")
    w.phase("brainstorm")
    note = w.contribute(0, 0, "Des bons de formation")
    w.phase("clustering")
    cluster = w.cluster(0, "Formation", w.categories[0], [note["id"]])
    w.phase("scoring")
    w.rate(0, cluster["id"], 4, "local_regional")
    default = client.get(w.url("/report?format=md"), headers=w.f)
    assert "Local et régional" in default.text and default.headers["content-language"] == "fr"
    german = client.get(w.url("/report?format=md&lang=de"), headers=w.f)
    assert "Lokal und regional" in german.text and german.headers["content-language"] == "de"
    # Stored text stays as written: the French default category in the German report.
    assert "Acteurs de l’IA et du secteur" in german.text
    unknown = client.get(w.url("/report?format=md&lang=tlh"), headers=w.f)
    assert unknown.status_code == 422


def test_live_fragments_are_rendered_in_each_viewers_language(client: TestClient) -> None:
    from tests.live.test_pages import event, sent, stream_for, updates

    w = create_workshop(client, participants=2, language="de")
    w.phase("brainstorm")
    a = w.contribute(0, 0, "Regional hubs")
    w.phase("clustering")
    cluster = w.cluster(0, "Hubs", w.categories[0], [a["id"]])
    w.phase("scoring")
    w.rate(0, cluster["id"], 5, "local_regional")
    w.rate(1, cluster["id"], 4, "local_regional")
    w.phase("report")
    rated = event(990, "rating_changed", cluster_id=cluster["id"], challenge_id=1)
    with i18n.use_language("fr"):
        french = stream_for(client, w, "participant", who=0, page_phase="report")
        projector = stream_for(client, w, "projector")
    with i18n.use_language("pl"):
        polish = stream_for(client, w, "participant", who=1, page_phase="report")
    french_html = updates(sent(client, french, rated))
    polish_html = updates(sent(client, polish, rated))
    assert "Local et régional" in french_html and "Lokalny i regionalny" not in french_html
    assert "Lokalny i regionalny" in polish_html and "Local et régional" not in polish_html
    # The projector follows the session (German), whoever opened it.
    assert "Lokal und regional" in updates(sent(client, projector, rated))


def test_the_cli_follows_the_terminal_and_exports_in_any_language() -> None:
    from app.cli import build_parser, terminal_language

    assert terminal_language({"LANG": "de_AT.UTF-8"}) == "de"
    assert terminal_language({"LANGUAGE": "zh:sv", "LANG": "fr_FR.UTF-8"}) == "sv"
    assert terminal_language({"LC_ALL": "C.UTF-8", "LANG": "pt_BR.UTF-8"}) == "pt"
    assert terminal_language({"LANG": "C"}) == "en"
    args = build_parser().parse_args(["export", "ABC234", "--format", "pdf", "--lang", "el"])
    assert args.lang == "el"


# --- no visible string unmarked (the pseudo-language) ----------------------------------------

PSEUDO = "qps"  # the pseudo-locale tag (qps-ploc) reserved for this use
OPEN, CLOSE = "⟦", "⟧"
# Every piece of user data the test creates is made of words containing this token.
TOKEN = "Zqx"
_MARKED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
_USER = re.compile(rf"\S*{TOKEN}\S*", re.IGNORECASE)
_URL = re.compile(r"(?:https?://|/)[\w./?=&%#:+-]*")
_LETTER = re.compile(r"[^\W\d_]")
# Not translated on purpose: the product's name and the names of file formats.
_NAMES = re.compile(r"\b(?:Policy Lab|PDF|DOCX|XLSX|CSV|JSON|HTML|Markdown|Word|Excel)\b")


def pseudo_translations() -> GNUTranslations:
    """Every message of the template wrapped in ⟦…⟧ (plural forms too)."""
    template = read_po(POT.open("rb"))
    catalog = Catalog(locale="en")
    for message in template:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            string: Any = tuple(f"{OPEN}{s}{CLOSE}" for s in message.id)
        else:
            string = f"{OPEN}{message.id}{CLOSE}"
        catalog.add(message.id, string, context=message.context)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return GNUTranslations(compiled)


@pytest.fixture
def pseudo() -> Iterator[str]:
    i18n.register_language(PSEUDO, pseudo_translations(), name=f"{OPEN}Pseudo{CLOSE}")
    yield PSEUDO
    i18n.unregister_language(PSEUDO)


class VisibleText(HTMLParser):
    """What a person sees or hears of a page: text nodes and the attributes read aloud or
    shown (titles, placeholders, labels, confirmations), and the scripts' words."""

    ATTRIBUTES = {
        "aria-label",
        "aria-valuetext",
        "aria-roledescription",
        "title",
        "placeholder",
        "alt",
        "data-confirm",
        "data-confirm-title",
        "data-confirm-label",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._skip = 0
        self._config = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
            self._config = values.get("id") == "policylab-config"
        for name, value in attrs:
            if value and name in self.ATTRIBUTES:
                self.pieces.append(value)
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.pieces.append(values["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
            self._config = False

    def handle_data(self, data: str) -> None:
        if self._config:
            config = json.loads(data)
            for key in ("phaseLabels", "phaseNames", "levelLabels", "messages"):
                self.pieces.extend(config[key].values())
            for forms in config["plurals"].values():
                self.pieces.extend(forms.values())
        elif not self._skip and data.strip():
            self.pieces.append(data)


def html_pieces(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.pieces


def unmarked(text: str, allowed: list[str]) -> str | None:
    """The part of `text` a person would read that is neither translated nor user data."""
    rest = text
    while True:
        stripped = _MARKED.sub(" ", rest)
        if stripped == rest:
            break
        rest = stripped
    rest = _USER.sub(" ", _URL.sub(" ", rest))
    rest = _NAMES.sub(" ", rest)
    for word in allowed:
        rest = rest.replace(word, " ")
    rest = " ".join(rest.split())
    return rest if _LETTER.search(rest) else None


def report_pieces(fmt: str, content: bytes) -> list[str]:
    """The text of a report file, in pieces a person reads."""
    if fmt in ("html",):
        return html_pieces(content.decode())
    if fmt == "md":
        return content.decode().splitlines()
    if fmt == "csv":
        return [cell for row in csv.reader(io.StringIO(content.decode())) for cell in row]
    if fmt == "json":
        data = json.loads(content)
        prose: list[str] = []

        def walk(value: Any, key: str = "") -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(v, k)
            elif isinstance(value, list):
                for v in value:
                    walk(v, key)
            elif isinstance(value, str) and key in ("text", "minority_view", "level_note"):
                prose.append(value)

        walk(data.get("methodology"), "methodology")
        walk(data.get("challenges"))
        return prose
    if fmt == "pdf":
        from pypdf import PdfReader

        return [page.extract_text() or "" for page in PdfReader(io.BytesIO(content)).pages]
    if fmt == "docx":
        from docx import Document

        document = Document(io.BytesIO(content))
        pieces = [p.text for p in document.paragraphs]
        for table in document.tables:
            pieces.extend(cell.text for row in table.rows for cell in row.cells)
        for section in document.sections:
            pieces.extend(p.text for p in section.header.paragraphs + section.footer.paragraphs)
        pieces.append(document.core_properties.title or "")
        return pieces
    assert fmt == "xlsx"
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    pieces = list(book.sheetnames)
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            pieces.extend(cell for cell in row if isinstance(cell, str))
    return pieces


def _pseudo_workshop(client: TestClient, language: str) -> Workshop:
    headers = {"Accept-Language": language}
    answer = client.post(
        "/api/v1/sessions",
        json={
            "title": f"{TOKEN}title",
            "challenges": [
                {"title": f"{TOKEN}challenge1", "description": f"{TOKEN}brief1"},
                {"title": f"{TOKEN}challenge2", "description": f"{TOKEN}brief2"},
            ],
            "place": f"{TOKEN}place",
            "organiser": f"{TOKEN}organiser",
            "lab_date": f"{TOKEN}date",
            "show_names": True,
        },
        headers=headers,
    )
    assert answer.status_code == 201, answer.text
    data = answer.json()
    w = Workshop(
        client=client,
        code=data["code"],
        facilitator_token=data["facilitator_token"],
        challenges=data["challenges"],
        categories=data["categories"],
    )
    for n in range(3):
        w.join(f"{TOKEN}person{n}")
    return w


def test_visible_strings_of_the_marked_parts_are_all_marked(
    client: TestClient, pseudo: str
) -> None:
    """The check below on what this work marked: the switcher and the vocabulary's words in
    the pages' script configuration."""
    client.cookies.set(LANGUAGE_COOKIE, pseudo)
    page = client.get("/")
    pieces = html_pieces(page.text)
    config = json.loads(page.text.split('id="policylab-config">', 1)[1].split("</script>")[0])
    assert all(v.startswith(OPEN) for v in config["phaseLabels"].values())
    assert all(v.startswith(OPEN) for v in config["messages"].values())
    assert f"{OPEN}Change language{CLOSE}" in pieces and f"{OPEN}Language{CLOSE}" in pieces
    assert unmarked(f"{OPEN}Join {TOKEN}title now{CLOSE} 12 % — {TOKEN}x", []) is None
    assert unmarked(f"{OPEN}a {OPEN}b{CLOSE} c{CLOSE} left", []) == "left"


def test_no_visible_string_is_left_unmarked(client: TestClient, pseudo: str) -> None:
    """Every page in every phase (facilitator, participant, projector, report page), the
    API's refusals and every report format, in a pseudo-language whose catalogue wraps each
    message in ⟦…⟧: any text a person reads must be marked or be user data."""
    w = _pseudo_workshop(client, pseudo)
    allowed = [w.code] + [language.name for language in i18n.language_choices()]
    allowed += [m for m in Locale.parse("en").months["format"]["wide"].values()]
    found: dict[str, set[str]] = {}

    def check(where: str, pieces: list[str]) -> None:
        for piece in pieces:
            left = unmarked(piece, allowed)
            if left:
                found.setdefault(left[:300], set()).add(where)

    facilitator = {f"policylab_{w.code}": w.facilitator_token, LANGUAGE_COOKIE: pseudo}
    participant = {
        f"policylab_{w.code}": w.participants[0]["participant_token"],
        LANGUAGE_COOKIE: pseudo,
    }

    def visit(path: str, cookies: dict[str, str], **headers: str) -> None:
        client.cookies.clear()
        for name, value in cookies.items():
            client.cookies.set(name, value)
        answer = client.get(path, headers={"Accept": "text/html", **headers})
        check(f"GET {path} ({answer.status_code})", html_pieces(answer.text))
        trigger = answer.headers.get("HX-Trigger")
        if trigger:
            check(f"GET {path} toast", [json.dumps(json.loads(trigger), ensure_ascii=False)])

    public = {LANGUAGE_COOKIE: pseudo}
    for path in ("/", "/new", "/new?template=ai-cci", "/join", f"/join/{w.code}", "/f"):
        visit(path, public)
    visit("/nowhere", public)
    visit(f"/s/{w.code}", public)
    c = w.challenges[0]["id"]
    facilitator_pages = [
        f"/s/{w.code}/created",
        f"/s/{w.code}/facilitate",
        f"/s/{w.code}/facilitate/brainstorm",
        f"/s/{w.code}/facilitate/clustering?challenge={c}",
        f"/s/{w.code}/facilitate/clustering/suggest?challenge={c}",
        f"/s/{w.code}/facilitate/matrix",
        f"/s/{w.code}/facilitate/report",
        f"/s/{w.code}/projector",
    ]
    notes: list[int] = []
    for phase in ("setup", "brainstorm", "clustering", "scoring", "report"):
        if phase != "setup":
            w.phase(phase)
        if phase == "brainstorm":
            for n in range(6):
                notes.append(w.contribute(n % 3, n % 2, f"{TOKEN}note{n} {TOKEN}words")["id"])
        if phase == "clustering":
            first = [i for i in notes if i % 2 == notes[0] % 2]
            one = w.cluster(0, f"{TOKEN}cluster1", w.categories[0], first[:2])
            two = w.cluster(0, f"{TOKEN}cluster2", w.categories[1], first[2:])
        if phase == "scoring":
            for who, (r1, r2) in enumerate(((5, 1), (4, 5), (1, 3))):
                w.rate(who, one["id"], r1, "eu")
                w.rate(who, two["id"], r2, ["national", "local_regional", "eu"][who])
        for path in facilitator_pages:
            visit(path, facilitator)
        visit(f"/s/{w.code}/facilitate/phase?to=report", facilitator)
        visit(f"/s/{w.code}", participant)
        visit(f"/s/{w.code}", participant, **{"HX-Request": "true"})

    # The API's refusals.
    api = {"Accept-Language": pseudo}
    client.cookies.clear()
    refusals = [
        client.get(w.url(), headers=api),
        client.get("/api/v1/sessions/ZZZZZZ", headers={**api, **w.f}),
        client.post(w.url("/phase"), json={"phase": "setup"}, headers={**api, **w.p(0)}),
        client.post(w.url("/phase"), json={"phase": f"{TOKEN}phase"}, headers={**api, **w.f}),
        client.post(
            w.url("/contributions"),
            json={"challenge_id": c, "text": f"{TOKEN}late"},
            headers={**api, **w.p(0)},
        ),
        client.post("/api/v1/sessions", json={"challenges": []}, headers=api),
        client.get(w.url(f"/report?format={TOKEN}fmt"), headers={**api, **w.f}),
    ]
    for answer in refusals:
        assert answer.status_code >= 400
        check(f"API {answer.request.method} {answer.request.url.path}", [answer.json()["detail"]])

    # Every report format, in the pseudo-language.
    for fmt in ("html", "md", "csv", "json", "pdf", "docx", "xlsx"):
        answer = client.get(w.url(f"/report?format={fmt}&lang={pseudo}"), headers=w.f)
        assert answer.status_code == 200, answer.text
        check(f"report.{fmt}", report_pieces(fmt, answer.content))

    OUTPUT.mkdir(exist_ok=True)
    listing = "\n".join(
        f"{text}\n    ← {', '.join(sorted(where)[:4])}{' …' if len(where) > 4 else ''}"
        for text, where in sorted(found.items())
    )
    (OUTPUT / "i18n-unmarked.txt").write_text(
        f"{len(found)} visible strings not marked for translation "
        f"(tests/test_i18n.py::test_no_visible_string_is_left_unmarked)\n\n{listing}\n",
        encoding="utf-8",
    )
    assert not found, f"{len(found)} unmarked strings: see test-output/i18n-unmarked.txt"


# --- text in any script in PDF and DOCX --------------------------------------------------------

SCRIPTS = {
    "greek": "Η πρόσβαση των ΜΜΕ σε χρηματοδότηση",
    "bulgarian": "Недостиг на умения в творческите индустрии",
    "latin": "Žluťoučký kůň úpěl ďábelské ódy; Łódź, Øresund, Ærø, Şişli, Ħamrun, Ċirkewwa",
    "irish": "Scileanna digiteacha d’ealaíontóirí óga",
    "emoji": "Creative hubs 🎨🤖 need funding 💶",
}


def test_a_pdf_and_a_docx_in_greek_carry_greek_headings_and_text_in_any_script(
    client: TestClient,
) -> None:
    from docx import Document
    from pypdf import PdfReader

    w = create_workshop(client, participants=1, language="el")
    w.phase("brainstorm")
    ids = [w.contribute(0, 0, text)["id"] for text in SCRIPTS.values()]
    w.phase("clustering")
    w.cluster(0, "Χρηματοδότηση 💶", w.categories[0], ids)
    pdf = client.get(w.url("/report?format=pdf"), headers=w.f)
    text = " ".join(
        " ".join((page.extract_text() or "").split())
        for page in PdfReader(io.BytesIO(pdf.content)).pages
    )
    # The Greek category headings (the session's defaults) and every script as written.
    assert "Φορείς της ΤΝ και του τομέα" in text, text
    for name, sample in SCRIPTS.items():
        if name != "emoji":
            assert sample in text, name
    assert "🎨" in text, (
        "emoji lost in the PDF: fonts-noto-color-emoji is missing (.ci/run installs it)"
    )
    docx = client.get(w.url("/report?format=docx"), headers=w.f)
    document = Document(io.BytesIO(docx.content))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "Φορείς της ΤΝ και του τομέα" in headings
    body = "\n".join(p.text for p in document.paragraphs)
    assert all(sample in body for sample in SCRIPTS.values())
    with zipfile.ZipFile(io.BytesIO(docx.content)) as package:
        styles = package.read("word/styles.xml").decode()
    # Every script has a font named for it in the document's default style.
    assert 'w:eastAsia="' in styles and 'w:cs="' in styles


def test_todo_and_apply_round_trip_a_translation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The translators' cycle: `todo` lists what a language lacks, `apply` writes the filled
    list back; the entry then counts as translated and the catalogue still compiles."""
    locale_dir = tmp_path / "locale"
    shutil.copytree(script.LOCALE_DIR / "fr", locale_dir / "fr")
    monkeypatch.setattr(script, "LOCALE_DIR", locale_dir)
    # One message untranslated again, whatever the state of the real catalogue.
    po = script.po_path("fr")
    catalog = read_po(po.open("rb"), locale="fr")
    catalog[UNKNOWN_CODE].string = ""
    with po.open("wb") as out:
        write_po(out, catalog, width=100)
    before = script.coverage("fr")
    listed = tmp_path / "todo.json"
    count = script.todo("fr", listed)
    assert count == before.total - before.translated
    entries = json.loads(listed.read_text(encoding="utf-8"))
    single = next(e for e in entries if e["id"] == UNKNOWN_CODE)
    single["translation"] = "Texte traduit"
    listed.write_text(json.dumps(entries), encoding="utf-8")
    assert script.apply("fr", listed) == 1
    after = script.coverage("fr")
    assert after.translated == before.translated + 1
    assert script.todo("fr", listed) == count - 1
