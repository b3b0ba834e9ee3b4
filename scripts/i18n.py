#!/usr/bin/env python3
"""The catalogues: extract → update → compile, then the coverage of every language.

    uv run python scripts/i18n.py            # extract, update, compile, coverage
    uv run python scripts/i18n.py extract    # app/locale/messages.pot from code and templates
    uv run python scripts/i18n.py update     # each language's messages.po follows the template
    uv run python scripts/i18n.py compile    # every catalogue compiles and its placeholders match
    uv run python scripts/i18n.py coverage   # translated / total and fuzzy, per language

Each step is `pybabel` (run through Babel's own command-line interface, with the options
below), so the same commands work by hand; see docs/TRANSLATING.md. English is the source
language: it has no catalogue. The app compiles the `.po` files in memory when it starts, so
`compile` writes its `.mo` files to a temporary folder only to check them.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.i18n import (  # noqa: E402
    DEFAULT_LANGUAGE,
    DOMAIN,
    EU_LANGUAGES,
    FORMAT_LOCALES,
    LOCALE_DIR,
    own_name,
)

POT = LOCALE_DIR / f"{DOMAIN}.pot"
KEYWORDS = ["_", "gettext", "N_", "ngettext:1,2", "pgettext:1c,2"]
TRANSLATED_LANGUAGES = [code for code in EU_LANGUAGES if code != DEFAULT_LANGUAGE]


def pybabel(*args: str, quiet: bool = True) -> None:
    """Run one pybabel command in the repository's folder (its chatter hidden unless it
    fails)."""
    out = io.StringIO()
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)
        with redirect_stdout(out), redirect_stderr(out):
            CommandLineInterface().run(["pybabel", *args])
    except SystemExit as exc:
        if exc.code:
            sys.stderr.write(out.getvalue())
            raise
    finally:
        os.chdir(cwd)
    if not quiet:
        sys.stdout.write(out.getvalue())


def extract_to(output: Path) -> None:
    """`pybabel extract` of every marked string into `output`."""
    keywords = [arg for k in KEYWORDS for arg in ("-k", k)]
    pybabel(
        "extract",
        "-F",
        str(ROOT / "babel.cfg"),
        "--no-default-keywords",
        *keywords,
        "--add-comments=Translators:",
        "--strip-comments",
        "--add-location=file",
        "--sort-by-file",
        "--project=Policy Lab",
        "--copyright-holder=Policy Lab contributors",
        "-o",
        str(output),
        # The mapping's patterns (app/**.py, templates/**.html) are relative to this folder.
        ".",
    )


def _messages(catalog: Catalog) -> list[tuple[object, object, tuple[str, ...]]]:
    return [(m.id, m.context, tuple(m.auto_comments)) for m in catalog if m.id]


def extract() -> bool:
    """Write the template when its messages changed (the creation date alone is no change).
    True when it was written."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "messages.pot"
        extract_to(fresh)
        if POT.exists():
            old = read_po(POT.open("rb"))
            new = read_po(fresh.open("rb"))
            if _messages(old) == _messages(new) and [m.locations for m in old] == [
                m.locations for m in new
            ]:
                return False
        POT.parent.mkdir(parents=True, exist_ok=True)
        POT.write_bytes(fresh.read_bytes())
    return True


def po_path(code: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"


def init(code: str) -> None:
    """A new, empty catalogue for `code`; plural rules of the EU variant (pt: Portugal)."""
    template = read_po(POT.open("rb"))
    catalog = Catalog(
        locale=Locale.parse(FORMAT_LOCALES.get(code, code)),
        domain=DOMAIN,
        project=template.project,
        version=template.version,
        copyright_holder=template.copyright_holder,
        msgid_bugs_address=template.msgid_bugs_address,
        fuzzy=False,
    )
    catalog.update(template)
    catalog.locale = Locale.parse(code) if code not in FORMAT_LOCALES else catalog.locale
    path = po_path(code)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalog, width=100)


