"""Counters the reliability tests add to; the run prints them at the end.

"messages lost" and "duplicate sends" must stay 0: tests assert that too, the
summary makes the figures visible in every CI log.
"""

from __future__ import annotations

import os
import threading
from collections import Counter

FIGURE_NAMES = (
    "interleavings run",
    "kills survived",
    "bad inputs tried",
    "messages lost",
    "duplicate sends",
    "held texts (reply waiting for review)",
    "re-consents waiting for START",
)

_lock = threading.Lock()
_figures: Counter[str] = Counter({name: 0 for name in FIGURE_NAMES})


def add(name: str, amount: int = 1) -> None:
    with _lock:
        _figures[name] += amount


def snapshot() -> dict[str, int]:
    with _lock:
        return dict(_figures)


def soak() -> bool:
    """TRUSTPAGER_SOAK=1 runs the long form of the reliability tests."""
    return os.environ.get("TRUSTPAGER_SOAK") == "1"


def scaled(bounded: int, soaked: int) -> int:
    return soaked if soak() else bounded
