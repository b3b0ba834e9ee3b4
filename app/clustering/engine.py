"""Offline clustering engine: proposes affinity clusters for workshop contributions.

A pure library (no database, no web code). The pipeline, chosen by measurement on BANKING77
draws (see bench/clustering.py):

1. texts that say the same thing up to case, accents, punctuation and spacing are merged
   first, so identical contributions always land together;
2. the embedder turns the remaining texts into vectors (default: character + word TF-IDF);
3. a k-nearest-neighbour similarity graph is built and clustered spectrally: the number of
   clusters is the number of eigenvalues of the normalised graph above a threshold (a
   measure of how many well-separated groups the graph holds), then k-means runs on the
   leading eigenvectors;
4. each cluster gets key terms, a title taken from its own wording, and a category.
"""

import functools
import math
import threading
import unicodedata
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import numpy as np
import scipy.linalg
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize
from threadpoolctl import ThreadpoolController

from app.clustering.categories import suggest_category
from app.clustering.embedders import (
    STOP_WORDS,
    WORD_PATTERN,
    Embedder,
    fold,
    get_embedder,
    text_key,
    words,
)

__all__ = [
    "Suggestion",
    "find_near_duplicates",
    "nearest_cluster",
    "suggest_category",
    "suggest_clusters",
]

# Tuned on BANKING77 draws from one half of the intents only (bench/clustering.py reports
# on the other half): eigenvalues above this count as separate groups.
EIGENVALUE_THRESHOLD = 0.5
# Similarities below this are letter pairs any two texts share, not an affinity.
MIN_LINK_SIMILARITY = 0.05
# Character-trigram cosine from which two texts count as the same contribution reworded.
NEAR_DUPLICATE_THRESHOLD = 0.8
# Below this a text shares nothing meaningful with any cluster.
MIN_NEAREST_SIMILARITY = 0.05
# k-means restarts on the spectral embedding: more is steadier, fewer is faster.
KMEANS_RESTARTS = 4
TITLE_MAX_WORDS = 6
TERMS_SHOWN = 5
_CLAUSE_BREAKS = set(',;:.!?()[]{}/|\n–—"“”«»')


_P = ParamSpec("_P")
_R = TypeVar("_R")
_THREADPOOLS = ThreadpoolController()
_THREADPOOLS_LOCK = threading.RLock()


