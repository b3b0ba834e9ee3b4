"""Offline clustering engine: proposes affinity clusters for workshop contributions.

A pure library (no database, no web code). The pipeline, chosen by measurement on BANKING77
draws and hand-written lab notes (see bench/clustering.py and tests/clustering):

1. texts that say the same thing up to case, accents, punctuation and spacing are merged
   first, so identical contributions always land together;
2. the embedder turns the remaining texts into vectors (default `hybrid`: multilingual
   sentence meaning, a policy-facet profile and character n-grams; see embedders.py);
   stored vectors of contributions are passed in as `known_vectors`;
3. up to SMALL_SET notes (one challenge of a real lab) the meanings are centred on their
   mean and an average-linkage tree is cut at the count with the best silhouette, shaped
   for groups of 2–6 (SMALL_SET_METHOD); larger sets are clustered spectrally on a
   k-nearest-neighbour graph, the count read from its eigenvalues;
4. each cluster gets key terms, a title (the key phrase of its most representative note)
   and a category with a confidence (categories.py).
"""

import math
import re
import unicodedata
import warnings
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.cluster.hierarchy
import scipy.linalg
import scipy.spatial.distance
from sklearn.cluster import AgglomerativeClustering, KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize

from app.clustering.categories import rate_categories, suggest_category
from app.clustering.compute import single_threaded
from app.clustering.embedders import (
    STOP_WORDS,
    WORD_PATTERN,
    fold,
    get_embedder,
    semantic_vectors,
    text_key,
    uses_model,
    words,
)

__all__ = [
    "PREVIOUS_SMALL_SET_METHOD",
    "SMALL_SET_METHOD",
    "SmallSetMethod",
    "Suggestion",
    "find_near_duplicates",
    "nearest_cluster",
    "suggest_category",
    "suggest_clusters",
]

# Tuned on BANKING77 draws from one half of the intents only (bench/clustering.py reports
# on the other half): eigenvalues above this count as separate groups.
EIGENVALUE_THRESHOLD = 0.5
# Up to this many distinct notes (a challenge of a real lab holds 10–40) the count is chosen
# by silhouette on a hierarchical tree; above it, from the eigenvalues of a nearest-neighbour
# graph (measured: the silhouette over-splits large sets, the eigenvalues under-count small
# ones).
SMALL_SET = 60


@dataclass(frozen=True)
class SmallSetMethod:
    """How a workshop-sized set is clustered.

    The notes' meanings are centred on their mean (`centre`: what every note of a lab shares
    is taken away), a `linkage` tree is built on their cosine distances and cut at the count
    with the best silhouette, shaped for the workshop: the silhouette of each count is lowered
    by `shape_prior` × |log(count / (n / typical_size))| and by `count_penalty` × count / √n,
    so among counts that separate the notes about as well, the one of the usual shape wins.
    """

    linkage: str
    centre: bool
    typical_size: float
    shape_prior: float
    count_penalty: float


