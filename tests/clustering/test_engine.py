"""Unit tests of the offline clustering engine on small hand-made sets."""

import csv
import random
import statistics
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from app.clustering.categories import DEFAULT_CATEGORIES, rate_categories
from app.clustering.embedders import (
    SEMANTIC_DIMENSIONS,
    HybridEmbedder,
    SemanticEmbedder,
    TfidfEmbedder,
    get_embedder,
    is_covered,
    text_key,
    uses_model,
)
from app.clustering.engine import (
    TITLE_MAX_WORDS,
    Suggestion,
    find_near_duplicates,
    nearest_cluster,
    suggest_category,
    suggest_clusters,
)
from tests.clustering.lab_notes import CHALLENGE_SMES, CHALLENGE_TRUST, PARALLEL

FUNDING = [
    "More public funding for AI training of artists",
    "Funding programmes for AI training in creative schools",
    "Dedicated funding for AI training courses for musicians",
    "Public funding to pay for AI training of creative workers",
    "Small grants and funding for AI training in the cultural sector",
]
COPYRIGHT = [
    "Clear copyright rules for AI generated works",
    "Copyright protection of artists' works used to train AI models",
    "Copyright licensing of works for AI models should be simple",
    "Artists need fair copyright remuneration when AI models use their works",
    "Update copyright law for works created with AI models",
]
HUBS = [
    "Regional hubs where creative SMEs meet AI developers",
    "Networking events and hubs connecting SMEs with AI developers",
    "A European network of hubs for creative SMEs and AI developers",
    "Matchmaking between SMEs and AI developers in local hubs",
    "Hubs and networks to connect creative SMEs to AI developers",
]
TOPICS = (FUNDING, COPYRIGHT, HUBS)
# Interleaved so that input order gives the engine no hint.
TEXTS = [text for trio in zip(*TOPICS, strict=True) for text in trio]
TOPIC_OF = {text: number for number, topic in enumerate(TOPICS) for text in topic}


def groups_of(suggestions: list[Suggestion], texts: list[str]) -> list[set[int]]:
    """Each suggestion as the set of topic numbers of its members."""
    return [{TOPIC_OF[texts[i]] for i in s.member_indices} for s in suggestions]


def assert_partition(suggestions: list[Suggestion], size: int) -> None:
    indices = sorted(i for s in suggestions for i in s.member_indices)
    assert indices == list(range(size))
    for s in suggestions:
        assert s.member_indices == sorted(s.member_indices)


