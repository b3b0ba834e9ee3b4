"""Benchmark of the clustering engine on workshop-sized draws of BANKING77.

Run with `uv run python bench/clustering.py` (a few minutes on 2 cores). Each draw picks
some intents and some messages per intent, shuffles them, and compares the engine's
suggestions with the intents by adjusted Rand index (ARI) and normalised mutual information
(NMI): once with the number of clusters chosen automatically (what the facilitator gets by
default) and once with the true number given. A baseline from the same draws is printed
beside it: TF-IDF word 1–2-grams + average-linkage agglomerative with the true count.

Draw shapes: "workshop" is what one challenge of a real lab looks like (3–10 intents, each
with its own 2–6 messages, so 6–60 notes), "workshop-s" a tighter one (4–8 intents × 2–5);
then fixed shapes (10 × 20, 20 × 25, …). Every engine named with --engines is scored on the
same draws (default: the default engine; `previous`, the default engine with the way small
sets were clustered before — Ward on uncentred rows, see engine.PREVIOUS_SMALL_SET_METHOD;
and `tfidf`, the character n-gram engine). ARI and NMI are printed as median, then
mean ± standard deviation over the draws.

The engine's constants were tuned on draws from one half of the intents (`--labels tune`);
the default reports on the other half (`--labels eval`), which tuning never saw.

Also printed: speed for 200 and 1,000 notes, cold (every note embedded in the call) and
warm (embeddings stored, as after the background worker ran), and the accuracy of the
category suggestions on bench/data/categories.csv (policy-lab notes written for this
benchmark, labelled with the method's three default categories).
"""

import argparse
import csv
import functools
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.clustering.categories import (  # noqa: E402
    DEFAULT_CATEGORIES,
    certainty,
    rate_categories,
)
from app.clustering.embedders import engine_name, semantic_vectors  # noqa: E402
from app.clustering.engine import (  # noqa: E402
    PREVIOUS_SMALL_SET_METHOD,
    SMALL_SET_METHOD,
    SmallSetMethod,
    suggest_clusters,
)

# ../shared/data beside the checkout (or beside the folder of worktrees).
DEFAULT_DATA = next(
    (
        folder / "shared/data/banking77_test.csv"
        for folder in Path(__file__).resolve().parents[2:4]
        if (folder / "shared/data/banking77_test.csv").exists()
    ),
    Path(__file__).resolve().parents[2] / "shared/data/banking77_test.csv",
)
CATEGORY_DATA = Path(__file__).resolve().parent / "data/categories.csv"
# Which intents were used for tuning: a fixed shuffle, first half tune, second half eval.
SPLIT_SEED = 12345
SETS = ((10, 20), (20, 25), (6, 8), (5, 40))  # (intents, messages per intent)
WORKSHOP_INTENTS = (3, 10)  # a challenge of a real lab: 3–10 groups …
WORKSHOP_MESSAGES = (2, 6)  # … of 2–6 notes each
# The tighter workshop shape: 4–8 groups of 2–5 notes.
WORKSHOP_S_INTENTS = (4, 8)
WORKSHOP_S_MESSAGES = (2, 5)
# What --engines names: an engine, or `previous` (the default engine, small sets clustered
# the way they were before).
PREVIOUS = "previous"

Draw = tuple[list[str], list[int], int]


@dataclass
class Scores:
    """Per-draw figures for one set of draws."""

    auto_ari: list[float] = field(default_factory=list)
    auto_nmi: list[float] = field(default_factory=list)
    chosen_k: list[int] = field(default_factory=list)
    given_ari: list[float] = field(default_factory=list)
    given_nmi: list[float] = field(default_factory=list)
    base_ari: list[float] = field(default_factory=list)
    base_nmi: list[float] = field(default_factory=list)


