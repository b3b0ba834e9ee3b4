"""Start-up cost of the catalogues: compiling every language's .po in memory (app.i18n).

    uv run python bench/i18n.py

Prints the median of 5 runs for the committed catalogues (the baseline) and for synthetic
ones of 1,000 translated messages per language (about what a fully marked app will have),
with their ratio. Paid once per process (the registry is module-level: every `create_app` in
the same process, e.g. in the test suite, reuses it).
"""

import statistics
import tempfile
import time
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from app import i18n


def timed(load: object, runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        i18n._registry.clear()
        start = time.perf_counter()
        load()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def synthetic(folder: Path, messages: int) -> None:
    for code in i18n.EU_LANGUAGES:
        catalog = Catalog(locale=i18n.FORMAT_LOCALES.get(code, code))
        for n in range(messages):
            catalog.add(
                f"Message number {n}: a sentence of ordinary length for the interface.",
                f"Traduction numéro {n} : une phrase de longueur ordinaire pour l’interface.",
                locations=[("app/x.py", n)],
            )
        path = folder / code / "LC_MESSAGES" / "messages.po"
        path.parent.mkdir(parents=True)
        with path.open("wb") as out:
            write_po(out, catalog)


def main() -> None:
    committed = timed(i18n.load_all)
    with tempfile.TemporaryDirectory() as tmp:
        synthetic(Path(tmp), 1000)
        real_dir = i18n.LOCALE_DIR
        i18n.LOCALE_DIR = Path(tmp)
        try:
            full = timed(i18n.load_all)
        finally:
            i18n.LOCALE_DIR = real_dir
            i18n._registry.clear()
    print(f"committed catalogues, 23 languages (baseline): {committed * 1000:7.1f} ms")
    print(f"1,000 messages × 23 languages:                 {full * 1000:7.1f} ms")
    print(f"ratio:                                          {full / committed:7.1f}×")
    print(f"per language at 1,000 messages:                {full / 23 * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