class TestSuggestClusters:
    def test_empty_input_gives_no_suggestion(self) -> None:
        assert suggest_clusters([]) == []

    def test_one_text_gives_one_suggestion(self) -> None:
        [only] = suggest_clusters(["Funding for AI skills training"])
        assert only.member_indices == [0]
        assert only.title == "Funding for AI skills training"

    def test_finds_the_topics_automatically(self) -> None:
        suggestions = suggest_clusters(TEXTS)
        assert_partition(suggestions, len(TEXTS))
        assert sorted(map(sorted, groups_of(suggestions, TEXTS))) == [[0], [1], [2]]
        assert all(len(s.member_indices) == 5 for s in suggestions)

    def test_fewer_larger_merges_whole_topics(self) -> None:
        # Asked for fewer, larger clusters, the engine merges whole topics (three topics
        # at half the count: two of them share a cluster), it never splits one across two.
        for granularity in (-1.0, 0.0, 1.0):
            suggestions = suggest_clusters(TEXTS, granularity=granularity)
            for topics in groups_of(suggestions, TEXTS):
                assert len(topics) <= 2
            if granularity <= 0:
                owners = {
                    TOPIC_OF[TEXTS[i]]: n
                    for n, s in enumerate(suggestions)
                    for i in s.member_indices
                }
                for n, s in enumerate(suggestions):
                    assert all(owners[TOPIC_OF[TEXTS[i]]] == n for i in s.member_indices)

    def test_identical_texts_always_together(self) -> None:
        texts = [*TEXTS, "more public funding for AI training of artists!", "  HUBS where "]
        texts += ["Hubs where", "hubs, where?"]
        # Asking for as many clusters as texts must still keep the identical ones together.
        suggestions = suggest_clusters(texts, n_clusters=len(texts))
        assert_partition(suggestions, len(texts))
        by_index = {i: n for n, s in enumerate(suggestions) for i in s.member_indices}
        assert by_index[0] == by_index[len(TEXTS)]
        assert by_index[len(TEXTS) + 1] == by_index[len(TEXTS) + 2] == by_index[len(TEXTS) + 3]

    def test_blank_texts_form_one_group(self) -> None:
        texts = ["", "Funding for AI training", "   ", "?!"]
        suggestions = suggest_clusters(texts)
        assert_partition(suggestions, len(texts))
        assert [0, 2, 3] in [s.member_indices for s in suggestions]

    @pytest.mark.parametrize("count", [1, 2, 3, 5, 8, 15])
    def test_n_clusters_is_honoured(self, count: int) -> None:
        suggestions = suggest_clusters(TEXTS, n_clusters=count)
        assert len(suggestions) == count
        assert_partition(suggestions, len(TEXTS))

    def test_n_clusters_is_capped_by_distinct_texts(self) -> None:
        suggestions = suggest_clusters(["Fund AI", "fund ai", "Regional hubs"], n_clusters=5)
        assert sorted(s.member_indices for s in suggestions) == [[0, 1], [2]]

    def test_granularity_changes_the_count_in_order(self) -> None:
        counts = [len(suggest_clusters(TEXTS, granularity=g)) for g in (-1.0, 0.0, 1.0)]
        assert counts[0] <= counts[1] <= counts[2]
        assert counts[0] < counts[2]

    def test_is_deterministic(self) -> None:
        first = suggest_clusters(TEXTS, categories=DEFAULT_CATEGORIES)
        assert all(suggest_clusters(TEXTS, categories=DEFAULT_CATEGORIES) == first for _ in "ab")

    def test_titles_terms_and_categories(self) -> None:
        suggestions = suggest_clusters(TEXTS, categories=DEFAULT_CATEGORIES)
        for s in suggestions:
            assert 2 <= len(s.title.split()) <= TITLE_MAX_WORDS
            assert s.title[0].isupper()
            assert s.category in DEFAULT_CATEGORIES
            assert s.terms
        by_topic = {TOPIC_OF[TEXTS[s.member_indices[0]]]: s for s in suggestions}
        assert "funding" in by_topic[0].title.lower()
        assert "copyright" in by_topic[1].terms
        assert by_topic[0].category == "Key framework conditions"
        assert by_topic[2].category == "Ecosystem structure"

    def test_no_categories_gives_none(self) -> None:
        assert {s.category for s in suggest_clusters(TEXTS)} == {None}

    def test_not_english_only(self) -> None:
        texts = [
            "Financement public de la formation à l'IA pour les artistes",
            "Un réseau européen de pôles pour les PME créatives",
            "Plus de financement pour la formation des artistes à l'IA",
            "Des pôles régionaux et un réseau pour les PME créatives",
            "Un financement dédié à la formation à l'IA des créateurs",
            "Mise en relation des PME créatives via un réseau de pôles",
        ]
        groups = sorted(s.member_indices for s in suggest_clusters(texts))
        assert groups == [[0, 2, 4], [1, 3, 5]]

    def test_invalid_arguments_are_refused(self) -> None:
        with pytest.raises(ValueError):
            suggest_clusters(TEXTS, n_clusters=0)
        with pytest.raises(ValueError):
            suggest_clusters(TEXTS, granularity=1.5)


