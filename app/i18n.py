"""Translations: every user-facing string goes through gettext.

Code marks strings with `_("…")` (translated now, in the language of the request being
answered) or, for module-level constants, `N_("…")` (only marked; translate where shown with
`_(constant)`). Templates use `{{ _("…") }}`, `{% trans %}…{% endtrans %}` and `ngettext`
(the Jinja2 i18n extension, new style: `_("Hello %(name)s", name=…)`, autoescaped).

The language of the moment lives in a context variable, so each request, live stream and
export is answered in its own language (`use_language`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from gettext import NullTranslations
from typing import Any

DEFAULT_LANGUAGE = "en"

# The source language (English) needs no catalogue: its translations are the messages.
_SOURCE = NullTranslations()
_translations: ContextVar[NullTranslations | None] = ContextVar("translations", default=None)
_language: ContextVar[str] = ContextVar("language", default=DEFAULT_LANGUAGE)


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


def current_language() -> str:
    """The language of the request, stream or export being answered."""
    return _language.get()


@contextmanager
def use_language(language: str, translations: NullTranslations) -> Iterator[None]:
    """Answer in `language` within this block."""
    lang_token = _language.set(language)
    trans_token = _translations.set(translations)
    try:
        yield
    finally:
        _translations.reset(trans_token)
        _language.reset(lang_token)


def install_in_jinja(env: Any) -> None:
    """Give templates `_`, `gettext`, `ngettext` and `pgettext` in the current language
    (Jinja's new style: it fills the placeholders and escapes the values itself)."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(
        lambda message: _current().gettext(message),
        lambda singular, plural, n: _current().ngettext(singular, plural, n),
        newstyle=True,
        pgettext=lambda context, message: _current().pgettext(context, message),
    )
