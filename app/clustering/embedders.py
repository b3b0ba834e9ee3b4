"""Text → vector embedders for the clustering engine, and the text helpers they share.

The default embedder needs only scikit-learn and numpy and assumes no language: it mixes
character n-grams (robust to inflection, compounds and typos in any EU language) with word
n-grams (exact vocabulary), both TF-IDF weighted over the batch being clustered.
"""

import re
import unicodedata
from collections.abc import Sequence
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

DEFAULT_ENGINE = "default"
ENGINE_NAMES = ("default", "tfidf", "semantic")

WORD_PATTERN = re.compile(r"\w+(?:['’-]\w+)*")

# Function words (folded) of the languages the lexicons cover, plus the fillers of gap
# statements ("lack of", "we need more"). They are kept for clustering, where TF-IDF weighs
# them down anyway, and left out only of titles, key terms and category-name matching.
# Words that are content words in another language ("ai", "car", "mayor") are left out.
_STOP_WORDS_BY_LANGUAGE = {
    "en": """
        a about above after again against all also am an and any are aren't as at be because
        been before being below between both but by can can't cannot could couldn't did didn't
        do does doesn't doing don't down during each etc few for from further get gets getting
        had has have having he her here hers him his how i i'm if in into is isn't it it's its
        itself just let's like me more most much must my no nor not now of off on once only or
        other ought our ours out over own same she should so some such than that that's the
        their theirs them then there there's these they this those through to too under until
        up upon very via was we were what when where which while who whom why will with within
        without would you your yours
        need needs needed lack lacks lacking missing miss better lot lots many make makes
        making way ways new use used using one two thing things really
    """,
    "fr": """
        le la les l un une des du de d et ou mais donc ni au aux en dans par pour sur sous
        avec sans ce cet cette ces se sa son ses leur leurs nous vous ils elles il elle on qui
        que qu quoi dont ne pas plus moins tres est sont etre avoir ont fait faire y manque
        besoin faut peu tout tous toute toutes autre autres meme comme entre chez
    """,
    "de": """
        der die das den dem des ein eine einer eines einem einen und oder aber auch als am an
        auf aus bei bis durch fur gegen im in ins mit nach ohne uber um unter von vor zu zum
        zur ist sind wird werden wurde hat haben sein es sie er wir ihr ihre ihren sich nicht
        kein keine mehr sehr noch nur wie so dass wenn fehlt fehlen fehlende mangel brauchen
    """,
    "es": """
        el la los las un una unos unas y o pero ni que de del al a en por para con sin sobre
        entre es son ser esta estan hay se su sus nuestro nuestra lo le les mas muy como falta
        faltan necesita necesitan mejor
    """,
    "it": """
        il lo la i gli le un uno una e o ma che di da del della dei degli delle al alla agli
        alle in con su per tra fra non piu molto come manca mancano sono essere ha hanno suo
        sua loro nostro
    """,
    "nl": """
        de het een en of maar dat die dit deze van voor met zonder op in aan bij naar door over
        uit als is zijn er niet geen meer zeer te om ook wordt worden heeft hebben ons onze hun
        gebrek ontbreekt nodig
    """,
}
STOP_WORDS = frozenset(w for text in _STOP_WORDS_BY_LANGUAGE.values() for w in text.split())


class ClusteringEngineUnavailable(RuntimeError):
    """The configured clustering engine cannot run on this installation."""


class Embedder(Protocol):
    """Turns texts into vectors whose dot products are their similarities."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One L2-normalised row per text (an all-zero row for a text with no features)."""
        ...


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a text, for comparing words across spellings."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The words of a text in their original form (hyphenated and elided words kept whole)."""
    return WORD_PATTERN.findall(unicodedata.normalize("NFKC", text))


def text_key(text: str) -> str:
    """The text with case, accents, punctuation and spacing removed: equal keys say the same."""
    return " ".join(WORD_PATTERN.findall(fold(text))).replace("’", "'")


class TfidfEmbedder:
    """Character 2–5-gram plus word 1–2-gram TF-IDF, fitted on the texts being embedded."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Dense rows whose dot products equal the cosine similarities of the TF-IDF vectors."""
        if not texts:
            return np.zeros((0, 0))
        features = self._features([text_key(t) for t in texts])
        n_texts, n_features = features.shape
        if n_features <= n_texts:
            return np.asarray(features.toarray())
        return _gram_factor(np.asarray((features @ features.T).toarray()))

    @staticmethod
    def _features(keys: list[str]) -> sp.csr_matrix:
        blocks = []
        # Each vectorizer raises on a vocabulary it cannot build (e.g. only blank texts).
        for vectorizer in (
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            TfidfVectorizer(
                analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"\S+"
            ),
        ):
            try:
                blocks.append(normalize(vectorizer.fit_transform(keys)))
            except ValueError:
                continue
        if not blocks:
            return sp.csr_matrix((len(keys), 1))
        return sp.csr_matrix(normalize(sp.hstack(blocks).tocsr()))


def _gram_factor(gram: np.ndarray) -> np.ndarray:
    """Rows with the given Gram matrix: keeps exact cosines while staying n-dimensional.

    TF-IDF vectors have tens of thousands of sparse dimensions; a Cholesky factor of the
    n×n similarity matrix is a dense n-dimensional equivalent that is cheap to compute.
    """
    empty = np.diag(gram) <= 0
    jittered = gram + np.eye(len(gram)) * 1e-9
    jittered[empty, empty] = 1.0
    try:
        factor = np.linalg.cholesky(jittered)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(gram)
        factor = vectors * np.sqrt(np.clip(values, 0.0, None))
    factor[empty] = 0.0
    return np.asarray(normalize(factor))


class SemanticEmbedder:
    """Placeholder for a multilingual sentence-embedding engine (optional `semantic` extra)."""

    def __init__(self) -> None:
        # No package on PyPI ships a multilingual sentence-embedding model that runs on
        # onnxruntime alone, and the tool must not download models at run time.
        raise ClusteringEngineUnavailable(
            "The 'semantic' clustering engine is not available in this installation: "
            "it needs a sentence-embedding model packaged for onnxruntime, and none is "
            "bundled. Set POLICYLAB_CLUSTERING_ENGINE=default to use the built-in engine."
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:  # pragma: no cover - never built
        """Never reached: construction fails."""
        raise ClusteringEngineUnavailable("The 'semantic' clustering engine is not available.")


def get_embedder(name: str | None = None) -> Embedder:
    """The embedder called `name` ("default"/"tfidf" or "semantic"; None means default)."""
    chosen = (name or DEFAULT_ENGINE).strip().lower()
    if chosen in ("", "default", "tfidf"):
        return TfidfEmbedder()
    if chosen == "semantic":
        return SemanticEmbedder()
    raise ValueError(
        f"Unknown clustering engine {name!r}; choose one of: {', '.join(ENGINE_NAMES)}."
    )
