"""Translations: every user-facing string goes through gettext.

Code marks strings with `_("…")` (translated now, in the language of the request being
answered) or, for module-level constants, `N_("…")` (only marked; translate where shown with
`_(constant)`). Templates use `{{ _("…") }}`, `{% trans %}…{% endtrans %}` and `ngettext`
(the Jinja2 i18n extension, new style: `_("Hello %(name)s", name=…)`, autoescaped).

The language of the moment lives in a context variable, so each request, live stream and
export is answered in its own language (`use_language`); `app.i18n_web` sets it for every
request (cookie, then `Accept-Language`).

Catalogues: `app/locale/<lang>/LC_MESSAGES/messages.po`, managed with Babel
(`scripts/i18n.py`: extract → update → compile, and the coverage per language). English is
the source language and has no catalogue. The `.po` files are compiled in memory when a
language is first used (`load_all` does it for every language at start-up); no `.mo` file is
committed or needed.

Formatting (numbers, percentages, dates) follows the current language with Babel's CLDR
data, and `sort_key` orders names the same way in every language (see its docstring).
"""

import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from gettext import GNUTranslations, NullTranslations
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

from babel import Locale
from babel.core import negotiate_locale
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.dates import format_time as _babel_format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"

# The 24 official languages of the EU in the EU's protocol order (each listed by its own
# name: български, español, čeština, …), the order europa.eu's language menus use.
EU_LANGUAGES: tuple[str, ...] = (
    "bg", "es", "cs", "da", "de", "et", "el", "en", "fr", "ga", "hr", "it",
    "lv", "lt", "hu", "mt", "nl", "pl", "pt", "ro", "sk", "sl", "fi", "sv",
)  # fmt: skip
# The languages whose catalogues are complete and reviewed for consistent terminology.
CORE_LANGUAGES: tuple[str, ...] = ("en", "fr", "de", "es", "it", "nl", "pl", "pt")
# Babel's bare `pt` formats as in Brazil: the EU's Portuguese is Portugal's. English
# numbers and dates as in Ireland (25 November 2026, 76%).
FORMAT_LOCALES = {"en": "en_IE", "pt": "pt_PT"}


@dataclass(frozen=True)
class Language:
    """A language people can choose: its code, its own name, formats and translations."""

    code: str
    name: str
    locale: Locale
    translations: NullTranslations


# The source language needs no catalogue: its translations are the messages.
_SOURCE = NullTranslations()
_translations: ContextVar[NullTranslations | None] = ContextVar("translations", default=None)
_language: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)
_registry: dict[str, Language] = {}
_registry_lock = threading.Lock()


def _current() -> NullTranslations:
    return _translations.get() or _SOURCE


def gettext(message: str, **values: Any) -> str:
    """`message` in the current language, with `%(name)s` placeholders filled from `values`."""
    text = _current().gettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: Any) -> str:
    """The singular or plural form for `n` in the current language; `%(num)s` is `n`."""
    text = _current().ngettext(singular, plural, n)
    return text % {"num": n, **values}


def pgettext(context: str, message: str, **values: Any) -> str:
    """`message` as meant in `context` (one English word, several translations)."""
    text = _current().pgettext(context, message)
    return text % values if values else text


_ = gettext


def N_(message: str) -> str:  # noqa: N802 - the conventional name of the no-op marker
    """Mark a string for extraction only; translate it where it is shown with `_()`."""
    return message


# --- languages ---------------------------------------------------------------------------------


