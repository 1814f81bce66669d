"""Counters the reliability tests add to; the run prints them at the end.

"messages lost" and "duplicate sends" must stay 0: tests assert that too, the
summary makes the figures visible in every CI log.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

FIGURE_NAMES = (
    "interleavings run",
    "kills survived",
    "bad inputs tried",
    "messages lost",
    "duplicate sends",
    "held texts (reply waiting for review)",
    "re-consents waiting for START",
    "purposes declined",
    "Marketing automation texts sent",
    "Reminders automation texts sent",
    "texts skipped for a declined purpose",
)

_lock = threading.Lock()
_figures: Counter[str] = Counter({name: 0 for name in FIGURE_NAMES})
_seconds: Counter[str] = Counter()  # time spent by the tests that produced each figure


def add(name: str, amount: int = 1) -> None:
    with _lock:
        _figures[name] += amount


def snapshot() -> dict[str, int]:
    with _lock:
        return dict(_figures)


class timed:
    """``with figures.timed("interleavings run"):`` adds the block's duration to that
    figure's time, so the summary can print a rate (and a soak its expected length)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> timed:
        self.began = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        with _lock:
            _seconds[self.name] += time.monotonic() - self.began


def rates() -> dict[str, tuple[float, float]]:
    """{figure: (seconds spent, count per minute)} for the timed figures."""
    with _lock:
        return {
            name: (seconds, _figures[name] * 60 / seconds)
            for name, seconds in _seconds.items()
            if seconds > 0
        }


def soak() -> bool:
    """TRUSTPAGER_SOAK=1 runs the long form of the reliability tests."""
    return _soak_share() > 0


def _soak_share() -> float:
    """TRUSTPAGER_SOAK: 1 for the whole soak, a fraction (0.05) for a sample of it."""
    try:
        return min(1.0, max(0.0, float(os.environ.get("TRUSTPAGER_SOAK", "0"))))
    except ValueError:
        return 0.0


def scaled(bounded: int, soaked: int) -> int:
    """How many: ``bounded`` in ``make test``, ``soaked`` (or the sampled share) in a soak."""
    share = _soak_share()
    return max(bounded, round(soaked * share)) if share else bounded