class TestNearDuplicates:
    def test_same_text_up_to_case_punctuation_and_spacing(self) -> None:
        texts = ["Fund AI training.", "Regional hubs", "fund  AI   training", "FUND AI TRAINING!!"]
        assert find_near_duplicates(texts) == [[0, 2, 3]]

    def test_near_identical_wording_is_grouped(self) -> None:
        texts = [
            "We need more funding for AI training",
            "Create regional hubs for creative SMEs",
            "we need more funding for AI trainings",
            "Artists don't know how to use AI tools",
            "Artists do not know how to use AI tools",
        ]
        assert find_near_duplicates(texts) == [[0, 2], [3, 4]]

    def test_related_but_different_texts_are_not_grouped(self) -> None:
        texts = [
            "We need more funding for AI training",
            "We need more funding for cultural heritage digitisation",
            "Funding for AI skills training for artists",
            "Training programmes on AI skills for artists",
            "Lack of access to computing power for SMEs",
            "Lack of access to funding for SMEs",
        ]
        assert find_near_duplicates(texts) == []
        assert find_near_duplicates(TEXTS) == []

    def test_threshold_can_be_tightened(self) -> None:
        texts = ["We need more funding for AI training", "we need more funding for AI trainings"]
        assert find_near_duplicates(texts, threshold=0.99) == []
        assert find_near_duplicates(["Fund AI", "fund ai!"], threshold=0.99) == [[0, 1]]

    def test_small_inputs(self) -> None:
        assert find_near_duplicates([]) == []
        assert find_near_duplicates(["only one"]) == []


class TestNearestCluster:
    def test_picks_the_obvious_cluster(self) -> None:
        clusters = [FUNDING, COPYRIGHT, HUBS]
        found = nearest_cluster("Funding for AI training of dancers", clusters)
        assert found is not None and found[0] == 0
        found = nearest_cluster("Copyright of AI generated music", clusters)
        assert found is not None and found[0] == 1
        found = nearest_cluster("Hubs connecting SMEs and developers", [*clusters, ["Tax"]])
        assert found is not None and found[0] == 2
        assert 0.0 < found[1] <= 1.0

    def test_nothing_to_compare_with(self) -> None:
        assert nearest_cluster("Funding for AI", []) is None
        assert nearest_cluster("Funding for AI", [[], [""]]) is None
        assert nearest_cluster("", [FUNDING]) is None

    def test_nothing_similar(self) -> None:
        assert nearest_cluster("xylophone", [FUNDING, COPYRIGHT, HUBS]) is None


class TestSuggestCategory:
    def test_funding_and_regulation_go_to_framework_conditions(self) -> None:
        texts = [
            "More public funding and grants for AI start-ups",
            "Clear regulation of AI and copyright in the creative sector",
            "Tax incentives for cultural organisations that invest in AI",
        ]
        assert suggest_category(texts, DEFAULT_CATEGORIES) == "Key framework conditions"

    def test_each_default_category_has_its_texts(self) -> None:
        skills = ["AI literacy training for artists", "Upskilling of creative professionals"]
        hubs = ["A network of regional innovation hubs", "Matchmaking platform for SMEs"]
        assert suggest_category(skills, DEFAULT_CATEGORIES) == "AI and sector players"
        assert suggest_category(hubs, DEFAULT_CATEGORIES) == "Ecosystem structure"

    def test_other_languages(self) -> None:
        texts = ["Financement public et subventions pour les PME", "Förderung und Steuern"]
        assert suggest_category(texts, DEFAULT_CATEGORIES) == "Key framework conditions"
        texts = ["Un réseau de plateformes de collaboration"]
        assert suggest_category(texts, DEFAULT_CATEGORIES) == "Ecosystem structure"

    def test_custom_categories_match_on_their_names(self) -> None:
        categories = ["Education", "Funding", "Networking"]
        assert suggest_category(["Fund more AI projects"], categories) == "Funding"
        assert suggest_category(["Networks of artists"], categories) == "Networking"
        assert suggest_category(["Educate children about AI"], categories) == "Education"

    def test_falls_back_to_the_first_category(self) -> None:
        assert suggest_category(["Lorem ipsum"], ["Alpha", "Beta"]) == "Alpha"
        assert suggest_category(["Funding"], []) is None


