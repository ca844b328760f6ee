"""Labels beside the points of a scatter chart that do not overlap each other or the points.

Vega-Lite places a text mark at a fixed offset from its point, so with a dozen
or more points near each other (the airline survey's 14 touchpoints around the
origin of the moment matrix) names are drawn over each other. Here each label
is placed in pixel space before the chart is built: points far from the crowd
first, each label at the first of several positions around its point (right,
left, above, below) whose box overlaps no label placed so far, no point and
stays inside the plot. A point with no free position gets a short number
instead of its name, and the chart lists the numbers with their names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Width of one character as a share of the font size (a sans-serif average, a little generous).
CHAR_WIDTH = 0.62
#: Gap between a point's edge and its label, in pixels.
GAP = 4.0


@dataclass(frozen=True)
class Point:
    """A point in pixels (y down, as drawn) with its radius and the label it wants."""

    x: float
    y: float
    radius: float
    label: str


@dataclass(frozen=True)
class Placement:
    """Where a label goes: its text, anchor offset in pixels and horizontal alignment."""

    text: str
    dx: float
    dy: float
    align: str
    numbered: bool


@dataclass(frozen=True)
class _Box:
    left: float
    top: float
    right: float
    bottom: float

    def overlaps(self, other: _Box) -> bool:
        return not (
            self.right <= other.left
            or other.right <= self.left
            or self.bottom <= other.top
            or other.bottom <= self.top
        )

    def hits_circle(self, x: float, y: float, radius: float) -> bool:
        nearest_x = min(max(x, self.left), self.right)
        nearest_y = min(max(y, self.top), self.bottom)
        return math.hypot(nearest_x - x, nearest_y - y) < radius


def place_labels(
    points: Sequence[Point], width: float, height: float, font_size: float = 10.0
) -> list[Placement]:
    """One placement per point, in the order of ``points`` (see the module docs)."""
    centre_x = sum(p.x for p in points) / max(len(points), 1)
    centre_y = sum(p.y for p in points) / max(len(points), 1)
    order = sorted(
        range(len(points)),
        key=lambda i: -math.hypot(points[i].x - centre_x, points[i].y - centre_y),
    )
    taken: list[_Box] = []
    placed: dict[int, Placement] = {}
    numbers = 0
    for i in order:
        found = _first_free(points[i], points, taken, width, height, font_size, points[i].label)
        if found is None:
            numbers += 1
            short = str(numbers)
            found = _first_free(points[i], points, taken, width, height, font_size, short)
            found = found or (_candidates(points[i], short, font_size)[0])
            placed[i] = Placement(short, found[0].dx, found[0].dy, found[0].align, True)
        else:
            placed[i] = found[0]
        taken.append(found[1])
    return [placed[i] for i in range(len(points))]


def _first_free(
    point: Point,
    points: Sequence[Point],
    taken: list[_Box],
    width: float,
    height: float,
    font_size: float,
    label: str,
) -> tuple[Placement, _Box] | None:
    for placement, box in _candidates(point, label, font_size):
        inside = box.left >= 0 and box.right <= width and box.top >= 0 and box.bottom <= height
        if not inside or any(box.overlaps(t) for t in taken):
            continue
        if any(box.hits_circle(p.x, p.y, p.radius) for p in points):
            continue
        return placement, box
    return None


def _candidates(point: Point, label: str, font_size: float) -> list[tuple[Placement, _Box]]:
    """Positions around ``point``: right, left, above, below, then a step further out."""
    text_w = CHAR_WIDTH * font_size * len(label)
    text_h = 1.2 * font_size
    r = point.radius + GAP
    offsets = [
        (r, -0.35 * text_h, "left"),
        (r, 0.75 * text_h, "left"),
        (-r, -0.35 * text_h, "right"),
        (-r, 0.75 * text_h, "right"),
        (0.0, -r, "center"),
        (0.0, r + text_h, "center"),
        (r, -1.2 * text_h, "left"),
        (r, 1.6 * text_h, "left"),
        (-r, -1.2 * text_h, "right"),
        (-r, 1.6 * text_h, "right"),
    ]
    out = []
    for dx, dy, align in offsets:
        # dy is the text baseline; the box spans one line above it
        left = {"left": dx, "right": dx - text_w, "center": dx - text_w / 2}[align]
        box = _Box(point.x + left, point.y + dy - text_h, point.x + left + text_w, point.y + dy)
        out.append((Placement(label, dx, dy, align, False), box))
    return out
