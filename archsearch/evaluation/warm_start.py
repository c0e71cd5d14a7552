"""Proxy warm start: pre-rank many random architectures by a zero-cost proxy, so that a search
of any strategy begins from the best-scored ones.

`warm_start_queue` draws `pool` distinct random architectures of the space (seeded), scores
each with a `ProxyEvaluator` (seconds each, no training), and returns the `top` best, best
first; `Strategy.warm_start` queues them ahead of the strategy's own proposals, and the strategy
learns from their real results through `tell` like from any other. `archsearch search
--warm-start N` does this before the first trial (`run.py`); the queue is part of the
strategy's state, so a resumed search continues it.
"""

from __future__ import annotations

import math
import random
import time
from typing import Any, TextIO

from archsearch.data.dataset import Dataset
from archsearch.errors import UsageError
from archsearch.evaluation.base import Context
from archsearch.evaluation.proxies import PROXY_NAMES, ProxyEvaluator
from archsearch.spaces.base import Architecture, Space
from archsearch.strategies.base import Strategy

__all__ = [
    "PROXY_NAMES",
    "check_warm_start",
    "distinct_samples",
    "warm_start_queue",
    "warm_start_strategy",
]

#: Draws per wanted architecture before a small space is taken to be exhausted.
ATTEMPTS = 20


def distinct_samples(space: Space, count: int, rng: random.Random) -> list[Architecture]:
    """Up to `count` distinct uniform samples of `space` (fewer in a space that small)."""
    found: dict[str, Architecture] = {}
    for _ in range(ATTEMPTS * count):
        if len(found) >= count:
            break
        arch = space.sample(rng)
        found.setdefault(arch.hash, arch)
    return list(found.values())


def warm_start_queue(
    context: Context, top: int, pool: int, seed: int = 0, **proxy_options: Any
) -> list[Architecture]:
    """The `top` best of `pool` random architectures by the proxy (`ProxyEvaluator` options,
    e.g. proxy="naswot"), best first; architectures the proxy cannot score are left out.
    Deterministic for `seed`. `ValueError` if the proxy can score none of them (a proxy made
    for another task), saying why."""
    if not 1 <= top <= pool:
        raise ValueError(f"a warm start needs 1 <= top <= pool, got top {top}, pool {pool}")
    evaluator = ProxyEvaluator(context, **proxy_options)
    scored: list[tuple[float, int, Architecture]] = []
    first_error = ""  # why the proxy could not score an architecture, if it could not
    for i, arch in enumerate(distinct_samples(context.space, pool, random.Random(seed))):
        try:
            value = evaluator.score(arch, seed + i)
        except (ValueError, RuntimeError, KeyError) as exc:
            first_error = (
                first_error or f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
            )
            continue
        if not math.isnan(value):
            scored.append((value, i, arch))
    if not scored and first_error:
        raise ValueError(
            f"the {proxy_options.get('proxy', 'default')} proxy could not score any of the "
            f"{pool} architectures ({first_error}); choose another --warm-start-proxy"
        )
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [arch for _, _, arch in scored[:top]]


def check_warm_start(top: int, pool: int, proxy: str) -> None:
    """`UsageError` in one line unless `--warm-start top` of `--warm-start-pool pool` by
    `--warm-start-proxy proxy` is possible (top 0: no warm start, nothing else checked)."""
    if top == 0:
        return
    if top < 0 or pool < top:
        raise UsageError(
            f"--warm-start {top} needs 0 <= N <= --warm-start-pool ({pool}); lower N or raise "
            "the pool"
        )
    if proxy not in PROXY_NAMES:
        raise UsageError(
            f"unknown --warm-start-proxy {proxy!r}; choose one of: {', '.join(PROXY_NAMES)}"
        )


def warm_start_strategy(
    strategy: Any, data: Dataset, top: int, pool: int, proxy: str, seed: int, log: TextIO
) -> None:
    """Queue the `top` best of `pool` architectures by `proxy` into `strategy` (nothing when
    `top` is 0); `UsageError` for a one-shot method, which has no ask/tell queue."""
    if top == 0:
        return
    if not isinstance(strategy, Strategy):
        raise UsageError(
            f"--warm-start needs an ask/tell strategy, not the one-shot method {strategy.name!r}"
        )
    start = time.perf_counter()
    context = Context(strategy.space, data.task, data.without_test())
    try:
        queue = warm_start_queue(context, top, pool, seed, proxy=proxy)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    strategy.warm_start(queue)
    print(
        f"archsearch: warm start: the {len(queue)} of {pool} random architectures {proxy} scores "
        f"best go first ({time.perf_counter() - start:.0f} s to score them)",
        file=log,
    )