def update() -> None:
    """`pybabel update` of every language (a missing catalogue is created first)."""
    for code in TRANSLATED_LANGUAGES:
        if not po_path(code).exists():
            init(code)
        pybabel(
            "update",
            "-i",
            str(POT),
            "-d",
            str(LOCALE_DIR),
            "-D",
            DOMAIN,
            "-l",
            code,
            "--previous",
            "--ignore-obsolete",
            "-w",
            "100",
        )
        _drop_broken_guesses(code)


def _drop_broken_guesses(code: str) -> None:
    """Empty the fuzzy guesses `pybabel update` made from a similar message when their
    placeholders do not fit the new one (they would not compile): the entry is simply
    untranslated again."""
    path = po_path(code)
    catalog = read_po(path.open("rb"), locale=code)
    broken = [message for message, errors in catalog.check() if errors and message.fuzzy]
    if not broken:
        return
    for message in broken:
        message.string = ("",) * len(message.string) if message.pluralizable else ""
        message.flags.discard("fuzzy")
        message.previous_id = []
    with path.open("wb") as out:
        write_po(out, catalog, width=100, include_previous=True)


def compile_check() -> list[str]:
    """`pybabel compile` of every catalogue into a temporary folder; its complaints."""
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for code in TRANSLATED_LANGUAGES:
            target = Path(tmp) / f"{code}.mo"
            try:
                pybabel("compile", "-i", str(po_path(code)), "-o", str(target), "-l", code)
            except SystemExit:
                problems.append(f"{code}: does not compile")
                continue
            catalog = read_po(po_path(code).open("rb"), locale=code)
            for message, errors in catalog.check():
                for error in errors:
                    problems.append(f"{code}: {message.id!r}: {error}")
    return problems


@dataclass
class Coverage:
    code: str
    translated: int
    total: int
    fuzzy: int

    @property
    def percent(self) -> float:
        return 100.0 * self.translated / self.total if self.total else 100.0


def coverage(code: str) -> Coverage:
    """How much of `code`'s catalogue is translated (fuzzy entries do not count)."""
    catalog = read_po(po_path(code).open("rb"), locale=code)
    messages = [m for m in catalog if m.id]

    def done(message: object) -> bool:
        string = message.string  # type: ignore[attr-defined]
        strings = string if isinstance(string, (tuple, list)) else (string,)
        return all(strings) and not message.fuzzy  # type: ignore[attr-defined]

    return Coverage(
        code=code,
        translated=sum(1 for m in messages if done(m)),
        total=len(messages),
        fuzzy=sum(1 for m in messages if m.fuzzy),
    )


def print_coverage() -> None:
    total = len([m for m in read_po(POT.open("rb")) if m.id])
    print(f"{'language':<22}{'translated':>12}{'fuzzy':>8}{'coverage':>10}")
    for code in EU_LANGUAGES:
        name = f"{code}  {own_name(code)}"
        if code == DEFAULT_LANGUAGE:
            print(f"{name:<22}{total:>6} / {total:<4}{0:>7}{'source':>10}")
            continue
        c = coverage(code)
        print(f"{name:<22}{c.translated:>6} / {c.total:<4}{c.fuzzy:>7}{c.percent:>9.0f}%")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "step",
        nargs="?",
        default="all",
        choices=["all", "extract", "update", "compile", "coverage"],
    )
    step = parser.parse_args(argv).step
    if step in ("all", "extract"):
        changed = extract()
        print(f"{POT.relative_to(ROOT)}: {'updated' if changed else 'up to date'}")
    if step in ("all", "update"):
        update()
        print(f"{len(TRANSLATED_LANGUAGES)} catalogues updated in {LOCALE_DIR.relative_to(ROOT)}/")
    if step in ("all", "compile"):
        problems = compile_check()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        print(f"{len(TRANSLATED_LANGUAGES)} catalogues compile")
    if step in ("all", "coverage"):
        print_coverage()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