def _catalogue_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def compile_po(source: Path | bytes, code: str) -> GNUTranslations:
    """A `.po` catalogue compiled in memory (fuzzy entries left out, as `pybabel compile`)."""
    raw = source.read_bytes() if isinstance(source, Path) else source
    catalog = read_po(BytesIO(raw), locale=code, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return GNUTranslations(compiled)


def own_name(code: str) -> str:
    """The language's name in itself, capitalised as in a menu: “Deutsch”, “Français”."""
    name = Locale.parse(code).get_language_name(code) or code
    return name[:1].upper() + name[1:]


def _load(code: str) -> Language:
    path = _catalogue_path(code)
    translations: NullTranslations = (
        compile_po(path, code) if code != DEFAULT_LANGUAGE and path.exists() else _SOURCE
    )
    locale = Locale.parse(FORMAT_LOCALES.get(code, code))
    return Language(code=code, name=own_name(code), locale=locale, translations=translations)


def get_language(code: str) -> Language:
    """A registered language (loaded on first use); the default language for unknown codes."""
    found = _registry.get(code)
    if found is not None:
        return found
    if code not in EU_LANGUAGES:
        return get_language(DEFAULT_LANGUAGE)
    with _registry_lock:
        found = _registry.get(code)
        if found is None:
            found = _registry[code] = _load(code)
    return found


def load_all() -> None:
    """Compile every catalogue now (at start-up), so no request waits for one."""
    for code in EU_LANGUAGES:
        get_language(code)


def register_language(
    code: str, translations: NullTranslations, *, name: str, format_locale: str = "en_IE"
) -> Language:
    """Offer one more language (tests use a pseudo-language whose messages are marked)."""
    language = Language(code, name, Locale.parse(format_locale), translations)
    with _registry_lock:
        _registry[code] = language
    return language


def unregister_language(code: str) -> None:
    """Take back a language given by `register_language`."""
    if code not in EU_LANGUAGES:
        with _registry_lock:
            _registry.pop(code, None)


def available_languages() -> list[str]:
    """Codes people can choose: the EU languages in protocol order, then any registered."""
    return list(EU_LANGUAGES) + [c for c in list(_registry) if c not in EU_LANGUAGES]


def is_available(code: str | None) -> bool:
    """Whether `code` is a language people can choose."""
    return bool(code) and (code in EU_LANGUAGES or code in _registry)


def language_choices() -> list[Language]:
    """Every language for a menu, each named in itself."""
    return [get_language(code) for code in available_languages()]


_ACCEPT_ITEM = re.compile(
    r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*"
)


def parse_accept_language(header: str | None) -> list[str]:
    """The tags of an `Accept-Language` header, most wanted first (q=0 left out)."""
    weighted: list[tuple[float, int, str]] = []
    for index, item in enumerate((header or "").split(",")[:32]):
        match = _ACCEPT_ITEM.fullmatch(item)
        if not match:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        if quality > 0:
            weighted.append((-quality, index, match.group(1).lower()))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(header: str | None) -> str | None:
    """The available language that best matches an `Accept-Language` header (Babel's
    negotiation: `de-AT` → `de`), or None when none does."""
    preferred = [tag for tag in parse_accept_language(header) if tag != "*"]
    if not preferred:
        return None
    return negotiate_locale(preferred, available_languages(), sep="-")


def current_language() -> str:
    """The language of the request, stream or export being answered."""
    return _language.get()


def current_locale() -> Locale:
    """The Babel locale numbers and dates are formatted with now."""
    return get_language(current_language()).locale


@contextmanager
def use_language(language: str, translations: NullTranslations | None = None) -> Iterator[None]:
    """Answer in `language` within this block (an unknown code means the default)."""
    if translations is None:
        found = get_language(language)
        language, translations = found.code, found.translations
    lang_token = _language.set(language)
    trans_token = _translations.set(translations)
    try:
        yield
    finally:
        _translations.reset(trans_token)
        _language.reset(lang_token)


def translations_of(message: str) -> set[str]:
    """`message` in every EU language (itself included): to recognise a stored default,
    e.g. a default category saved in the language its session was created in."""
    return {get_language(code).translations.gettext(message) for code in EU_LANGUAGES}


# --- plural forms for the browser ---------------------------------------------------------------

# Numbers that meet every CLDR plural category of the EU languages (one, two, few, many, other).
_PLURAL_SAMPLES = (1, 0, 2, 3, 4, 5, 6, 7, 11, 12, 19, 20, 21, 22, 25, 100, 101, 102, 111, 1000000)


def plural_forms(text_for: Callable[[int], str]) -> dict[str, str]:
    """A message with a count in each plural form of the current language, keyed by CLDR
    category (“one”, “few”, “other”…): the browser picks one with `Intl.PluralRules` for
    `plural_locale()`. `text_for(n)` is the message for n (an `ngettext` call)."""
    locale = current_locale()
    forms: dict[str, str] = {}
    for n in _PLURAL_SAMPLES:
        forms.setdefault(locale.plural_form(n), text_for(n))
    # Some languages keep “other” for fractions (Polish, Czech…): never met by a count, but
    # the browser's fallback when Intl.PluralRules is missing.
    forms.setdefault("other", text_for(_PLURAL_SAMPLES[-1]))
    return forms


def plural_locale() -> str:
    """The BCP 47 tag whose plural rules `plural_forms` follows (pt-PT, not Brazil's pt)."""
    return str(current_locale()).replace("_", "-")


# --- formatting ----------------------------------------------------------------------------------

NO_VALUE = "—"


def format_number(value: float | None, digits: int = 1) -> str:
    """A score with `digits` decimals in the current language (4.5, 4,5); a dash for none."""
    if value is None:
        return NO_VALUE
    pattern = "0." + "0" * digits if digits > 0 else "0"
    return format_decimal(value, format=pattern, locale=current_locale())


def format_integer(value: int) -> str:
    """A count with the language's grouping (1,234 · 1.234 · 1 234)."""
    return format_decimal(value, locale=current_locale())


def format_pct(value: float | None) -> str:
    """A share (0–1) as a whole percentage in the current language (76%, 76 %); a dash."""
    if value is None:
        return NO_VALUE
    return format_percent(value, locale=current_locale())


def format_date(value: date | datetime, format: str = "long") -> str:
    """A date in the current language (“25 November 2026”, “25. November 2026”)."""
    return _babel_format_date(value, format=format, locale=current_locale())


def format_time(value: datetime, format: str = "short") -> str:
    """A time of day in the current language."""
    return _babel_format_time(value, format=format, locale=current_locale())


def format_datetime(value: datetime, format: str = "medium") -> str:
    """A date and time in the current language."""
    return _babel_format_datetime(value, format=format, locale=current_locale())


# --- sorting names -------------------------------------------------------------------------------

T = TypeVar("T")


def sort_key(text: str) -> tuple[str, str, str]:
    """A key that orders names as people expect rather than by code point: letters with
    accents next to their base letter (É with E, not after Z), case ignored first, then
    accents, then case. The same in every language: Babel has no collator, and language
    rules (Swedish å after z, Czech ch after h) would need ICU, whose Python bindings are
    not a light, well-kept dependency (pyuca, pure Python, is unmaintained since 2017)."""
    folded = text.casefold()
    decomposed = unicodedata.normalize("NFKD", folded)
    base = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return (base, folded, text)


def sorted_by_name(items: Iterable[T], key: Callable[[T], str] = str) -> list[T]:  # type: ignore[assignment]
    """`items` ordered by `key(item)` with `sort_key`."""
    return sorted(items, key=lambda item: sort_key(key(item)))


# --- templates -----------------------------------------------------------------------------------


def install_in_jinja(env: Any) -> None:
    """Give templates `_`, `gettext`, `ngettext` and `pgettext` in the current language
    (Jinja's new style: it fills the placeholders and escapes the values itself), and the
    current language (`current_language()`, for `<html lang>`)."""
    env.add_extension("jinja2.ext.i18n")
    # `{% trans %}` blocks are extracted and looked up with their whitespace collapsed.
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_callables(
        lambda message: _current().gettext(message),
        lambda singular, plural, n: _current().ngettext(singular, plural, n),
        newstyle=True,
        pgettext=lambda context, message: _current().pgettext(context, message),
    )
    env.globals["current_language"] = current_language
    env.globals["language_choices"] = language_choices
