"""Suggesting the category a group of contributions is filed under, and how sure that is.

Two signals, combined: keyword lexicons (the three default categories, recognised by their
name in any EU language, get stems in English, French, German, Spanish, Italian and Dutch;
custom categories the words of their own name),
and meaning (with the semantic model: the group's notes compared with sentences describing
each category — built in for the defaults, the name and optional one-line description
for the others). When neither signal is clear, no category is suggested.
"""

import functools
from collections.abc import Mapping, Sequence

import numpy as np

from app.clustering.embedders import STOP_WORDS, fold, get_embedder, semantic_vectors, words
from app.i18n import translations_of

PLAYERS = "AI and sector players"
ECOSYSTEM = "Ecosystem structure"
FRAMEWORK = "Key framework conditions"
DEFAULT_CATEGORIES = (PLAYERS, ECOSYSTEM, FRAMEWORK)


@functools.lru_cache(maxsize=1)
def _default_names() -> dict[str, str]:
    """Each default category's name in every EU language (folded) → its English name: a
    session stores the defaults in its own language (app.sessions.service)."""
    return {
        fold(t).strip(): default for default in DEFAULT_CATEGORIES for t in translations_of(default)
    }


def default_category(name: str) -> str | None:
    """The default category (its English name) that `name` is, in any language; else None."""
    return _default_names().get(fold(name).strip())


def _stems(**by_language: str) -> tuple[str, ...]:
    """A lexicon from comma-separated stems per language."""
    return tuple(
        stem.strip() for text in by_language.values() for stem in text.split(",") if stem.strip()
    )


# Stems are matched as word prefixes when at least 4 letters long, as whole words otherwise
# (so "ley" does not match "leyenda"); all are folded (lower case, no accents). Phrases
# match as written, inside one text.
_LEXICONS: dict[str, tuple[str, ...]] = {
    PLAYERS: _stems(
        en=(
            "artist, art, arts, creator, musician, designer, author, writer, performer, sme, smes, "
            "startup, start-up, compan, firm, business, enterprise, entrepreneur, developer, "
            "engineer, researcher, scientist, student, worker, professional, freelance, skill, "
            "competen, literacy, awareness, aware, train, educat, learn, course, curricul, "
            "upskill, reskill, talent, knowledge, capacit, expertise, mindset, user, adopt, "
            "teacher, school, universit, youth, people, citizen"
        ),
        fr=(
            "artiste, createur, pme, entreprise, developpeu, chercheu, competence, formation, "
            "sensibilis, apprenti, enseign, connaissance, metier"
        ),
        de=(
            "kunstler, kmu, unternehm, entwickler, forscher, kompetenz, fahigkeit, ausbildung, "
            "weiterbildung, schulung, bewusstsein, bildung, wissen, kreativ, lehr"
        ),
        es=(
            "artista, pyme, pymes, empresa, desarrollador, investigador, competencia, habilidad, "
            "formacion, capacitacion, sensibilizacion, educacion, conocimiento, aprendiz"
        ),
        it=(
            "artisti, pmi, impres, aziend, sviluppator, ricercator, competenz, abilita, formazion, "
            "consapevolezz, istruzion, conoscenz"
        ),
        nl=(
            "kunstenaar, mkb, bedrijf, bedrijven, ondernem, ontwikkelaar, onderzoeker, vaardighe, "
            "competentie, opleiding, bewustzijn, onderwijs, kennis"
        ),
    ),
    ECOSYSTEM: _stems(
        en=(
            "network, intermediar, hub, hubs, cluster, ecosystem, collaborat, cooperat, co-operat, "
            "partnership, partner, platform, matchmak, match, communit, connect, bridg, exchange, "
            "meet, meetup, lab, labs, living lab, sandbox, incubat, accelerat, space, centre, "
            "center, one-stop, consorti, alliance, cross-sector, interdisciplin, dialogue, "
            "coordinat, fragment, silo, silos, mediat, broker, mentor, peer"
        ),
        fr=(
            "reseau, reseaux, intermediaire, plateforme, partenariat, communaute, ecosysteme, "
            "mise en relation, pole, poles, incubateur, tiers-lieu, rencontre, echange"
        ),
        de=(
            "netzwerk, vermittler, plattform, zusammenarbeit, kooperation, partnerschaft, "
            "gemeinschaft, okosystem, vernetzung, austausch, zentrum, inkubator"
        ),
        es=(
            "red, redes, intermediari, plataforma, colabora, cooperacion, alianza, comunidad, "
            "ecosistema, centro, centros, intercambio"
        ),
        it=(
            "rete, reti, piattaform, collaboraz, cooperaz, partenariat, comunita, incubator, "
            "scambio"
        ),
        nl=(
            "netwerk, intermediair, samenwerk, partnerschap, gemeenschap, ecosysteem, knooppunt, "
            "centrum, uitwisseling"
        ),
    ),
    FRAMEWORK: _stems(
        en=(
            "fund, financ, grant, invest, subsid, budget, money, loan, tax, taxes, taxation, "
            "fiscal, regulat, law, laws, legal, legislat, rule, act, directive, complian, liabil, "
            "gdpr, privacy, ip, ipr, intellectual property, copyright, licens, licenc, patent, "
            "royalt, remunerat, data, dataset, infrastructur, compute, computing, cloud, "
            "broadband, hpc, supercomput, procure, tender, standard, certif, interoperab, "
            "public sector, incentive, voucher"
        ),
        fr=(
            "financement, subvention, investiss, impot, impots, reglement, loi, lois, juridique, "
            "legislati, droit d'auteur, droits d'auteur, propriete intellectuelle, licence, "
            "donnees, calcul, marche public, marches publics, norme, normes, normalis"
        ),
        de=(
            "finanzier, forderung, foerder, zuschuss, zuschusse, steuer, regulier, gesetz, recht, "
            "urheberrecht, lizenz, daten, infrastruktur, rechenleistung, beschaffung, vergabe, "
            "norm, normen"
        ),
        es=(
            "financiacion, financiamiento, subvencion, ayudas, inversion, impuesto, regulacion, "
            "ley, leyes, derechos de autor, propiedad intelectual, licencia, datos, "
            "infraestructura, computacion, contratacion publica, normativa, estandar"
        ),
        it=(
            "finanziament, sovvenzion, investiment, tasse, imposte, regolament, legge, leggi, "
            "normativ, diritto d'autore, diritti d'autore, proprieta intellettuale, licenz, dati, "
            "infrastruttur, calcolo, appalt"
        ),
        nl=(
            "financier, subsidie, investering, belasting, regelgeving, regulering, wet, wetten, "
            "wetgeving, juridisch, auteursrecht, intellectueel eigendom, licentie, gegevens, "
            "infrastructuur, rekenkracht, aanbesteding, standaard"
        ),
    ),
}

