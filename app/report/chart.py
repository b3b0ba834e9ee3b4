"""The relevance × policy-level matrix as a chart: one layout, drawn as SVG or as PNG.

The layout is computed once into a `Scene` of simple shapes; `to_svg` writes it for HTML and
PDF, `to_png` rasterises the same scene with Pillow for DOCX (python-docx cannot embed SVG).
Categories differ by marker shape as well as by tint, contested recommendations have a
dashed outline, so the chart reads in black and white. Markers never overlap: markers that
would collide are stacked within their row, and the row grows to hold them. Each marker
carries the recommendation's rank; titles are never drawn in the chart (a title cut to fit
reads as a different word, “An…”): the key next to the chart (`templates/report/
_chart_key.html`, the DOCX's list) gives every rank its full title.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from app.i18n import _, ngettext, sorted_by_name
from app.report.model import ChallengeSection, Recommendation
from app.vocabulary import LEVEL_LABELS, RELEVANCE_LABELS, contested_label

FONT_FAMILY = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"
FONT_FILES = {
    False: ("DejaVuSans.ttf", "LiberationSans-Regular.ttf"),
    True: ("DejaVuSans-Bold.ttf", "LiberationSans-Bold.ttf"),
}
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/truetype/liberation"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/Library/Fonts"),
)

INK = "#1a1a1a"
MUTED = "#555555"
GRID = "#9a9a9a"
BAND = "#f1f3f5"
RULE = "#c8cdd2"
TINTS = ("#c9dcf0", "#f5d7b0", "#cde8cb", "#e3d2ee", "#f2c9c9", "#e6e0bd")
SHAPES = ("circle", "square", "diamond", "triangle", "hexagon", "triangle_down")
ROWS = ("eu", "national", "local_regional")  # top to bottom
# The scale's words, translated when read (the vocabulary's).
RELEVANCE_WORDS = RELEVANCE_LABELS

WIDTH = 760
LEFT = 124  # at least; wider when a row label needs it (“Τοπικό και περιφερειακό”)
MAX_LEFT = 240
RIGHT = 18
TOP = 28
RADIUS = 10
GAP = 3
STEP = 2 * RADIUS + GAP + 1
MIN_ROW = 60


# --- the scene ----------------------------------------------------------------------------


@dataclass(slots=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str


@dataclass(slots=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str
    width: float = 1.0
    dash: tuple[float, float] | None = None


@dataclass(slots=True)
class Marker:
    shape: str
    cx: float
    cy: float
    r: float
    fill: str
    dashed: bool = False
    text: str = ""


@dataclass(slots=True)
class Text:
    x: float
    y: float
    text: str
    size: float
    anchor: str = "start"  # start | middle | end
    bold: bool = False
    fill: str = INK


@dataclass(slots=True)
class Scene:
    width: float
    height: float
    title: str
    description: str
    items: list[Rect | Line | Marker | Text] = field(default_factory=list)


# --- text metrics --------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _font_path(bold: bool) -> str | None:
    for folder in FONT_DIRS:
        for name in FONT_FILES[bold]:
            if (folder / name).is_file():
                return str(folder / name)
    return None


@lru_cache(maxsize=64)
def _font(size: float, bold: bool):  # type: ignore[no-untyped-def]
    from PIL import ImageFont

    path = _font_path(bold)
    if path is not None:
        return ImageFont.truetype(path, max(1, round(size)))
    return ImageFont.load_default(size=max(1, round(size)))


@lru_cache(maxsize=4096)
def text_width(text: str, size: float, bold: bool = False) -> float:
    """Rendered width of `text` in px at `size`, measured with the font the PNG uses."""
    try:
        return float(_font(100, bold).getlength(text)) * size / 100
    except Exception:  # pragma: no cover - Pillow without FreeType
        return len(text) * size * (0.66 if bold else 0.6)


# --- layout --------------------------------------------------------------------------------


def category_styles(categories: list[str]) -> dict[str, tuple[str, str]]:
    """Category → (shape, tint), in the session's category order."""
    return {
        name: (SHAPES[i % len(SHAPES)], TINTS[(i + i // len(SHAPES)) % len(TINTS)])
        for i, name in enumerate(categories)
    }


def _x_scale(left: float, right: float):  # type: ignore[no-untyped-def]
    lo, hi = 0.72, 5.28

    def scale(value: float) -> float:
        return left + (value - lo) / (hi - lo) * (right - left)

    return scale


def _stack(points: list[tuple[float, Recommendation]]) -> list[tuple[float, int, Recommendation]]:
    """Give each marker a layer (0, −1, +1, −2 …) so no two markers in a row overlap."""
    placed: dict[int, list[float]] = {}
    result = []
    for x, rec in sorted(points, key=lambda p: (p[0], p[1].rank)):
        k = 0
        for step in range(0, 200):
            k = (step + 1) // 2 * (-1 if step % 2 else 1)
            if all(abs(x - other) >= 2 * RADIUS + 2 for other in placed.get(k, [])):
                break
        placed.setdefault(k, []).append(x)
        result.append((x, k, rec))
    return result


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _left_margin() -> float:
    """Room for the longest row label and axis title in the language of the moment."""
    widths = [text_width(LEVEL_LABELS[level], 11, True) for level in ROWS]
    widths += [text_width(_("POLICY LEVEL"), 8.5), text_width(_("CATEGORY"), 8.5)]
    return min(MAX_LEFT, max(float(LEFT), math.ceil(max(widths)) + 18))


def matrix_scene(section: ChallengeSection, categories: list[str]) -> Scene | None:
    """The chart of one challenge's rated recommendations, or None when none is rated."""
    rated = [r for r in section.recommendations if r.rated and r.policy_level in ROWS]
    if not rated:
        return None
    names = list(categories) + sorted_by_name({r.category for r in rated} - set(categories))
    styles = category_styles(names)
    left = _left_margin()
    plot_left, plot_right = left, WIDTH - RIGHT
    x_of = _x_scale(plot_left, plot_right)

    stacked = {
        level: _stack([(x_of(r.relevance_mean or 0), r) for r in rated if r.policy_level == level])
        for level in ROWS
    }
    heights = {}
    for level, markers in stacked.items():
        depth = max((abs(layer) for _x, layer, _rec in markers), default=0)
        heights[level] = max(MIN_ROW, 2 * (depth * STEP + RADIUS + 9))
    plot_top = TOP
    plot_bottom = plot_top + sum(heights.values())

    unrated = section.unrated_count
    description = ngettext(
        "%(num)s rated recommendation of challenge %(number)s placed by mean relevance "
        "(horizontal, 1 to 5) and most chosen policy level (rows: %(levels)s). Numbers are "
        "ranks within the challenge; the key next to the chart gives their titles.",
        "%(num)s rated recommendations of challenge %(number)s placed by mean relevance "
        "(horizontal, 1 to 5) and most chosen policy level (rows: %(levels)s). Numbers are "
        "ranks within the challenge; the key next to the chart gives their titles.",
        len(rated),
        number=section.number,
        levels=", ".join(LEVEL_LABELS[level] for level in ROWS),
    )
    if unrated:
        description += " " + ngettext(
            "%(num)s recommendation not yet rated is not shown.",
            "%(num)s recommendations not yet rated are not shown.",
            unrated,
        )
    scene = Scene(
        width=WIDTH,
        height=0,
        title=_("Relevance × policy-level matrix — %(title)s", title=section.title),
        description=description,
    )
    items = scene.items

    # Row bands and row labels.
    y = plot_top
    centres = {}
    for i, level in enumerate(ROWS):
        h = heights[level]
        items.append(Rect(plot_left, y, plot_right - plot_left, h, BAND if i % 2 == 0 else "#fff"))
        centres[level] = y + h / 2
        items.append(Text(left - 12, y + h / 2 + 4, LEVEL_LABELS[level], 11, "end", bold=True))
        y += h
    # Translators: the axis title of the chart's rows (small capitals in the chart).
    items.append(Text(left - 12, plot_top - 10, _("POLICY LEVEL"), 8.5, "end", fill=MUTED))
    items.append(Line(plot_left, plot_top, plot_right, plot_top, RULE))
    items.append(Line(plot_left, plot_bottom, plot_right, plot_bottom, INK, 1.2))
    for level in ROWS[1:]:
        items.append(
            Line(
                plot_left,
                centres[level] - heights[level] / 2,
                plot_right,
                centres[level] - heights[level] / 2,
                RULE,
            )
        )

    # Grid and the relevance axis.
    for score in range(1, 6):
        gx = x_of(score)
        items.append(Line(gx, plot_top, gx, plot_bottom, GRID, 0.7, (2, 3)))
        items.append(Line(gx, plot_bottom, gx, plot_bottom + 5, INK, 1.0))
        items.append(Text(gx, plot_bottom + 17, str(score), 10.5, "middle", bold=True))
        items.append(Text(gx, plot_bottom + 29, RELEVANCE_WORDS[score], 8.5, "middle", fill=MUTED))
    items.append(
        Text(
            (plot_left + plot_right) / 2,
            plot_bottom + 46,
            _("Mean relevance (1 = not relevant, 5 = essential)"),
            10,
            "middle",
            bold=True,
        )
    )

    # Markers, each with its rank (the key gives the titles).
    for level in ROWS:
        for x, k, rec in stacked[level]:
            cy = centres[level] + k * STEP
            shape, tint = styles[rec.category]
            items.append(Marker(shape, x, cy, RADIUS, tint, rec.contested, str(rec.rank)))

    # Legend.
    legend_top = plot_bottom + 62
    scene.height = _legend(items, names, styles, rated, legend_top, left) + 8
    return scene


def _legend(
    items: list[Rect | Line | Marker | Text],
    names: list[str],
    styles: dict[str, tuple[str, str]],
    rated: list[Recommendation],
    top: float,
    left: float,
) -> float:
    used = [n for n in names if any(r.category == n for r in rated)]
    entries: list[tuple[Marker, str]] = [
        (Marker(styles[n][0], 0, 0, 6.5, styles[n][1]), n) for n in used
    ]
    if any(r.contested for r in rated):
        entries.append((Marker("circle", 0, 0, 6.5, "#fff", dashed=True), contested_label()))
    x, y = float(left), top
    # Translators: the title of the chart's legend of categories (small capitals in the chart).
    items.append(Text(left - 12, y + 4, _("CATEGORY"), 8.5, "end", fill=MUTED))
    for marker, label in entries:
        width = 18 + text_width(label, 9.5) + 18
        if x + width > WIDTH - RIGHT and x > left:
            x, y = float(left), y + 18
        marker.cx, marker.cy = x + 7, y
        items.append(marker)
        items.append(Text(x + 18, y + 3.5, label, 9.5))
        x += width
    y += 18
    items.append(
        Text(
            left,
            y + 3.5,
            _("Numbers are ranks within the challenge: see the key for the titles."),
            8.5,
            fill=MUTED,
        )
    )
    return y + 10


# --- SVG -----------------------------------------------------------------------------------


def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def shape_points(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """The outline of a marker as a polygon (a circle as 36 points)."""
    if shape == "square":
        h = r * 0.88
        return [(cx - h, cy - h), (cx + h, cy - h), (cx + h, cy + h), (cx - h, cy + h)]
    if shape == "diamond":
        d = r * 1.2
        return [(cx, cy - d), (cx + d, cy), (cx, cy + d), (cx - d, cy)]
    if shape in ("triangle", "triangle_down"):
        t = r * 1.3
        sign = 1 if shape == "triangle" else -1
        return [
            (cx + t * math.cos(math.radians(a)), cy - sign * t * math.sin(math.radians(a)))
            for a in (90, 210, 330)
        ]
    if shape == "hexagon":
        h = r * 1.1
        return [
            (cx + h * math.cos(math.radians(a)), cy + h * math.sin(math.radians(a)))
            for a in range(0, 360, 60)
        ]
    return [
        (cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a)))
        for a in range(0, 360, 10)
    ]


def _marker_text_y(marker: Marker) -> float:
    shift = {"triangle": 0.3, "triangle_down": -0.3}.get(marker.shape, 0.0)
    return marker.cy + marker.r * shift


def _marker_text_size(marker: Marker) -> float:
    return 9.0 if len(marker.text) < 3 else 7.5


def to_svg(scene: Scene, element_id: str) -> str:
    """The scene as an inline SVG element (presentation attributes only: no <style>)."""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="matrix-chart" id="{element_id}" '
        f'viewBox="0 0 {_f(scene.width)} {_f(scene.height)}" width="{_f(scene.width)}" '
        f'height="{_f(scene.height)}" role="img" '
        f'aria-labelledby="{element_id}-title {element_id}-desc" '
        f'font-family="{FONT_FAMILY}">',
        f'<title id="{element_id}-title">{escape(scene.title)}</title>',
        f'<desc id="{element_id}-desc">{escape(scene.description)}</desc>',
    ]
    for item in scene.items:
        if isinstance(item, Rect):
            out.append(
                f'<rect x="{_f(item.x)}" y="{_f(item.y)}" width="{_f(item.w)}" '
                f'height="{_f(item.h)}" fill="{item.fill}"/>'
            )
        elif isinstance(item, Line):
            dash = f' stroke-dasharray="{_f(item.dash[0])} {_f(item.dash[1])}"' if item.dash else ""
            out.append(
                f'<line x1="{_f(item.x1)}" y1="{_f(item.y1)}" x2="{_f(item.x2)}" '
                f'y2="{_f(item.y2)}" stroke="{item.stroke}" stroke-width="{_f(item.width)}"'
                f"{dash}/>"
            )
        elif isinstance(item, Marker):
            out.append(_svg_marker(item))
        else:
            weight = ' font-weight="bold"' if item.bold else ""
            out.append(
                f'<text x="{_f(item.x)}" y="{_f(item.y)}" font-size="{_f(item.size)}" '
                f'text-anchor="{item.anchor}" fill="{item.fill}"{weight}>'
                f"{escape(item.text)}</text>"
            )
    out.append("</svg>")
    return "".join(out)


def _svg_marker(m: Marker) -> str:
    stroke = f'stroke="{INK}" stroke-width="{1.6 if m.dashed else 1.1}"'
    if m.dashed:
        stroke += ' stroke-dasharray="3 2"'
    if m.shape == "circle":
        shape = f'<circle cx="{_f(m.cx)}" cy="{_f(m.cy)}" r="{_f(m.r)}" fill="{m.fill}" {stroke}/>'
    else:
        points = " ".join(f"{_f(x)},{_f(y)}" for x, y in shape_points(m.shape, m.cx, m.cy, m.r))
        shape = f'<polygon points="{points}" fill="{m.fill}" {stroke}/>'
    if not m.text:
        return shape
    size = _marker_text_size(m)
    return (
        f'{shape}<text x="{_f(m.cx)}" y="{_f(_marker_text_y(m) + size * 0.36)}" '
        f'font-size="{_f(size)}" font-weight="bold" text-anchor="middle" fill="{INK}">'
        f"{escape(m.text)}</text>"
    )


# --- PNG -----------------------------------------------------------------------------------


def to_png(scene: Scene, scale: float = 2.0) -> bytes:
    """The scene rasterised with Pillow (drawn at twice the size, then reduced, for smooth
    edges)."""
    from PIL import Image, ImageDraw

    oversample = 2
    s = scale * oversample
    image = Image.new("RGB", (math.ceil(scene.width * s), math.ceil(scene.height * s)), "white")
    draw = ImageDraw.Draw(image)
    anchors = {"start": "ls", "middle": "ms", "end": "rs"}
    for item in scene.items:
        if isinstance(item, Rect):
            draw.rectangle(
                [item.x * s, item.y * s, (item.x + item.w) * s, (item.y + item.h) * s],
                fill=item.fill,
            )
        elif isinstance(item, Line):
            points = [(item.x1 * s, item.y1 * s), (item.x2 * s, item.y2 * s)]
            width = max(1, round(item.width * s))
            if item.dash:
                _dashed(draw, points, item.stroke, width, item.dash[0] * s, item.dash[1] * s)
            else:
                draw.line(points, fill=item.stroke, width=width)
        elif isinstance(item, Marker):
            outline = [
                (x * s, y * s) for x, y in shape_points(item.shape, item.cx, item.cy, item.r)
            ]
            draw.polygon(outline, fill=item.fill)
            width = max(1, round((1.6 if item.dashed else 1.1) * s))
            if item.dashed:
                _dashed(draw, [*outline, outline[0]], INK, width, 3 * s, 2 * s)
            else:
                draw.line([*outline, outline[0]], fill=INK, width=width, joint="curve")
            if item.text:
                size = _marker_text_size(item)
                draw.text(
                    (item.cx * s, _marker_text_y(item) * s),
                    item.text,
                    font=_font(size * s, True),
                    fill=INK,
                    anchor="mm",
                )
        else:
            draw.text(
                (item.x * s, item.y * s),
                item.text,
                font=_font(item.size * s, item.bold),
                fill=item.fill,
                anchor=anchors[item.anchor],
            )
    image = image.resize(
        (math.ceil(scene.width * scale), math.ceil(scene.height * scale)), Image.Resampling.LANCZOS
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()


def _dashed(draw, points, fill, width, dash, gap) -> None:  # type: ignore[no-untyped-def]
    """A dashed polyline (Pillow has none)."""
    on, left = True, dash
    for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
        length = math.hypot(x2 - x1, y2 - y1)
        pos = 0.0
        while pos < length:
            step = min(left, length - pos)
            if on:
                a = pos / length
                b = (pos + step) / length
                draw.line(
                    [
                        (x1 + (x2 - x1) * a, y1 + (y2 - y1) * a),
                        (x1 + (x2 - x1) * b, y1 + (y2 - y1) * b),
                    ],
                    fill=fill,
                    width=width,
                )
            pos += step
            left -= step
            if left <= 0:
                on = not on
                left = dash if on else gap


def chart_svg(section: ChallengeSection, categories: list[str]) -> str | None:
    """The challenge's chart as inline SVG, or None when nothing is rated yet."""
    scene = matrix_scene(section, categories)
    return None if scene is None else to_svg(scene, f"matrix-{section.number}")


def chart_png(section: ChallengeSection, categories: list[str]) -> bytes | None:
    """The challenge's chart as PNG, or None when nothing is rated yet."""
    scene = matrix_scene(section, categories)
    return None if scene is None else to_png(scene)