class TestEmbedders:
    def test_default_rows_are_normalised_and_similar_texts_close(self) -> None:
        vectors = TfidfEmbedder().embed(["Fund AI training", "Funding AI training", "Hubs", ""])
        norms = np.linalg.norm(vectors, axis=1)
        assert np.allclose(norms[:3], 1.0) and norms[3] == 0.0
        assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]

    def test_engine_names(self) -> None:
        assert isinstance(get_embedder(None), HybridEmbedder)
        assert isinstance(get_embedder("default"), HybridEmbedder)
        assert isinstance(get_embedder("hybrid"), HybridEmbedder)
        assert isinstance(get_embedder("semantic"), SemanticEmbedder)
        assert isinstance(get_embedder(" TFIDF "), TfidfEmbedder)
        with pytest.raises(ValueError, match="Unknown clustering engine"):
            get_embedder("magic")
        assert uses_model(None) and uses_model("semantic") and uses_model("hybrid")
        assert not uses_model("tfidf") and not uses_model("magic")

    @pytest.mark.parametrize("engine", ["tfidf", "semantic", "hybrid"])
    def test_every_engine_finds_the_topics(self, engine: str) -> None:
        suggestions = suggest_clusters(TEXTS, engine=engine)
        assert sorted(map(sorted, groups_of(suggestions, TEXTS))) == [[0], [1], [2]]

    def test_semantic_rows_are_unit_and_mean_alike_across_languages(self) -> None:
        texts = ["Funding for AI training", "Financement de la formation à l'IA", "Hubs", ""]
        vectors = SemanticEmbedder().embed(texts)
        norms = np.linalg.norm(vectors, axis=1)
        assert np.allclose(norms[:3], 1.0, atol=1e-5) and norms[3] == 0.0
        assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2

    def test_known_vectors_are_used_instead_of_the_model(self) -> None:
        marker = np.zeros(SEMANTIC_DIMENSIONS, dtype=np.float32)
        marker[7] = 1.0
        vectors = SemanticEmbedder({"Funding": marker}).embed(["Funding", "Hubs"])
        assert vectors[0][7] == 1.0 and vectors[0].sum() == 1.0
        assert vectors[1][7] != 1.0

    def test_a_language_the_model_lacks_gets_no_semantic_row(self) -> None:
        finnish = "Rahoitusta tekoälykoulutukseen taiteilijoille ja luoville yrityksille"
        assert not is_covered(finnish)
        assert is_covered("AI for SMEs")  # too short to tell: the model reads it
        assert not SemanticEmbedder().embed([finnish]).any()
        # The hybrid engine still compares it by its wording.
        vectors = HybridEmbedder().embed([finnish, finnish.replace("ja", "sekä"), "Hubs"])
        assert vectors[0] @ vectors[1] > 0.5 > vectors[0] @ vectors[2]

    def test_text_key_ignores_case_accents_punctuation_and_spacing(self) -> None:
        assert text_key("  Régulation, de l'IA! ") == text_key("regulation de l'ia")


def _shuffled(groups: list[list[str]], seed: int = 1) -> tuple[list[str], list[int]]:
    texts = [t for group in groups for t in group]
    truth = [n for n, group in enumerate(groups) for _ in group]
    order = list(range(len(texts)))
    random.Random(seed).shuffle(order)
    return [texts[i] for i in order], [truth[i] for i in order]


def _labels(suggestions: list[Suggestion], size: int) -> list[int]:
    labels = [0] * size
    for number, suggestion in enumerate(suggestions):
        for i in suggestion.member_indices:
            labels[i] = number
    return labels


class TestAcrossLanguages:
    def test_translations_of_one_idea_are_suggested_together(self) -> None:
        # Three ideas, each in English, French, German, Italian and Polish.
        texts, truth = _shuffled(PARALLEL)
        suggestions = suggest_clusters(texts, categories=DEFAULT_CATEGORIES)
        assert sorted(sorted(truth[i] for i in s.member_indices) for s in suggestions) == [
            [n] * 5 for n in range(3)
        ]

    def test_the_character_engine_alone_cannot(self) -> None:
        # What the semantic model brings: the n-gram engine alone, with only shared letters
        # (cognates such as "regional", "AI"), gets part of the grouping (measured ARI 0.71).
        texts, truth = _shuffled(PARALLEL)
        labels = _labels(suggest_clusters(texts, engine="tfidf"), len(texts))
        assert adjusted_rand_score(truth, labels) < 0.9