# Words that start like a stem but mean something else.
_FALSE_FRIENDS = ("fundament", "companion", "userna")

# Framework and ecosystem words name the kind of intervention ("funding", "network"), while
# player words often only name who benefits and turn up under every category, so a hit on
# the former says more.
_LEXICON_WEIGHTS = {PLAYERS: 1.0, ECOSYSTEM: 1.5, FRAMEWORK: 2.0}

# A word of a category name that marks it as one of the defaults under another name.
_DEFAULT_MARKERS: dict[str, tuple[str, ...]] = {
    PLAYERS: ("player", "actor", "acteur", "akteur", "attori", "spieler"),
    ECOSYSTEM: ("ecosystem", "ecosysteme", "okosystem", "ecosistema", "ecosysteem"),
    FRAMEWORK: ("framework", "condition", "cadre", "rahmen", "marco", "quadro", "kader"),
}


def _matches(token: str, stem: str) -> bool:
    if len(stem) < 4:
        return token == stem
    return token.startswith(stem) and not token.startswith(_FALSE_FRIENDS)


class _Lexicon:
    """Stems compiled for fast matching: word lookups are set probes, remembered per word."""

    def __init__(self, stems: Sequence[str]) -> None:
        singles = [s for s in stems if " " not in s]
        self.whole = frozenset(s for s in singles if len(s) < 4)
        self.prefixes = frozenset(s for s in singles if len(s) >= 4)
        self.phrases = tuple(s for s in stems if " " in s)
        self._seen: dict[str, bool] = {}

    def matches(self, token: str) -> bool:
        """Whether the (folded) word is one of the stems' words."""
        found = self._seen.get(token)
        if found is None:
            found = token in self.whole or (
                any(token[:end] in self.prefixes for end in range(4, len(token) + 1))
                and not token.startswith(_FALSE_FRIENDS)
            )
            if len(self._seen) > 100_000:  # a long-running server sees many sessions
                self._seen.clear()
            self._seen[token] = found
        return found

    def hits(self, tokens: Sequence[str]) -> int:
        """Occurrences in one text's (folded) words; a phrase counts once."""
        count = sum(1 for t in tokens if self.matches(t))
        if self.phrases:
            joined = " ".join(tokens)
            count += sum(1 for p in self.phrases if p in joined)
        return count


