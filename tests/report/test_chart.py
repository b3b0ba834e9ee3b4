"""The matrix chart: labelled axes, no overlapping markers, SVG and PNG from one layout."""

import io
import itertools
import math

from PIL import Image

from app.report.chart import Marker, Text, matrix_scene, to_png, to_svg
from app.report.model import CategorySection, ChallengeSection, Recommendation

CATEGORIES = ["AI and sector players", "Ecosystem structure", "Key framework conditions"]


def recommendation(
    i: int, mean: float | None, level: str | None, agreement: float
) -> Recommendation:
    return Recommendation(
        id=i,
        challenge_id=1,
        challenge_number=1,
        rank=i,
        title=f"Recommendation number {i}",
        description="",
        category=CATEGORIES[i % 3],
        position=i,
        ratings=0 if mean is None else 10,
        relevance_mean=mean,
        relevance_median=mean,
        relevance_sd=None,
        agreement=agreement,
        policy_levels={},
        policy_level=level,
        relevance_counts={},
        contested=agreement < 0.5,
        minority_view=None,
        level_note=None,
        contributions=[],
        contribution_count=0,
        origin="manual",
        edited=None,
        suggested_title=None,
        suggested_contribution_ids=None,
        accepted_at=None,
    )


def section(recs: list[Recommendation]) -> ChallengeSection:
    return ChallengeSection(
        id=1,
        number=1,
        position=0,
        title="Skills",
        description="",
        questions=[],
        recommendations=recs,
        categories=[CategorySection(c, []) for c in CATEGORIES],
        contributions=[],
        unclustered=[],
        contribution_count=0,
        rating_count=0,
    )


def crowded() -> ChallengeSection:
    # Forty recommendations, most of them at almost the same mean in the same row.
    recs = [recommendation(i + 1, 4.0 + (i % 5) * 0.02, "eu", 0.8) for i in range(30)]
    recs += [recommendation(i + 31, 1 + i * 0.4, "national", 0.3) for i in range(10)]
    recs.append(recommendation(41, None, None, 1.0))
    return section(recs)


def test_no_two_markers_overlap_even_when_crowded() -> None:
    scene = matrix_scene(crowded(), CATEGORIES)
    assert scene is not None
    markers = [m for m in scene.items if isinstance(m, Marker) and m.text]
    assert len(markers) == 40  # the unrated one is left out
    for a, b in itertools.combinations(markers, 2):
        assert math.hypot(a.cx - b.cx, a.cy - b.cy) >= 2 * a.r, (a.text, b.text)
    assert all(m.cy - m.r >= 0 and m.cy + m.r <= scene.height for m in markers)


def test_axes_are_labelled_and_unrated_charts_are_absent() -> None:
    scene = matrix_scene(crowded(), CATEGORIES)
    assert scene is not None
    texts = {t.text for t in scene.items if isinstance(t, Text)}
    assert {"EU", "National", "Local & regional", "1", "5", "Essential"} <= texts
    assert "Mean relevance (1 = not relevant, 5 = essential)" in texts
    assert "Contested" in texts  # legend for the dashed outline: the vocabulary's word
    assert "Participants disagreed" not in texts
    assert "1 recommendation not yet rated is not shown." in scene.description
    assert matrix_scene(section([recommendation(1, None, None, 1.0)]), CATEGORIES) is None


def test_svg_and_png_render_the_same_scene() -> None:
    scene = matrix_scene(crowded(), CATEGORIES)
    assert scene is not None
    svg = to_svg(scene, "chart-1")
    assert svg.startswith("<svg") and 'role="img"' in svg and '<title id="chart-1-title">' in svg
    assert "<style" not in svg  # the page CSP allows no inline style elements
    image = Image.open(io.BytesIO(to_png(scene)))
    assert image.format == "PNG"
    assert image.size == (math.ceil(scene.width * 2), math.ceil(scene.height * 2))
    # Black-and-white legibility: the markers carry dark outlines on a light fill.
    assert image.convert("L").getextrema()[0] < 60


def test_points_carry_ranks_and_no_title_is_cut_in_the_chart() -> None:
    """Titles are never drawn in the chart (a title cut to fit read “An…”): each point
    carries its rank, and the key beside the chart gives the full title."""
    scene = matrix_scene(crowded(), CATEGORIES)
    assert scene is not None
    ranks = sorted(int(m.text) for m in scene.items if isinstance(m, Marker) and m.text)
    assert ranks == list(range(1, 41))
    texts = [t.text for t in scene.items if isinstance(t, Text)]
    assert not any("…" in text for text in texts)
    assert not any(text.startswith("Recommendation") for text in texts)


def test_row_labels_fit_in_a_language_with_long_level_names() -> None:
    from app.i18n import use_language
    from app.report.chart import text_width

    with use_language("el"):
        scene = matrix_scene(crowded(), CATEGORIES)
    assert scene is not None
    ends = [t for t in scene.items if isinstance(t, Text) and t.anchor == "end"]
    assert any(t.text == "Τοπικό και περιφερειακό" for t in ends)
    for t in ends:
        assert t.x - text_width(t.text, t.size, t.bold) >= 0, t.text