def load(path: Path) -> dict[str, list[str]]:
    """Messages by intent."""
    by_label: dict[str, list[str]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_label[row["category"]].append(row["text"])
    return dict(by_label)


def split_labels(labels: Sequence[str], which: str) -> list[str]:
    """The tuning half, the evaluation half, or all intents."""
    shuffled = sorted(labels)
    random.Random(SPLIT_SEED).shuffle(shuffled)
    half = len(shuffled) // 2
    chosen = {"tune": shuffled[:half], "eval": shuffled[half:], "all": shuffled}[which]
    return sorted(chosen)


def make_draws(
    by_label: dict[str, list[str]],
    labels: Sequence[str],
    n_labels: int,
    per_label: int,
    n_draws: int,
    seed: int,
) -> list[Draw]:
    """Random workshop-sized samples: texts, their true labels, the true count."""
    rng = random.Random(seed)
    draws = []
    for _ in range(n_draws):
        texts, truth = [], []
        for label_number, label in enumerate(rng.sample(list(labels), n_labels)):
            for text in rng.sample(by_label[label], per_label):
                texts.append(text)
                truth.append(label_number)
        order = list(range(len(texts)))
        rng.shuffle(order)
        draws.append(([texts[i] for i in order], [truth[i] for i in order], n_labels))
    return draws


def make_workshop_draws(
    by_label: dict[str, list[str]],
    labels: Sequence[str],
    n_draws: int,
    seed: int,
    intents: tuple[int, int] = WORKSHOP_INTENTS,
    messages: tuple[int, int] = WORKSHOP_MESSAGES,
) -> list[Draw]:
    """Draws shaped like one challenge of a real lab: 3–10 intents, 2–6 messages each."""
    rng = random.Random(seed)
    draws = []
    for _ in range(n_draws):
        texts, truth = [], []
        n_labels = rng.randint(*intents)
        for label_number, label in enumerate(rng.sample(list(labels), n_labels)):
            for text in rng.sample(by_label[label], rng.randint(*messages)):
                texts.append(text)
                truth.append(label_number)
        order = list(range(len(texts)))
        rng.shuffle(order)
        draws.append(([texts[i] for i in order], [truth[i] for i in order], n_labels))
    return draws


KNOWN: dict[str, np.ndarray] = {}


def engine_and_method(name: str) -> tuple[str, SmallSetMethod]:
    """The engine and small-set method an --engines name stands for."""
    if name == PREVIOUS:
        return "default", PREVIOUS_SMALL_SET_METHOD
    return name, SMALL_SET_METHOD


def label_of(name: str) -> str:
    """How an --engines name is shown in the tables."""
    if name == PREVIOUS:
        return f"{engine_name('default')} (previous)"
    return engine_name(name) + (" (default)" if engine_name(name) == engine_name() else "")


def labels_of(texts: Sequence[str], n_clusters: int | None, name: str) -> list[int]:
    """The engine's clustering as one label per text (stored embeddings, as in the app)."""
    labels = [0] * len(texts)
    engine, method = engine_and_method(name)
    suggestions = suggest_clusters(
        texts, n_clusters=n_clusters, engine=engine, known_vectors=KNOWN, method=method
    )
    for number, suggestion in enumerate(suggestions):
        for i in suggestion.member_indices:
            labels[i] = number
    return labels


def baseline(texts: Sequence[str], n_clusters: int) -> list[int]:
    """TF-IDF word 1–2-grams + average-linkage (cosine) agglomerative, true count given."""
    vectors = TfidfVectorizer(ngram_range=(1, 2)).fit_transform(texts).toarray()
    model = AgglomerativeClustering(n_clusters=n_clusters, metric="cosine", linkage="average")
    return [int(x) for x in model.fit_predict(vectors)]


def score(draws: Sequence[Draw], engine: str) -> Scores:
    """Run the engine (automatic and given count) and the baseline on every draw."""
    result = Scores()
    for texts, truth, true_k in draws:
        auto = labels_of(texts, None, engine)
        result.auto_ari.append(adjusted_rand_score(truth, auto))
        result.auto_nmi.append(normalized_mutual_info_score(truth, auto))
        result.chosen_k.append(len(set(auto)))
        given = labels_of(texts, true_k, engine)
        result.given_ari.append(adjusted_rand_score(truth, given))
        result.given_nmi.append(normalized_mutual_info_score(truth, given))
        base = baseline(texts, true_k)
        result.base_ari.append(adjusted_rand_score(truth, base))
        result.base_nmi.append(normalized_mutual_info_score(truth, base))
    return result


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall-clock time of several runs, after one warm-up run."""
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fmt(values: Sequence[float]) -> str:
    """Median, then mean ± standard deviation."""
    return f"{np.median(values):.3f} ({np.mean(values):.3f} ± {np.std(values):.3f})"


def category_accuracy(path: Path) -> None:
    """Print how often the suggested category is the labelled one, per note and per group."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [r["text"] for r in rows]
    vectors = semantic_vectors(texts).astype(np.float64)

    def rate(indices: Sequence[int], with_model: bool) -> tuple[str | None, float | None]:
        return rate_categories(
            [texts[i] for i in indices],
            DEFAULT_CATEGORIES,
            vectors=vectors[list(indices)] if with_model else None,
        )

    by_category: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by_category[r["category"]].append(i)
    # Groups of three notes of one category, as a cluster would hold them.
    groups = [
        members[start : start + 3]
        for members in by_category.values()
        for start in range(0, len(members) - 2, 3)
    ]
    print(
        f"\ncategories: {len(rows)} labelled notes ({path.name}), 3 default categories "
        "(chance ≈ 0.33)"
    )
    print(
        f"{'method':<30} {'unit':<14} {'answered':>9} {'right of all':>13} {'right of answered':>18}"
    )
    for label, with_model in (("lexicons + meaning (default)", True), ("lexicons only", False)):
        for unit, items in (("note", [[i] for i in range(len(rows))]), ("group of 3", groups)):
            answers = [rate(item, with_model)[0] for item in items]
            truth = [rows[item[0]]["category"] for item in items]
            answered = [a is not None for a in answers]
            right = [a == t for a, t in zip(answers, truth, strict=True)]
            share_right = sum(right) / max(1, sum(answered))
            print(
                f"{label:<30} {unit:<14} {np.mean(answered):>9.0%} {np.mean(right):>13.0%} "
                f"{share_right:>18.0%}"
            )
    # How the preview words the confidence, and how often each wording was right (notes).
    answers = [rate([i], True) for i in range(len(rows))]
    bands: dict[str, list[bool]] = defaultdict(list)
    for (answer, confidence), row in zip(answers, rows, strict=True):
        bands[certainty(answer, confidence) or "none"].append(answer == row["category"])
    print(
        "by certainty shown (note, default): "
        + ", ".join(
            f"{band} {sum(right)}/{len(right)} right"
            for band, right in sorted(bands.items())
            if band != "unsure"
        )
        + f", unsure {len(bands.get('unsure', []))} (left empty)"
    )
    languages = sorted({r["language"] for r in rows})
    per_language = []
    for language in languages:
        items = [i for i, r in enumerate(rows) if r["language"] == language]
        right = [rate([i], True)[0] == rows[i]["category"] for i in items]
        per_language.append(f"{language} {sum(right)}/{len(items)}")
    print("right per language (note, default): " + ", ".join(per_language))


def main(argv: Sequence[str] | None = None) -> int:
    """Print the quality table, the timings and the category accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="BANKING77 test CSV")
    parser.add_argument("--draws", type=int, default=20, help="random draws per set (≥ 20)")
    parser.add_argument(
        "--workshop-draws", type=int, default=40, help="workshop-shaped draws (≥ 30)"
    )
    parser.add_argument("--seed", type=int, default=2024, help="seed of the draws")
    parser.add_argument(
        "--labels",
        choices=("eval", "tune", "all"),
        default="eval",
        help="which intents to draw from: the half never used for tuning (default), "
        "the tuning half, or all",
    )
    parser.add_argument(
        "--engines",
        default=f"default,{PREVIOUS},tfidf",
        help=f"comma-separated engines to score ({PREVIOUS}: the default engine, small sets "
        "clustered as before)",
    )
    parser.add_argument(
        "--sets",
        default="workshop,workshop-s,10x20,20x25,5x40",
        help="comma-separated draw shapes",
    )
    parser.add_argument("--timing-runs", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--no-timing", action="store_true", help="skip the speed measurement")
    parser.add_argument("--no-categories", action="store_true", help="skip category accuracy")
    args = parser.parse_args(argv)

    by_label = load(args.data)
    labels = split_labels(list(by_label), args.labels)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    wanted_sets = [x.strip() for x in args.sets.split(",") if x.strip()]
    print(
        f"BANKING77 ({args.data.name}): {len(labels)} of {len(by_label)} intents "
        f"({args.labels} half), {args.workshop_draws} workshop draws, {args.draws} draws per "
        f"fixed set, seed {args.seed}; default engine: {engine_name('default')}"
    )
    all_texts = sorted({t for texts in by_label.values() for t in texts})
    start = time.perf_counter()
    KNOWN.update(zip(all_texts, semantic_vectors(all_texts), strict=True))
    print(
        f"embedded {len(all_texts)} messages once in {time.perf_counter() - start:.1f} s "
        "(stored embeddings, as in the app)"
    )
    header = (
        f"{'engine':<18} {'set':<10} {'texts':>5} {'true k':>6} | {'auto ARI':>24} "
        f"{'auto NMI':>8} {'chosen k':>8} {'k exact/±1':>10} | {'given-k ARI':>24} | "
        f"{'baseline ARI':>12}"
    )
    print(header)
    print("-" * len(header))
    shapes: list[tuple[str, list[Draw]]] = []
    if "workshop" in wanted_sets:
        shapes.append(
            ("workshop", make_workshop_draws(by_label, labels, args.workshop_draws, args.seed + 7))
        )
    if "workshop-s" in wanted_sets:
        draws = make_workshop_draws(
            by_label,
            labels,
            args.workshop_draws,
            args.seed + 11,
            WORKSHOP_S_INTENTS,
            WORKSHOP_S_MESSAGES,
        )
        shapes.append(("workshop-s", draws))
    for set_number, (n_labels, per_label) in enumerate(SETS):
        if f"{n_labels}x{per_label}" not in wanted_sets or n_labels > len(labels):
            continue
        draws = make_draws(
            by_label, labels, n_labels, per_label, args.draws, args.seed + 1000 * set_number
        )
        shapes.append((f"{n_labels} x {per_label}", draws))
    for name, draws in shapes:
        n_texts = np.mean([len(d[0]) for d in draws])
        true_k = np.mean([d[2] for d in draws])
        for engine in engines:
            s = score(draws, engine)
            off = [abs(k - d[2]) for k, d in zip(s.chosen_k, draws, strict=True)]
            exact = f"{np.mean([o == 0 for o in off]):.0%}/{np.mean([o <= 1 for o in off]):.0%}"
            print(
                f"{label_of(engine):<18} {name:<10} {n_texts:>5.0f} {true_k:>6.1f} | "
                f"{fmt(s.auto_ari):>24} {np.median(s.auto_nmi):>8.3f} "
                f"{np.mean(s.chosen_k):>8.1f} {exact:>10} | {fmt(s.given_ari):>24} | "
                f"{np.median(s.base_ari):>12.3f}",
                flush=True,
            )
    print(
        "ARI: median (mean ± sd) over the draws; NMI and baseline: median; auto = number of "
        "clusters chosen by the engine (chosen k: mean; k exact/±1: share of draws where it is "
        "the true count, or within one of it); baseline = word TF-IDF + average linkage, true "
        "count given; workshop texts and true k are means over the draws"
    )
    if args.labels == "eval":
        print(
            "The engine was tuned on draws from the other half of the intents (--labels tune); "
            "none of these intents was seen while tuning."
        )

    if not args.no_timing:
        rng = random.Random(args.seed)
        pool = [t for label in sorted(by_label) for t in by_label[label]]
        print(
            f"\nspeed: suggest_clusters with default categories, median of {args.timing_runs} "
            "(after one warm-up run; the model is loaded once per process, at start-up)"
        )
        for size in (40, 200, 1000):
            texts = rng.sample(pool, size)
            known = {t: KNOWN[t] for t in texts}
            figures = []
            for label, engine, vectors in (
                ("tfidf (baseline)", "tfidf", None),
                ("default, cold (embeds all)", "default", {}),
                ("default, warm (stored)", "default", known),
            ):
                run = functools.partial(
                    suggest_clusters,
                    texts,
                    categories=DEFAULT_CATEGORIES,
                    engine=engine,
                    known_vectors=vectors,
                )
                figures.append(f"{label} {median_seconds(run, args.timing_runs):.3f} s")
            print(f"{size:>5} texts: " + "; ".join(figures), flush=True)
    if not args.no_categories:
        category_accuracy(CATEGORY_DATA)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
