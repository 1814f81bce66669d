"""How long to wait before trying again: one rule for every retry in the product.

Doubling from a first wait up to a cap, with jitter so that several desktops (or many
queue items) that failed together do not all come back at the same moment.
"""

from __future__ import annotations

from collections.abc import Callable


def backoff_seconds(
    attempt: int,
    *,
    first: float,
    cap: float,
    jitter: tuple[float, float],
    draw: Callable[[], float],
    at_least: float | None = None,
) -> float:
    """Seconds to wait after failed try number ``attempt`` (1 for the first failure).

    ``first * 2 ** (attempt - 1)``, capped at ``cap``, times a factor drawn uniformly from
    ``jitter`` (``draw`` gives a number in [0, 1)), and never more than ``cap``.
    ``at_least`` (the provider's Retry-After) raises the wait, up to ``cap``."""
    ceiling = min(cap, first * 2.0 ** max(0, attempt - 1))
    low, high = jitter
    wait = min(cap, ceiling * (low + (high - low) * draw()))
    if at_least is not None:
        wait = max(wait, min(at_least, cap))
    return wait