def _name_stems(name: str) -> list[str]:
    """Stems for a custom category: the first letters of each longer word of its name."""
    stems = []
    for word in words(fold(name)):
        if len(word) >= 4 and word not in STOP_WORDS:
            stems.append(word[: max(4, len(word) - 3)])
    return stems


@functools.lru_cache(maxsize=64)
def _lexicon_for(name: str) -> tuple[_Lexicon, float]:
    """The stems to look for under a category name, and how much a hit weighs.

    A name that stands for one of the defaults (same name, or a marker word such as
    "framework") gets that default's lexicon; any name adds the stems of its own words.
    """
    folded = fold(name).strip()
    stems = _name_stems(name)
    for default, lexicon in _LEXICONS.items():
        same_name = default_category(name) == default
        marked = any(_matches(w, m) for w in words(folded) for m in _DEFAULT_MARKERS[default])
        if same_name or marked:
            return _Lexicon([*lexicon, *stems]), _LEXICON_WEIGHTS[default]
    return _Lexicon(stems), 1.0


def suggest_category(texts: Sequence[str], categories: Sequence[str]) -> str | None:
    """The category these texts most likely belong under; the first one if nothing matches."""
    names = [c for c in categories if c and c.strip()]
    if not names:
        return None
    lexicons = [_lexicon_for(name) for name in names]
    scores = np.zeros(len(names))
    for text in texts:
        tokens = words(fold(text))
        hits = np.array([lexicon.hits(tokens) for lexicon, _ in lexicons], dtype=float)
        weights = np.array([weight for _, weight in lexicons])
        # Each text votes for every category it mentions, by the category's weight; how
        # often it mentions one only breaks ties.
        scores += np.where(hits > 0, weights, 0.0) + 0.01 * hits
    if scores.max() <= 0:
        scores = _name_similarity(texts, names)
    if scores.max() <= 0:
        return names[0]
    return names[int(np.argmax(scores))]  # argmax keeps the earlier category on ties


def _name_similarity(texts: Sequence[str], names: Sequence[str]) -> np.ndarray:
    """Character-n-gram similarity of the texts (taken together) to each category name."""
    joined = " ".join(texts)
    if not joined.strip():
        return np.zeros(len(names))
    vectors = get_embedder("tfidf").embed([joined, *names])
    similarity = vectors[1:] @ vectors[0]
    # Below this the overlap is letter pairs that any two texts share.
    return np.where(similarity >= 0.15, similarity, 0.0)


# What each default category is about, one facet per sentence (the product's definitions):
# a group is compared with each facet and takes its best match.
_DEFAULT_DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    PLAYERS: (
        "The actors themselves: artists, creators, cultural organisations, SMEs and AI developers.",
        "Skills, training, education and AI literacy of artists and creative workers.",
        "Awareness, attitudes and fears of creators about artificial intelligence.",
        "Companies and cultural institutions adopting AI tools and hiring AI talent.",
    ),
    ECOSYSTEM: (
        "Networks, intermediaries and hubs that connect the actors.",
        "Collaboration spaces, labs and platforms where artists and technologists meet.",
        "Partnerships and exchange between the creative sector, research and industry.",
        "Structure of the ecosystem: fragmentation, silos, coordination, matchmaking.",
    ),
    FRAMEWORK: (
        "Funding, grants, investment and tax incentives.",
        "Regulation, laws, copyright, intellectual property and remuneration of authors.",
        "Access to data, computing power and digital infrastructure.",
        "Public procurement, standards, labels and the cost of AI tools.",
    ),
}
# How much the lexicon's vote counts beside the meaning (both are shares that sum to 1).
LEXICON_SHARE = 0.7
# Similarity differences are small (0.05–0.15): the softmax temperature spreads them.
# Both tuned on bench/data/categories.csv (printed by bench/clustering.py).
MEANING_TEMPERATURE = 0.1
# Cosine similarity of a note to a description of a category it has nothing to do with:
# measured up to 0.17 for names that carry no meaning ("Alpha", "Pillar B") on the notes of
# bench/data/categories.csv, while the notes' best default category has median 0.38.
MEANING_FLOOR = 0.12
# Below this confidence (share of the combined vote for the best category) none is suggested.
MIN_CONFIDENCE = 0.5
# From this confidence a suggestion is shown as "very likely" (below it, "likely").
VERY_LIKELY = 0.8