class TestRealLabShape:
    """A challenge of 14 notes that the facilitators grouped into 6 solutions, and one of 8
    in 3, all sharing the lab's vocabulary (the case that got 2 clusters each before)."""

    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_the_count_is_one_a_facilitator_would_start_from(self, seed: int) -> None:
        texts, _ = _shuffled(CHALLENGE_SMES, seed)
        assert 3 <= len(suggest_clusters(texts)) <= 8
        # "More, smaller" reaches the facilitators' 6 and more; "fewer, larger" fewer.
        assert len(suggest_clusters(texts, granularity=1.0)) >= 6
        assert len(suggest_clusters(texts, granularity=-1.0)) < len(suggest_clusters(texts))
        texts, _ = _shuffled(CHALLENGE_TRUST, seed)
        assert 2 <= len(suggest_clusters(texts)) <= 4

    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_more_smaller_on_fourteen_notes_gives_at_least_six(self, seed: int) -> None:
        # The board's "More, smaller clusters" step is granularity 0.5.
        texts, _ = _shuffled(CHALLENGE_SMES, seed)
        assert len(texts) == 14
        assert len(suggest_clusters(texts, granularity=0.5)) >= 6
        assert len(suggest_clusters(texts)) > 2

    def test_the_grouping_is_better_than_chance(self) -> None:
        # Measured: ARI 0.16 (14 notes) and 0.56 (8 notes) here; before, −0.03 and 0.11.
        for groups, floor in ((CHALLENGE_SMES, 0.05), (CHALLENGE_TRUST, 0.3)):
            texts, truth = _shuffled(groups)
            labels = _labels(suggest_clusters(texts), len(texts))
            assert adjusted_rand_score(truth, labels) > floor

    def test_titles_are_phrases_of_the_notes_not_keyword_bags(self) -> None:
        texts, _ = _shuffled(CHALLENGE_SMES)
        for suggestion in suggest_clusters(texts):
            members = [texts[i] for i in suggestion.member_indices]
            assert 2 <= len(suggestion.title.split()) <= TITLE_MAX_WORDS
            # The title is a stretch of one member's own wording.
            assert any(
                suggestion.title.lower() in m.lower() or suggestion.title[1:] in m for m in members
            )


class TestTitles:
    def test_the_opening_of_a_gap_statement_is_left_out(self) -> None:
        texts = [
            "We need more funding for AI training of artists",
            "More funding for AI training of artists",
            "Lack of funding for AI training of artists.",
        ]
        [only] = suggest_clusters(texts, n_clusters=1)
        assert only.title == "More funding for AI training of artists"

    def test_the_title_comes_from_the_most_representative_note(self) -> None:
        # Listed first, the note that differs most from the rest does not name the cluster:
        # the medoid (highest mean similarity to the others) does.
        texts = [
            "Tax breaks for galleries",
            "Public funding for AI training of artists",
            "Public funding for AI training of musicians",
            "Public funding for AI courses for artists",
        ]
        [only] = suggest_clusters(texts, n_clusters=1)
        assert only.title in {
            "Public funding for AI training of artists",
            "Public funding for AI training of musicians",
            "Public funding for AI courses for artists",
        }

    def test_a_long_note_is_cut_before_a_phrase_that_does_not_fit(self) -> None:
        [only] = suggest_clusters(["GPU compute is too expensive for small creative studios"])
        assert only.title == "GPU compute is too expensive"
        # … unless that leaves too little of it: then at the most words a title has.
        text = "Short courses on AI for theatre and studio technicians are missing"
        assert suggest_clusters([text])[0].title == "Short courses on AI for theatre and studio"
        text = "Art schools do not teach how generative models work"
        assert suggest_clusters([text])[0].title == "Art schools do not teach"

    def test_a_long_note_is_cut_before_its_subordinate_clause(self) -> None:
        text = "Upskilling programmes for creative professionals so they can work with AI tools"
        [only] = suggest_clusters([text])
        assert only.title == "Upskilling programmes for creative professionals"