# Chosen on draws of 3–10 intents × 2–6 messages and 4–8 × 2–5 from the tuning half of
# BANKING77 (median ARI 0.62 → 0.68 there; bench/clustering.py reports the other half):
# centring and average linkage beat Ward on every shape measured.
SMALL_SET_METHOD = SmallSetMethod(
    linkage="average", centre=True, typical_size=3.5, shape_prior=0.1, count_penalty=0.02
)
# The method before (Ward on uncentred rows), kept so the benchmark can print both.
PREVIOUS_SMALL_SET_METHOD = SmallSetMethod(
    linkage="ward", centre=False, typical_size=3.5, shape_prior=0.06, count_penalty=0.01
)
# Below this similarity two of three or fewer notes are not grouped (too few for a silhouette).
TINY_SET_LINK = 0.5
# Similarities below this are letter pairs any two texts share, not an affinity.
MIN_LINK_SIMILARITY = 0.05
# Character-trigram cosine from which two texts count as the same contribution reworded.
NEAR_DUPLICATE_THRESHOLD = 0.8
# Semantic cosine from which two texts say the same thing in other words ("Artists lack AI
# skills" / "Artists are missing skills in AI": 0.94; "funding for AI skills training" /
# "training programmes on AI skills": 0.83, not duplicates).
SEMANTIC_DUPLICATE_THRESHOLD = 0.9
# Below this a text shares nothing meaningful with any cluster (tfidf / model engines).
MIN_NEAREST_SIMILARITY = 0.05
MIN_NEAREST_SIMILARITY_MODEL = 0.35
# k-means restarts on the spectral embedding: more is steadier, fewer is faster.
KMEANS_RESTARTS = 4
TITLE_MAX_WORDS = 8
TITLE_MAX_CHARS = 80
# A long title cut before a phrase keeps at least this many words (else it is cut at the
# maximum: "Short courses on AI for theatre and studio", not "Short courses on AI").
MIN_TITLE_WORDS = 5
TERMS_SHOWN = 5
_CLAUSE_BREAKS = set(',;:.!?()[]{}/|\n–—"“”«»')
# Words that open a subordinate clause: a long title is cut before them.
_CLAUSE_OPENERS = frozenset(
    " ".join(
        (
            "so that which who whose where when how why whether because while if since",
            "although unless",
            "until to qui que dont lorsque parce afin dass weil wenn damit um che cui dove",
            "quando perche affinche ktory ktora ktore ktorych gdzie kiedy poniewaz aby zeby",
        )
    ).split(" ")
)
# Prepositions: a long title with no subordinate clause is cut before the last of them
# that fits ("GPU compute is too expensive | for small creative studios"), so it ends on a
# whole phrase rather than mid-way through one.
_PHRASE_OPENERS = frozenset(
    " ".join(
        (
            "for of in on at with from by about between through across without",
            "pour de des du dans sur avec sans entre par fur mit von bei durch ohne zwischen",
            "per di del della dei con senza tra fra su dla z ze w we na przez bez miedzy",
        )
    ).split(" ")
)
_SENTENCE_BREAKS = set(";:.!?()[]{}|\n–—")
# Openings of a gap statement that are not part of the solution's name ("We need more
# funding for X" → "More funding for X", "Lack of training" → "Training").
_TITLE_OPENINGS = re.compile(
    r"^(?:(?:i think|in my opinion|maybe|perhaps)\s*,?\s+)?"
    r"(?:we|they|you|artists|smes|companies)?\s*"
    r"(?:need|needs|should|must|have to|would like)(?:\s+to)?\s+(?:(?:a|an|the|have)\s+)?"
    r"|^(?:there\s+(?:is|are)\s+)?(?:a\s+)?(?:lack|absence)\s+of\s+"
    r"|^(?:there\s+(?:is|are)\s+)?(?:a\s+)?(?:need|call)\s+(?:for|to)\s+"
    r"|^(?:there\s+(?:is|are)\s+)?(?:no|not enough|too little|too few|missing)\s+"
    r"|^(?:il\s+(?:faut|manque)|manque\s+d[e']|absence\s+d[e'])\s*"
    r"|^(?:es\s+fehlt|fehlende[rn]?|mangel\s+an|wir\s+brauchen)\s+"
    r"|^(?:manca(?:no)?|mancanza\s+di|serve|servono)\s+"
    r"|^(?:brak|brakuje|potrzeba|potrzebujemy)\s+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Suggestion:
    """One proposed cluster: a title, a category and the input texts it groups.

    `category_confidence` (0–1) says how sure the category is; `category` is None when the
    tool is unsure (the facilitator picks), with the best guess's confidence still given.
    """

    title: str
    category: str | None
    member_indices: list[int]
    terms: list[str]
    category_confidence: float | None = None


@single_threaded
def suggest_clusters(
    texts: Sequence[str],
    *,
    categories: Sequence[str] = (),
    n_clusters: int | None = None,
    granularity: float = 0.0,
    engine: str | None = None,
    known_vectors: Mapping[str, np.ndarray] | None = None,
    category_descriptions: Mapping[str, str] | None = None,
    method: SmallSetMethod = SMALL_SET_METHOD,
) -> list[Suggestion]:
    """Group the texts into proposed clusters; every index lands in exactly one suggestion.

    `n_clusters` fixes the count (capped at the number of distinct texts); otherwise it is
    chosen automatically and `granularity` in [-1, 1] halves (-1) or doubles (+1) it.
    `known_vectors` maps texts to semantic vectors computed before (stored embeddings);
    `category_descriptions` gives a one-line description of some categories; `method` is
    how sets of up to SMALL_SET distinct notes are clustered (the benchmark compares).
    """
    if n_clusters is not None and n_clusters < 1:
        raise ValueError("n_clusters must be at least 1.")
    if not -1.0 <= granularity <= 1.0:
        raise ValueError("granularity must be between -1 and 1.")
    get_embedder(engine)  # an unknown engine is refused even with nothing to cluster
    if not texts:
        return []

    groups = _identical_groups(texts)
    blank = [g for g in groups if not text_key(texts[g[0]])]
    distinct = [g for g in groups if text_key(texts[g[0]])]
    representatives = [texts[g[0]] for g in distinct]

    small = len(representatives) <= SMALL_SET
    embedder = get_embedder(engine, known=known_vectors, centre=small and method.centre)
    wanted = None if n_clusters is None else max(1, n_clusters - (1 if blank else 0))
    vectors = embedder.embed(representatives) if representatives else np.zeros((0, 0))
    labels = _cluster(vectors, wanted, granularity, method)

    members: dict[int, list[int]] = defaultdict(list)
    for number, label in enumerate(labels):
        members[int(label)].append(number)
    # Largest first (counting every copy), then by first contribution: stable and useful.
    clusters = sorted(
        members.values(),
        key=lambda m: (-sum(len(distinct[i]) for i in m), min(distinct[i][0] for i in m)),
    )
    meaning = None
    if categories and uses_model(engine):
        meaning = semantic_vectors_for(representatives, known_vectors)

    describe = _Describer(texts)
    suggestions = []
    for cluster in clusters:
        indices = sorted(i for number in cluster for i in distinct[number])
        terms = describe.terms(indices)
        category, confidence = None, None
        if categories:
            category, confidence = rate_categories(
                [representatives[n] for n in cluster],
                categories,
                descriptions=category_descriptions,
                vectors=None if meaning is None else meaning[cluster],
            )
        suggestions.append(
            Suggestion(
                title=describe.title(
                    [distinct[n][0] for n in cluster], terms, _medoid_order(vectors, cluster)
                ),
                category=category,
                member_indices=indices,
                terms=terms,
                category_confidence=confidence,
            )
        )
    if blank:
        indices = sorted(i for g in blank for i in g)
        suggestions.append(
            Suggestion(
                title=describe.title(indices, [], []),
                category=None,
                member_indices=indices,
                terms=[],
            )
        )
        suggestions.sort(key=lambda s: (-len(s.member_indices), s.member_indices[0]))
    return suggestions


def semantic_vectors_for(
    texts: Sequence[str], known: Mapping[str, np.ndarray] | None = None
) -> np.ndarray:
    """Semantic rows for the texts, taking the known ones and computing the rest."""
    known = known or {}
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    computed = dict(zip(missing, semantic_vectors(missing), strict=True)) if missing else {}
    rows = [known[t] if t in known else computed[t] for t in texts]
    return np.vstack([np.asarray(r, dtype=np.float64) for r in rows]) if rows else np.zeros(0)


@single_threaded
def find_near_duplicates(
    texts: Sequence[str],
    *,
    threshold: float | None = None,
    engine: str | None = None,
    known_vectors: Mapping[str, np.ndarray] | None = None,
) -> list[list[int]]:
    """Groups (two or more) of texts that say the same thing in nearly the same words, or
    (engines with a model) in other words."""
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
        similarity = (vectors @ vectors.T).toarray()
        if uses_model(engine):
            meaning = semantic_vectors_for([texts[groups[i][0]] for i in filled], known_vectors)
            # The same meaning counts as the same wording: the semantic scale is mapped onto
            # the trigram one (SEMANTIC_DUPLICATE_THRESHOLD → NEAR_DUPLICATE_THRESHOLD, 1 → 1).
            stretch = (1.0 - NEAR_DUPLICATE_THRESHOLD) / (1.0 - SEMANTIC_DUPLICATE_THRESHOLD)
            mapped = 1.0 - stretch * (1.0 - meaning @ meaning.T)
            similarity = np.maximum(similarity, mapped)
        distance = np.clip(1.0 - similarity, 0.0, None)
        np.fill_diagonal(distance, 0.0)
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


@single_threaded
def nearest_cluster(
    text: str,
    clusters: Sequence[Sequence[str]],
    *,
    engine: str | None = None,
    known_vectors: Mapping[str, np.ndarray] | None = None,
) -> tuple[int, float] | None:
    """Index of the existing cluster most similar to the text, with a 0–1 similarity."""
    usable = [i for i, members in enumerate(clusters) if any(text_key(m) for m in members)]
    if not text_key(text) or not usable:
        return None
    member_texts = [m for i in usable for m in clusters[i] if text_key(m)]
    vectors = get_embedder(engine, known=known_vectors).embed([text, *member_texts])
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
    floor = MIN_NEAREST_SIMILARITY_MODEL if uses_model(engine) else MIN_NEAREST_SIMILARITY
    if best < 0 or best_similarity < floor:
        return None
    return best, min(1.0, best_similarity)


def _identical_groups(texts: Sequence[str]) -> list[list[int]]:
    """Indices of texts with the same key, in order of first appearance."""
    by_key: dict[str, list[int]] = {}
    for i, text in enumerate(texts):
        by_key.setdefault(text_key(text), []).append(i)
    return list(by_key.values())


def _cluster(
    vectors: np.ndarray, n_clusters: int | None, granularity: float, method: SmallSetMethod
) -> np.ndarray:
    """Cluster labels for the rows (unit vectors; dot products are similarities)."""
    size = len(vectors)
    if size <= 1:
        return np.zeros(size, dtype=int)
    if size <= SMALL_SET:
        return _cluster_small(vectors, n_clusters, granularity, method)
    return _cluster_spectral(vectors, n_clusters, granularity)


def _cluster_small(
    vectors: np.ndarray, n_clusters: int | None, granularity: float, method: SmallSetMethod
) -> np.ndarray:
    """A workshop-sized set: a tree, cut at the count with the best shaped silhouette."""
    size = len(vectors)
    similarity = np.clip(vectors @ vectors.T, -1.0, 1.0)
    distance = np.clip(1.0 - similarity, 0.0, None)
    np.fill_diagonal(distance, 0.0)
    distance = (distance + distance.T) / 2
    if method.linkage == "ward":
        tree = scipy.cluster.hierarchy.linkage(vectors, method="ward")
    else:
        condensed = scipy.spatial.distance.squareform(distance, checks=False)
        tree = scipy.cluster.hierarchy.linkage(condensed, method=method.linkage)

    def cut(count: int) -> np.ndarray:
        return scipy.cluster.hierarchy.fcluster(tree, count, criterion="maxclust") - 1

    if n_clusters is None:
        if size <= 3:
            # Too few for a silhouette: link the notes that are clearly alike.
            linked = AgglomerativeClustering(
                n_clusters=None,
                metric="precomputed",
                linkage="average",
                distance_threshold=1.0 - TINY_SET_LINK,
            ).fit_predict(distance)
            chosen = len(set(linked))
        else:
            best_score, chosen = -np.inf, 1
            for count in range(2, size // 2 + 1):
                labels = cut(count)
                if not 1 < len(set(labels)) < size:
                    continue
                score = (
                    silhouette_score(distance, labels, metric="precomputed")
                    - method.shape_prior * abs(math.log(count / (size / method.typical_size)))
                    - method.count_penalty * count / math.sqrt(size)
                )
                if score > best_score:
                    best_score, chosen = score, count
        n_clusters = round(chosen * 2.0**granularity)
    k = min(max(1, n_clusters), size)
    return cut(k) if k > 1 else np.zeros(size, dtype=int)


def _cluster_spectral(
    vectors: np.ndarray, n_clusters: int | None, granularity: float
) -> np.ndarray:
    """Spectral clustering on a k-nearest-neighbour similarity graph."""
    size = len(vectors)
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


def _medoid_order(vectors: np.ndarray, cluster: Sequence[int]) -> list[int]:
    """Positions in `cluster`, most representative first (highest mean similarity)."""
    if len(cluster) <= 2 or not len(vectors):
        return list(range(len(cluster)))
    rows = vectors[list(cluster)]
    centrality = (rows @ rows.T).sum(axis=1)
    return sorted(range(len(cluster)), key=lambda p: (-centrality[p], p))


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

    def title(self, indices: Sequence[int], terms: Sequence[str], order: Sequence[int]) -> str:
        """The name of the group: the key phrase of its most representative member.

        `order` ranks positions in `indices` from most to least representative (the medoid
        first). The phrase is the member's first sentence without the opening of a gap
        statement ("We need…", "Lack of…"), cut before a subordinate clause or after
        TITLE_MAX_WORDS words.
        """
        ranked = [indices[p] for p in order] if order else list(indices)
        for i in ranked[:1]:
            phrase = self._key_phrase(i)
            if phrase:
                return phrase
        if terms:
            return " ".join(terms[:3])[:1].upper() + " ".join(terms[:3])[1:]
        first = words(self.texts[indices[0]])[:TITLE_MAX_WORDS] if indices else []
        return " ".join(first) or "Untitled"

    def _key_phrase(self, i: int) -> str:
        sentence = _first_sentence(self.texts[i])
        for _ in range(2):
            sentence = _TITLE_OPENINGS.sub("", sentence, count=1).strip()
        tokens = words(sentence)
        if not tokens:
            return ""
        folded = [fold(t) for t in tokens]
        if len(tokens) > TITLE_MAX_WORDS:
            # Too long: keep the opening up to where a subordinate clause starts ("…so they
            # can…", "…whose works…"), or the first TITLE_MAX_WORDS words.
            end = next(
                (
                    position
                    for position in range(3, TITLE_MAX_WORDS + 1)
                    if folded[position] in _CLAUSE_OPENERS
                ),
                None,
            )
            if end is None:
                # No clause to cut off: end before the last phrase that would not fit whole.
                end = next(
                    (
                        position
                        for position in range(TITLE_MAX_WORDS, MIN_TITLE_WORDS - 1, -1)
                        if folded[position] in _PHRASE_OPENERS
                    ),
                    TITLE_MAX_WORDS,
                )
            tokens, folded = tokens[:end], folded[:end]
        # A title ends on a content word ("Funding for", "Training of the" are cut back).
        while len(tokens) > 1 and not _is_content(folded[-1]):
            tokens, folded = tokens[:-1], folded[:-1]
        title = " ".join(tokens)[:TITLE_MAX_CHARS].strip()
        return title[:1].upper() + title[1:]


def _first_sentence(text: str) -> str:
    """The text up to its first sentence break, if that leaves at least two words."""
    normalized = unicodedata.normalize("NFKC", text).strip()
    for position, character in enumerate(normalized):
        if character in _SENTENCE_BREAKS and len(words(normalized[:position])) >= 2:
            return normalized[:position]
    return normalized


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