def category_descriptions(
    categories: Sequence[str], descriptions: Mapping[str, str] | None = None
) -> list[tuple[str, ...]]:
    """The sentences that describe each category: the facilitator's line if given, the
    built-in facets for a default category, and the name itself."""
    given = {fold(k).strip(): v for k, v in (descriptions or {}).items() if v and v.strip()}
    result = []
    for name in categories:
        key = fold(name).strip()
        sentences = [name]
        if key in given:
            sentences.append(f"{name}: {given[key].strip()}")
        default = default_category(name)
        sentences.extend(_DEFAULT_DESCRIPTIONS[default] if default else ())
        result.append(tuple(sentences))
    return result


@functools.lru_cache(maxsize=256)
def _description_vectors(sentences: tuple[str, ...]) -> np.ndarray:
    return semantic_vectors(list(sentences)).astype(np.float64)


def _lexicon_scores(texts: Sequence[str], names: Sequence[str]) -> np.ndarray:
    lexicons = [_lexicon_for(name) for name in names]
    scores = np.zeros(len(names))
    weights = np.array([weight for _, weight in lexicons])
    for text in texts:
        tokens = words(fold(text))
        hits = np.array([lexicon.hits(tokens) for lexicon, _ in lexicons], dtype=float)
        scores += np.where(hits > 0, weights, 0.0) + 0.01 * hits
    return scores


def rate_categories(
    texts: Sequence[str],
    categories: Sequence[str],
    *,
    descriptions: Mapping[str, str] | None = None,
    vectors: np.ndarray | None = None,
) -> tuple[str | None, float | None]:
    """The category these texts belong under and the confidence (0–1); (None, confidence)
    when unsure, (None, None) when there are no categories.

    `vectors` are the texts' semantic rows (the semantic engine); without them only the
    lexicons and name similarity vote.
    """
    names = [c for c in categories if c and c.strip()]
    if not names or not texts:
        return None, None
    lexicon = _lexicon_scores(texts, names)
    votes = lexicon / lexicon.sum() if lexicon.sum() > 0 else None
    if vectors is not None and len(vectors) and np.linalg.norm(vectors, axis=1).max() > 0:
        centroid = vectors.sum(axis=0)
        centroid = centroid / np.linalg.norm(centroid)
        described = category_descriptions(names, descriptions)
        similarity = np.array(
            [float((_description_vectors(d) @ centroid).max()) for d in described]
        )
        # "None of them" competes at MEANING_FLOOR: notes that resemble no category's
        # description (names such as "Pillar A" say nothing) give the meaning vote no
        # winner, rather than the least unlikely category.
        scores = np.append(similarity, MEANING_FLOOR)
        weights = np.exp((scores - scores.max()) / MEANING_TEMPERATURE)
        meaning = weights[:-1] / weights.sum()
        votes = meaning if votes is None else LEXICON_SHARE * votes + (1 - LEXICON_SHARE) * meaning
    if votes is None:
        similarity = _name_similarity(texts, names)
        if similarity.max() <= 0:
            return None, 0.0
        votes = similarity / similarity.sum()
    best = int(np.argmax(votes))
    confidence = round(float(votes[best]), 2)
    if confidence < MIN_CONFIDENCE:
        return None, confidence
    return names[best], confidence


def certainty(category: str | None, confidence: float | None) -> str | None:
    """How a category suggestion is worded: "very likely", "likely" or "unsure" (none was
    suggested); None when there was nothing to rate."""
    if confidence is None:
        return None
    if category is None:
        return "unsure"
    return "very likely" if confidence >= VERY_LIKELY else "likely"