class TestCategoryConfidence:
    def test_a_clear_group_gets_a_category_and_a_confidence(self) -> None:
        category, confidence = rate_categories(COPYRIGHT, DEFAULT_CATEGORIES)
        assert category == "Key framework conditions"
        assert confidence is not None and confidence >= 0.5

    def test_an_unclear_group_gets_none_but_a_confidence(self) -> None:
        category, confidence = rate_categories(["Lorem ipsum dolor"], ["Alpha", "Beta"])
        assert category is None and confidence == 0.0
        assert rate_categories(["Funding"], []) == (None, None)

    def test_names_that_say_nothing_get_no_category(self) -> None:
        # Names with no meaning: the model's best match is a guess, so none is suggested.
        texts = ["Creators are not paid when their works train AI models"]
        vectors = SemanticEmbedder().embed(texts).astype(float)
        category, confidence = rate_categories(
            texts, ["Pillar A", "Pillar B", "Pillar C"], vectors=vectors
        )
        assert category is None and confidence is not None and confidence < 0.5

    def test_descriptions_reach_the_suggestions(self) -> None:
        texts = [
            "Creators are not paid when their works train AI models",
            "Remuneration for creators whose works train AI models is missing",
        ]
        names = ["Pillar A", "Pillar B", "Pillar C"]
        [plain] = suggest_clusters(texts, categories=names, n_clusters=1)
        assert plain.category is None
        described = {"Pillar B": "Fair pay, copyright and remuneration of artists"}
        [guided] = suggest_clusters(
            texts, categories=names, n_clusters=1, category_descriptions=described
        )
        assert guided.category == "Pillar B"
        assert guided.category_confidence is not None and guided.category_confidence >= 0.5

    def test_a_description_decides_between_custom_categories(self) -> None:
        texts = ["Artists should be paid when museums show their work online"]
        vectors = SemanticEmbedder().embed(texts).astype(float)
        names = ["Pillar A", "Pillar B"]
        pay, compute = "Fair pay and income of artists", "Access to computing power and data"
        described = {"Pillar A": compute, "Pillar B": pay}
        assert rate_categories(texts, names, descriptions=described, vectors=vectors)[0] == (
            "Pillar B"
        )
        swapped = {"Pillar A": pay, "Pillar B": compute}
        assert rate_categories(texts, names, descriptions=swapped, vectors=vectors)[0] == (
            "Pillar A"
        )


SAMPLE = Path(__file__).parent / "data/banking77_workshop_draws.csv"


@pytest.fixture(scope="module")
def workshop_draws() -> tuple[list[tuple[list[str], list[int]]], dict[str, np.ndarray]]:
    """16 fixed workshop-shaped draws of held-out BANKING77 intents (tests/clustering/data),
    and their texts' semantic vectors, computed once (as stored for contributions)."""
    draws: dict[int, tuple[list[str], list[int]]] = {}
    with SAMPLE.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            texts, truth = draws.setdefault(int(row["draw"]), ([], []))
            texts.append(row["text"])
            truth.append(int(row["label"]))
    every = sorted({t for texts, _ in draws.values() for t in texts})
    known = dict(zip(every, SemanticEmbedder().embed(every), strict=True))
    return [draws[d] for d in sorted(draws)], known


class TestWorkshopQuality:
    """The default engine on draws shaped like one challenge of a real lab (3–10 groups of
    2–6 notes, count unknown), from intents never used for tuning."""

    def test_the_grouping_matches_the_labels(self, workshop_draws) -> None:  # type: ignore[no-untyped-def]
        draws, known = workshop_draws
        scores = [
            adjusted_rand_score(
                truth, _labels(suggest_clusters(texts, known_vectors=known), len(texts))
            )
            for texts, truth in draws
        ]
        # Measured on these 16 draws: median 0.73, mean 0.75 (the previous method: 0.75 and
        # 0.72; on bench/clustering.py's 40 draws of the same shape, 0.78 against 0.72).
        assert statistics.median(scores) >= 0.7

    def test_the_count_is_near_the_true_one(self, workshop_draws) -> None:  # type: ignore[no-untyped-def]
        draws, known = workshop_draws
        ratios = [
            len(suggest_clusters(texts, known_vectors=known)) / len(set(truth))
            for texts, truth in draws
        ]
        # Measured: 1.0–1.7 times the true count, 1.17 on average (a facilitator merges
        # more easily than splits).
        assert 0.9 <= statistics.mean(ratios) <= 1.4
        assert min(ratios) >= 0.75
