"""Validation of free text against the configured limits, shared by every entry point.

Which characters text may hold, decided once here for names, titles, descriptions, guiding
questions, categories, title-page details, contributions and imports:

- line breaks of every kind (``\\r\\n``, ``\\r``, ``\\x0b`` — Word's Shift+Enter —, ``\\x0c``,
  ``\\x85``, U+2028, U+2029) become ``\\n``: they mean a new line, and every export can hold
  ``\\n``;
- other control characters (C0 except tab and newline, DEL, C1) and Unicode noncharacters
  (U+FFFE, U+FFFF, U+FDD0–U+FDEF and their counterparts in every plane) are removed: nobody
  types them on purpose, they are invisible, and XML-based exports (DOCX, XLSX) cannot hold
  most of them;
- NUL and lone surrogates (``"\\ud800"``) are refused with a readable 422: they are never
  text, PostgreSQL cannot store them, and silently dropping them could hide a client bug.

Exports apply `xml_safe` to whatever is already stored, so data written before these rules
(or by hand) cannot break a Word or Excel file.
"""

import re
from dataclasses import dataclass

from app.config import get_settings
from app.errors import InvalidInput
from app.i18n import N_, gettext, ngettext


@dataclass(frozen=True)
class FieldLabel:
    """How the messages name a field, both marked with `N_`: `name` as a label before a colon
    (“Title: too long …”) and `empty` as the whole sentence refusing it empty (one sentence
    per field: languages inflect the noun)."""

    name: str
    empty: str


TITLE = FieldLabel(N_("Title"), N_("The title cannot be empty."))
DESCRIPTION = FieldLabel(N_("Description"), N_("The description cannot be empty."))

_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_NONCHARACTERS = "\ufdd0-\ufdef\ufffe\uffff" + "".join(
    f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(1, 17)
)
_STRIPPED = re.compile(f"[\x01-\x08\x0e-\x1f\x7f-\x84\x86-\x9f{_NONCHARACTERS}]")
_REFUSED = re.compile("[\x00\ud800-\udfff]")
# What XML 1.0 cannot hold at all (its `Char` production), plus the noncharacters.
_XML_ILLEGAL = re.compile(
    f"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[{_NONCHARACTERS}]"
)


def _name(label: FieldLabel | str) -> str:
    """The field's name in the current language (a plain string is taken as it is: already
    translated, or a name such as “Contribution 12”)."""
    return gettext(label.name) if isinstance(label, FieldLabel) else label


def normalise_characters(value: str, *, field: str, label: FieldLabel | str) -> str:
    """`value` under the character rules above; 422 naming the field for NUL or a lone
    surrogate."""
    found = _REFUSED.search(value)
    if found is not None:
        message = (
            # Translators: %(field)s is the name of a form field (“Title”, “Your contribution”).
            N_("%(field)s: contains a NUL character, which text cannot hold. Please retype it.")
            if found.group() == "\x00"
            # Translators: %(field)s is the name of a form field (“Title”, “Your contribution”).
            else N_(
                "%(field)s: contains a broken character, which text cannot hold. Please retype it."
            )
        )
        raise InvalidInput(gettext(message, field=_name(label)), field=field)
    return _STRIPPED.sub("", _LINE_BREAKS.sub("\n", value))


def _too_long(label: FieldLabel | str, length: int, max_chars: int) -> str:
    return ngettext(
        # Translators: %(field)s is the name of a form field; %(num)s the length typed.
        "%(field)s: too long, %(num)s character; at most %(max)s are allowed.",
        "%(field)s: too long, %(num)s characters; at most %(max)s are allowed.",
        length,
        field=_name(label),
        max=max_chars,
    )


def _empty(label: FieldLabel | str) -> str:
    if isinstance(label, FieldLabel):
        return gettext(label.empty)
    # Translators: %(field)s is the name of a field (“Contribution 12”).
    return gettext("%(field)s: cannot be empty.", field=label)


def xml_safe(value: str) -> str:
    """`value` without the characters an XML document (DOCX, XLSX) cannot hold; line breaks
    of other kinds become ``\\n``. For writing text that is already stored."""
    return _XML_ILLEGAL.sub("", _LINE_BREAKS.sub("\n", value))


def clean_text(
    value: str | None,
    *,
    field: str,
    label: FieldLabel | str,
    max_chars: int,
    required: bool = True,
) -> str:
    """Apply the character rules, trim and check the length; the message names the field and
    the limit."""
    raw = value or ""
    if len(raw) > 4 * max_chars + 1000:
        # Far beyond the limit whatever is trimmed or removed: refuse before any work.
        raise InvalidInput(_too_long(label, len(raw), max_chars), field=field)
    text = normalise_characters(raw, field=field, label=label).strip()
    if required and not text:
        raise InvalidInput(_empty(label), field=field)
    if len(text) > max_chars:
        raise InvalidInput(_too_long(label, len(text), max_chars), field=field)
    return text


def clean_title(value: str | None, *, field: str = "title", label: FieldLabel | str = TITLE) -> str:
    """A title: 1 to `title_max_chars` characters after trimming."""
    return clean_text(value, field=field, label=label, max_chars=get_settings().title_max_chars)


def clean_description(value: str | None, *, field: str = "description") -> str:
    """An optional description of at most 2,000 characters."""
    return clean_text(value, field=field, label=DESCRIPTION, max_chars=2000, required=False)
