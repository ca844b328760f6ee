"""Bubbles that would cover each other are moved apart, deterministically, inside the plot."""

from __future__ import annotations

import math
import random

from peakend.views.dodge import GAP, Bubble, dodge, overlapping


def test_two_coinciding_bubbles_end_side_by_side() -> None:
    shown = dodge([Bubble(100, 100, 10), Bubble(100, 100, 10)], 640, 360)
    assert overlapping(shown) == []
    assert shown[0].x < shown[1].x and math.isclose(shown[0].y, shown[1].y)
    assert math.isclose(shown[1].x - shown[0].x, 20 + GAP)
    assert math.isclose((shown[0].x + shown[1].x) / 2, 100)  # moved symmetrically


def test_bubbles_that_overlap_nothing_stay_where_they_are() -> None:
    bubbles = [Bubble(50, 50, 10), Bubble(200, 50, 12), Bubble(50, 300, 8)]
    assert dodge(bubbles, 640, 360) == bubbles


def test_a_crowd_is_separated_inside_the_plot_and_the_same_every_time() -> None:
    rng = random.Random(5)
    crowd = [Bubble(320 + rng.uniform(-15, 15), 180 + rng.uniform(-10, 10), 12) for _ in range(14)]
    shown = dodge(crowd, 640, 360)
    assert overlapping(crowd) and overlapping(shown) == []
    assert all(
        b.radius <= b.x <= 640 - b.radius and b.radius <= b.y <= 360 - b.radius for b in shown
    )
    assert dodge(crowd, 640, 360) == shown


def test_a_bubble_at_the_edge_is_kept_inside() -> None:
    shown = dodge([Bubble(5, 100, 10), Bubble(8, 100, 10)], 640, 360)
    assert overlapping(shown) == [] and min(b.x for b in shown) >= 10