def _single_threaded(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run the function with BLAS and OpenMP limited to one thread.

    These problems are small (n ≤ a few thousand): with several threads, BLAS and OpenMP
    spin-wait for each other and, on a 2-core server also busy with web requests, a
    1,000-text call measured 2–10× slower than single-threaded. The limit is process-wide,
    so calls take turns (clustering is a rare, facilitator-triggered action).
    """

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with _THREADPOOLS_LOCK, _THREADPOOLS.limit(limits=1):
            return function(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class Suggestion:
    """One proposed cluster: a title, a category and the input texts it groups."""

    title: str
    category: str | None
    member_indices: list[int]
    terms: list[str]


@_single_threaded
def suggest_clusters(
    texts: Sequence[str],
    *,
    categories: Sequence[str] = (),
    n_clusters: int | None = None,
    granularity: float = 0.0,
    engine: str | None = None,
) -> list[Suggestion]:
    """Group the texts into proposed clusters; every index lands in exactly one suggestion.

    `n_clusters` fixes the count (capped at the number of distinct texts); otherwise it is
    chosen automatically and `granularity` in [-1, 1] halves (-1) or doubles (+1) it.
    """
    if n_clusters is not None and n_clusters < 1:
        raise ValueError("n_clusters must be at least 1.")
    if not -1.0 <= granularity <= 1.0:
        raise ValueError("granularity must be between -1 and 1.")
    embedder = get_embedder(engine)
    if not texts:
        return []

    groups = _identical_groups(texts)
    blank = [g for g in groups if not text_key(texts[g[0]])]
    distinct = [g for g in groups if text_key(texts[g[0]])]
    representatives = [texts[g[0]] for g in distinct]

    wanted = None if n_clusters is None else max(1, n_clusters - (1 if blank else 0))
    labels = _cluster(embedder, representatives, wanted, granularity)

    members: dict[int, list[int]] = defaultdict(list)
    for group, label in zip(distinct, labels, strict=True):
        members[int(label)].extend(group)
    clusters = [sorted(m) for m in members.values()]
    if blank:
        clusters.append(sorted(i for g in blank for i in g))
    # Largest first, then by first contribution, so the order is stable and useful.
    clusters.sort(key=lambda m: (-len(m), m[0]))

    describe = _Describer(texts)
    suggestions = []
    for indices in clusters:
        terms = describe.terms(indices)
        suggestions.append(
            Suggestion(
                title=describe.title(indices, terms),
                category=suggest_category([texts[i] for i in indices], categories)
                if categories
                else None,
                member_indices=indices,
                terms=terms,
            )
        )
    return suggestions


@_single_threaded
def find_near_duplicates(
    texts: Sequence[str], *, threshold: float | None = None
) -> list[list[int]]:
    """Groups (two or more) of texts that say the same thing in nearly the same words."""
    limit = NEAR_DUPLICATE_THRESHOLD if threshold is None else threshold
    groups = _identical_groups(texts)
    keys = [text_key(texts[g[0]]) for g in groups]
    labels = list(range(len(groups)))
    filled = [i for i, k in enumerate(keys) if k]
    if len(filled) >= 2:
        # Raw trigram counts (no IDF): how much wording two texts share, independent of what
        # else was written in the session.
        vectors = normalize(
            CountVectorizer(analyzer="char_wb", ngram_range=(3, 3)).fit_transform(
                [keys[i] for i in filled]
            )
        )
        distance = np.clip(1.0 - (vectors @ vectors.T).toarray(), 0.0, None)
        # Complete linkage: every pair inside a group is above the threshold, so a chain of
        # small edits cannot join two different contributions.
        merged = AgglomerativeClustering(
            n_clusters=None,
            metric="precomputed",
            linkage="complete",
            distance_threshold=1.0 - limit + 1e-9,
        ).fit_predict(distance)
        for i, label in zip(filled, merged, strict=True):
            labels[i] = len(groups) + int(label)
    found: dict[int, list[int]] = defaultdict(list)
    for group, label in zip(groups, labels, strict=True):
        found[label].extend(group)
    return sorted((sorted(g) for g in found.values() if len(g) >= 2), key=lambda g: g[0])


@_single_threaded
def nearest_cluster(text: str, clusters: Sequence[Sequence[str]]) -> tuple[int, float] | None:
    """Index of the existing cluster most similar to the text, with a 0–1 similarity."""
    usable = [i for i, members in enumerate(clusters) if any(text_key(m) for m in members)]
    if not text_key(text) or not usable:
        return None
    member_texts = [m for i in usable for m in clusters[i] if text_key(m)]
    vectors = get_embedder("default").embed([text, *member_texts])
    query, rest = vectors[0], vectors[1:]
    best, best_similarity, start = -1, 0.0, 0
    for i in usable:
        size = sum(1 for m in clusters[i] if text_key(m))
        centroid = rest[start : start + size].sum(axis=0)
        start += size
        norm = float(np.linalg.norm(centroid))
        similarity = float(query @ centroid) / norm if norm else 0.0
        if similarity > best_similarity:
            best, best_similarity = i, similarity
    if best < 0 or best_similarity < MIN_NEAREST_SIMILARITY:
        return None
    return best, min(1.0, best_similarity)


def _identical_groups(texts: Sequence[str]) -> list[list[int]]:
    """Indices of texts with the same key, in order of first appearance."""
    by_key: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        by_key.setdefault(text_key(text), []).append(i)
    return list(by_key.values())


def _cluster(
    embedder: Embedder, texts: Sequence[str], n_clusters: int | None, granularity: float
) -> np.ndarray:
    """Spectral clustering of the texts on a k-nearest-neighbour similarity graph."""
    size = len(texts)
    if size <= 1:
        return np.zeros(size, dtype=int)
    vectors = embedder.embed(texts)
    affinity = _knn_graph(np.clip(vectors @ vectors.T, 0.0, 1.0))

    degree = affinity.sum(axis=1)
    scale = 1.0 / np.sqrt(degree)
    normalized = scale[:, None] * affinity * scale[None, :]
    eigenvectors = np.zeros((size, 0))
    if n_clusters is None:
        # Eigenvalues near 1 mark groups the graph barely links to the rest: count those
        # above the threshold (their eigenvectors are also the ones k-means needs).
        values, eigenvectors = scipy.linalg.eigh(
            normalized, subset_by_value=(EIGENVALUE_THRESHOLD, np.inf)
        )
        n_clusters = round(max(1, len(values)) * 2.0**granularity)
    k = min(max(1, n_clusters), size)
    if k == 1:
        return np.zeros(size, dtype=int)
    if eigenvectors.shape[1] < k:
        _, eigenvectors = scipy.linalg.eigh(normalized, subset_by_index=(size - k, size - 1))
    # eigh lists eigenvalues in ascending order: the leading k are the last k columns.
    embedding = normalize(eigenvectors[:, eigenvectors.shape[1] - k :])
    with warnings.catch_warnings():
        # Near-identical texts can leave fewer distinct points than clusters; k-means then
        # returns what it can, which is the right answer.
        warnings.simplefilter("ignore", ConvergenceWarning)
        return KMeans(n_clusters=k, n_init=KMEANS_RESTARTS, random_state=0).fit_predict(embedding)


def _knn_graph(similarity: np.ndarray) -> np.ndarray:
    """Symmetric graph keeping each text's strongest links (about √n of them)."""
    size = len(similarity)
    similarity = similarity.copy()
    np.fill_diagonal(similarity, 0.0)
    neighbours = _neighbour_count(size)
    nearest = np.argpartition(-similarity, neighbours - 1, axis=1)[:, :neighbours]
    rows = np.arange(size)[:, None]
    graph = np.zeros_like(similarity)
    graph[rows, nearest] = similarity[rows, nearest]
    graph[graph < MIN_LINK_SIMILARITY] = 0.0
    graph = np.maximum(graph, graph.T)
    # A text linked to nothing is a group of its own: a self-loop gives it eigenvalue 1.
    isolated = graph.sum(axis=1) <= 0
    graph[isolated, isolated] = 1.0
    return graph


def _neighbour_count(size: int) -> int:
    """Links kept per text: about √n, so the graph stays sparse as sessions grow."""
    return min(size - 1, int(np.clip(round(math.sqrt(size)), 3, 20)))


class _Describer:
    """Key terms and titles for groups of the given texts."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = texts
        self.tokens = [words(t) for t in texts]
        self.folded = [[fold(w) for w in ws] for ws in self.tokens]
        self.document_frequency: Counter[str] = Counter()
        for folded in self.folded:
            self.document_frequency.update(set(folded))
        self.surface = self._surface_forms()

    def _surface_forms(self) -> dict[str, str]:
        """The most common written form of each word: lower case unless written as acronym."""
        forms: dict[str, Counter[str]] = defaultdict(Counter)
        for tokens, folded in zip(self.tokens, self.folded, strict=True):
            for word, key in zip(tokens, folded, strict=True):
                forms[key][word if _is_acronym(word) else word.lower()] += 1
        return {key: counts.most_common(1)[0][0] for key, counts in forms.items()}

    def weights(self, indices: Sequence[int], sharpness: float = 1.0) -> dict[str, float]:
        """How characteristic each content word is of the group: (share of members)^sharpness × IDF."""
        inside: Counter[str] = Counter()
        for i in indices:
            inside.update({w for w in self.folded[i] if _is_content(w)})
        total = len(self.texts)
        return {
            word: (count / len(indices)) ** sharpness
            * math.log(1 + total / self.document_frequency[word])
            for word, count in inside.items()
        }

    def terms(self, indices: Sequence[int]) -> list[str]:
        """The group's top key terms, most characteristic first."""
        weights = self.weights(indices)
        ranked = sorted(weights, key=lambda w: (-weights[w], w))
        return [self.surface[w] for w in ranked[:TERMS_SHOWN]]

    def title(self, indices: Sequence[int], terms: Sequence[str]) -> str:
        """A 2–6 word phrase lifted from the members' own wording that covers the key terms."""
        # Squared shares: a word only one member uses should not make it into the title.
        weights = self.weights(indices, sharpness=2.0)
        cost = 0.25 * max(weights.values(), default=0.0)
        # The title names the group's most characteristic word whenever a phrase holds it.
        top_term = fold(terms[0]) if terms else ""
        best: tuple[bool, float, int, int, int] | None = None
        best_phrase: list[str] = []
        for i in indices:
            for start, end in _phrase_spans(self.texts[i], self.folded[i]):
                phrase = self.folded[i][start:end]
                content = [w for w in phrase if _is_content(w)]
                # Each word costs a little, filler words half as much: the phrase grows only
                # by words the group shares, and "funding for AI training" beats
                # "funding for the training of AI".
                score = (
                    sum(weights.get(w, 0.0) for w in set(content))
                    - cost * len(content)
                    - 0.5 * cost * (len(phrase) - len(content))
                )
                candidate = (top_term in phrase, score, -len(phrase), -i, -start)
                if best is None or candidate > best:
                    best, best_phrase = candidate, self.tokens[i][start:end]
        if best_phrase:
            words_out = [w if _is_acronym(w) else w.lower() for w in best_phrase]
        elif terms:
            words_out = list(terms[:3])
        else:
            words_out = words(self.texts[indices[0]])[:TITLE_MAX_WORDS] or ["Untitled"]
        title = " ".join(words_out)
        return title[:1].upper() + title[1:]


def _phrase_spans(text: str, folded: Sequence[str]) -> list[tuple[int, int]]:
    """Word spans of 2–6 words inside one clause that start and end on a content word."""
    spans = []
    clause_of = _clause_numbers(text)
    for start in range(len(folded)):
        if not _is_content(folded[start]):
            continue
        for end in range(start + 2, min(len(folded), start + TITLE_MAX_WORDS) + 1):
            if clause_of[end - 1] != clause_of[start]:
                break
            if _is_content(folded[end - 1]):
                spans.append((start, end))
    return spans


def _clause_numbers(text: str) -> list[int]:
    """For each word of the text, which clause it is in (clauses end at , ; : . ! ? etc.)."""
    normalized = unicodedata.normalize("NFKC", text)
    numbers, clause, previous_end = [], 0, 0
    for match in WORD_PATTERN.finditer(normalized):
        gap = normalized[previous_end : match.start()]
        clause += sum(1 for c in gap if c in _CLAUSE_BREAKS)
        numbers.append(clause)
        previous_end = match.end()
    return numbers


def _is_content(folded_word: str) -> bool:
    return len(folded_word) > 1 and folded_word not in STOP_WORDS and not folded_word.isdigit()


def _is_acronym(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return len(letters) >= 2 and sum(c.isupper() for c in letters) >= 2
