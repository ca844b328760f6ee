"""Bubbles that would cover each other, pushed apart just enough to see both.

Two touchpoints with almost the same penalty and reward (the airline survey's
gate location and baggage handling lie 0.2 points apart) are drawn as one
bubble on top of another: the reader sees one touchpoint where there are two.
Here overlapping circles are moved apart in pixel space, each by half the
overlap along the line between their centres (sideways, in a fixed direction,
when they coincide), a few rounds until none overlaps, and kept inside the
plot. There is no randomness: the same data give the same picture. The chart
keeps the exact value visible (a dot with the intervals and a thin line to the
moved bubble), so nothing is misread; a bubble that overlaps nothing stays
where it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Space left between two dodged bubbles, in pixels.
GAP = 1.5
#: Rounds of pushing apart; a handful of crowded points settle in a few.
ROUNDS = 60


@dataclass(frozen=True)
class Bubble:
    """A circle in pixels (y down, as drawn)."""

    x: float
    y: float
    radius: float


def dodge(bubbles: Sequence[Bubble], width: float, height: float) -> list[Bubble]:
    """``bubbles`` moved apart so that no two overlap, in the same order (see module docs)."""
    xs = [b.x for b in bubbles]
    ys = [b.y for b in bubbles]
    radii = [b.radius for b in bubbles]
    for _ in range(ROUNDS):
        if not _push_apart(xs, ys, radii):
            break
        for i, r in enumerate(radii):
            xs[i] = min(max(xs[i], r), width - r) if width > 2 * r else xs[i]
            ys[i] = min(max(ys[i], r), height - r) if height > 2 * r else ys[i]
    return [Bubble(x, y, r) for x, y, r in zip(xs, ys, radii, strict=True)]


def _push_apart(xs: list[float], ys: list[float], radii: list[float]) -> bool:
    """One round over every pair; True when some pair overlapped (and was moved)."""
    moved = False
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            dx, dy = xs[j] - xs[i], ys[j] - ys[i]
            distance = math.hypot(dx, dy)
            needed = radii[i] + radii[j] + GAP
            if distance >= needed - 1e-9:
                continue
            if distance < 1e-9:  # the same place: side by side, the later one to the right
                dx, dy, distance = 1.0, 0.0, 1.0
            push = (needed - distance) / 2
            ux, uy = dx / distance, dy / distance
            xs[i], ys[i] = xs[i] - ux * push, ys[i] - uy * push
            xs[j], ys[j] = xs[j] + ux * push, ys[j] + uy * push
            moved = True
    return moved


def overlapping(bubbles: Sequence[Bubble]) -> list[tuple[int, int]]:
    """The pairs of ``bubbles`` that cover each other (by more than a rounding error)."""
    return [
        (i, j)
        for i in range(len(bubbles))
        for j in range(i + 1, len(bubbles))
        if math.hypot(bubbles[i].x - bubbles[j].x, bubbles[i].y - bubbles[j].y)
        < bubbles[i].radius + bubbles[j].radius - 1e-6
    ]
