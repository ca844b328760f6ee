"""Scatter labels never overlap each other or the points; crowded points get a number."""

from __future__ import annotations

import itertools
import random

from peakend.views.labels import CHAR_WIDTH, Placement, Point, place_labels


def _box(point: Point, placed: Placement, font: float = 10.0) -> tuple[float, ...]:
    width, height = CHAR_WIDTH * font * len(placed.text), 1.2 * font
    left = point.x + placed.dx - {"left": 0.0, "right": width, "center": width / 2}[placed.align]
    return left, point.y + placed.dy - height, left + width, point.y + placed.dy


def _apart(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_fourteen_points_around_the_origin_get_labels_that_do_not_overlap() -> None:
    rng = random.Random(3)
    points = [
        Point(320 + rng.uniform(-90, 90), 180 + rng.uniform(-40, 40), 8.0, f"Touchpoint {i}")
        for i in range(14)
    ]
    placed = place_labels(points, 640, 360)
    boxes = [_box(p, q) for p, q in zip(points, placed, strict=True)]
    named = [b for b, q in zip(boxes, placed, strict=True) if not q.numbered]
    assert all(_apart(a, b) for a, b in itertools.combinations(named, 2))
    assert len(named) >= 7  # at least half keep their name; the rest are numbered
    numbers = sorted(int(q.text) for q in placed if q.numbered)
    assert numbers == list(range(1, len(numbers) + 1))


def test_a_lone_point_is_labelled_to_its_right() -> None:
    (placed,) = place_labels([Point(100, 100, 5, "Installation")], 640, 360)
    assert placed.align == "left" and placed.dx > 5 and not placed.numbered
