"""Benchmark of the clustering engine on workshop-sized draws of BANKING77.

Run with `uv run python bench/clustering.py` (about a minute on 2 cores). Each draw picks
some intents and some messages per intent, shuffles them, and compares the engine's
suggestions with the intents by adjusted Rand index (ARI) and normalised mutual information
(NMI): once with the number of clusters chosen automatically (what the facilitator gets by
default) and once with the true number given. A baseline from the same draws is printed
beside it: TF-IDF word 1–2-grams + average-linkage agglomerative with the true count.

The engine's constants were tuned on draws from one half of the intents (`--labels tune`);
the default reports on the other half (`--labels eval`), which tuning never saw.
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

from app.clustering.categories import DEFAULT_CATEGORIES  # noqa: E402
from app.clustering.engine import suggest_clusters  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared/data/banking77_test.csv"
# Which intents were used for tuning: a fixed shuffle, first half tune, second half eval.
SPLIT_SEED = 12345
SETS = ((10, 20), (20, 25), (6, 8), (5, 40))  # (intents, messages per intent)

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


def labels_of(texts: Sequence[str], n_clusters: int | None) -> list[int]:
    """The engine's clustering as one label per text."""
    labels = [0] * len(texts)
    for number, suggestion in enumerate(suggest_clusters(texts, n_clusters=n_clusters)):
        for i in suggestion.member_indices:
            labels[i] = number
    return labels


def baseline(texts: Sequence[str], n_clusters: int) -> list[int]:
    """TF-IDF word 1–2-grams + average-linkage (cosine) agglomerative, true count given."""
    vectors = TfidfVectorizer(ngram_range=(1, 2)).fit_transform(texts).toarray()
    model = AgglomerativeClustering(n_clusters=n_clusters, metric="cosine", linkage="average")
    return [int(x) for x in model.fit_predict(vectors)]


def score(draws: Sequence[Draw]) -> Scores:
    """Run the engine (automatic and given count) and the baseline on every draw."""
    result = Scores()
    for texts, truth, true_k in draws:
        auto = labels_of(texts, None)
        result.auto_ari.append(adjusted_rand_score(truth, auto))
        result.auto_nmi.append(normalized_mutual_info_score(truth, auto))
        result.chosen_k.append(len(set(auto)))
        given = labels_of(texts, true_k)
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
    """Mean ± standard deviation."""
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the quality table and the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="BANKING77 test CSV")
    parser.add_argument("--draws", type=int, default=20, help="random draws per set (≥ 20)")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the draws")
    parser.add_argument(
        "--labels",
        choices=("eval", "tune", "all"),
        default="eval",
        help="which intents to draw from: the half never used for tuning (default), "
        "the tuning half, or all",
    )
    parser.add_argument("--timing-runs", type=int, default=5, help="runs per timing (median)")
    parser.add_argument("--no-timing", action="store_true", help="skip the speed measurement")
    args = parser.parse_args(argv)

    by_label = load(args.data)
    labels = split_labels(list(by_label), args.labels)
    print(
        f"BANKING77 ({args.data.name}): {len(labels)} of {len(by_label)} intents "
        f"({args.labels} half), {args.draws} draws per set, seed {args.seed}"
    )
    header = (
        f"{'set':<8} {'texts':>5} {'true k':>6} | {'auto ARI':>13} {'auto NMI':>13} "
        f"{'chosen k':>11} | {'given-k ARI':>13} {'given-k NMI':>13} | "
        f"{'baseline ARI':>13} {'baseline NMI':>13}"
    )
    print(header)
    print("-" * len(header))
    for set_number, (n_labels, per_label) in enumerate(SETS):
        if n_labels > len(labels):
            continue
        draws = make_draws(
            by_label, labels, n_labels, per_label, args.draws, args.seed + 1000 * set_number
        )
        s = score(draws)
        ratio = np.mean(s.chosen_k) / n_labels
        print(
            f"{f'{n_labels} x {per_label}':<8} {n_labels * per_label:>5} {n_labels:>6} | "
            f"{fmt(s.auto_ari):>13} {fmt(s.auto_nmi):>13} {np.mean(s.chosen_k):>5.1f} "
            f"({ratio:>3.0%}) | {fmt(s.given_ari):>13} {fmt(s.given_nmi):>13} | "
            f"{fmt(s.base_ari):>13} {fmt(s.base_nmi):>13}",
            flush=True,
        )
    print(
        "auto = number of clusters chosen by the engine; chosen k in % of the true count; "
        "baseline = word TF-IDF + average linkage, true count given"
    )
    if args.labels == "eval":
        print(
            "The engine was tuned on draws from the other half of the intents (--labels tune); "
            "none of these intents was seen while tuning."
        )

    if not args.no_timing:
        rng = random.Random(args.seed)
        pool = [t for label in sorted(by_label) for t in by_label[label]]
        print(f"\nspeed: suggest_clusters with default categories, median of {args.timing_runs}")
        for size in (200, 1000):
            texts = rng.sample(pool, size)
            seconds = median_seconds(
                functools.partial(suggest_clusters, texts, categories=DEFAULT_CATEGORIES),
                args.timing_runs,
            )
            print(f"{size:>5} texts: {seconds:.3f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
