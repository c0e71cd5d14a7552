"""Pareto dominance over several objectives: fronts, NSGA-II's sorting and crowding, and the
hypervolume a front dominates.

Points are tuples of objective values with a direction each ("max" or "min"); every function
first turns them into maximised values (`oriented`), so that one comparison serves all.

Example:
    >>> points = [(0.9, 300), (0.8, 100), (0.7, 200), (0.9, 400)]
    >>> pareto_indices(points, ("max", "min"))
    [0, 1]
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = [
    "crowding_distance",
    "dominates",
    "hypervolume",
    "non_dominated_sort",
    "oriented",
    "pareto_indices",
]

Point = Sequence[float]


def oriented(points: Sequence[Point], directions: Sequence[str]) -> list[tuple[float, ...]]:
    """`points` with every minimised objective negated: all are maximised after this."""
    signs = [1.0 if d == "max" else -1.0 for d in directions]
    return [tuple(s * float(v) for s, v in zip(signs, p, strict=True)) for p in points]


def dominates(a: Point, b: Point) -> bool:
    """Whether maximised point `a` is at least as good as `b` everywhere and better once."""
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(
        x > y for x, y in zip(a, b, strict=True)
    )


def pareto_indices(points: Sequence[Point], directions: Sequence[str]) -> list[int]:
    """Indices, in order, of the points no other point dominates (ties all stay). In
    lexicographically descending order a point's dominators all come before it, and one that
    is dominated is dominated by a point of the front too, so each point is compared with the
    front found so far only: fast for many points with a small front (all 15,625 cells of
    NAS-Bench-201)."""
    values = oriented(points, directions)
    front: list[int] = []
    for i in sorted(range(len(values)), key=lambda i: values[i], reverse=True):
        if not any(dominates(values[j], values[i]) for j in front):
            front.append(i)
    return sorted(front)


def non_dominated_sort(points: Sequence[Point], directions: Sequence[str]) -> list[list[int]]:
    """NSGA-II's fronts (Deb et al., 2002): the indices of the non-dominated points, then of
    those only the first front dominates, and so on; each front in index order."""
    values = oriented(points, directions)
    count = len(values)
    beaten_by = [0] * count
    beats: list[list[int]] = [[] for _ in range(count)]
    for i in range(count):
        for j in range(i + 1, count):
            if dominates(values[i], values[j]):
                beats[i].append(j)
                beaten_by[j] += 1
            elif dominates(values[j], values[i]):
                beats[j].append(i)
                beaten_by[i] += 1
    fronts: list[list[int]] = []
    current = [i for i in range(count) if beaten_by[i] == 0]
    while current:
        fronts.append(current)
        following = []
        for i in current:
            for j in beats[i]:
                beaten_by[j] -= 1
                if beaten_by[j] == 0:
                    following.append(j)
        current = sorted(following)
    return fronts


def crowding_distance(points: Sequence[Point]) -> list[float]:
    """NSGA-II's crowding distance of each point of one front: the sum over objectives of the
    gap between its two neighbours, relative to the front's range; the extremes of every
    objective get infinity, so that a front's ends are always kept. An objective with no
    finite range (all equal, or infinite values) adds nothing."""
    count = len(points)
    distance = [0.0] * count
    if count == 0:
        return distance
    for k in range(len(points[0])):
        order = sorted(range(count), key=lambda i: points[i][k])
        low, high = points[order[0]][k], points[order[-1]][k]
        distance[order[0]] = distance[order[-1]] = math.inf
        span = high - low
        if not math.isfinite(span) or span <= 0:
            continue
        for rank in range(1, count - 1):
            gap = points[order[rank + 1]][k] - points[order[rank - 1]][k]
            distance[order[rank]] += gap / span
    return distance


def hypervolume(points: Sequence[Point], reference: Point, directions: Sequence[str]) -> float:
    """The volume dominated by `points` and bounded by `reference` (a point every objective
    of which is worse than any that counts: points not strictly better than it everywhere
    add nothing). Exact: a sweep in two objectives, slices along the first above that (time
    O(n^(d-1) log n)), fine for the few hundred points of a front in two to four objectives."""
    ref = oriented([reference], directions)[0]
    values = [p for p in oriented(points, directions) if all(x > r for x, r in zip(p, ref))]
    return _volume(values, ref)


def _volume(points: list[tuple[float, ...]], ref: tuple[float, ...]) -> float:
    """The volume of maximised `points` (all strictly above `ref`) down to `ref`: a sweep in
    two dimensions, slices along the first objective above that."""
    if not points:
        return 0.0
    if len(ref) == 1:
        return max(p[0] for p in points) - ref[0]
    ordered = sorted(points, key=lambda p: p[0], reverse=True)
    if len(ref) == 2:
        total, best = 0.0, ref[1]
        for index, point in enumerate(ordered):
            best = max(best, point[1])
            below = ordered[index + 1][0] if index + 1 < len(ordered) else ref[0]
            total += (point[0] - below) * (best - ref[1])
        return total
    total = 0.0
    for index, point in enumerate(ordered):
        below = ordered[index + 1][0] if index + 1 < len(ordered) else ref[0]
        if point[0] > below:
            slab = [p[1:] for p in ordered[: index + 1]]
            total += (point[0] - below) * _volume(slab, ref[1:])
    return total
