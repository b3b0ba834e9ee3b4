"""Suggesting the category a group of contributions is filed under.

The method's three default categories get keyword lexicons (stems in English, French, German,
Spanish, Italian and Dutch); custom categories are matched on the words of their own name.
"""

import functools
from collections.abc import Sequence

import numpy as np

from app.clustering.embedders import STOP_WORDS, fold, get_embedder, words

PLAYERS = "AI and sector players"
ECOSYSTEM = "Ecosystem structure"
FRAMEWORK = "Key framework conditions"
DEFAULT_CATEGORIES = (PLAYERS, ECOSYSTEM, FRAMEWORK)


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
        same_name = folded == fold(default)
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
    vectors = get_embedder("default").embed([joined, *names])
    similarity = vectors[1:] @ vectors[0]
    # Below this the overlap is letter pairs that any two texts share.
    return np.where(similarity >= 0.15, similarity, 0.0)
