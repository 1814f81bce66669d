"""Tiny helpers every benchmark script shares: repeat, median, spread, print."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def measure(fn: Callable[[], object], runs: int = 7, warmup: int = 1) -> list[float]:
    """Seconds per run of ``fn`` after ``warmup`` unmeasured runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def summary(times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return f"median {statistics.median(ms):8.1f} ms  (min {min(ms):.1f}, max {max(ms):.1f}, n={len(ms)})"


def report(
    name: str, times: list[float], target_ms: float | None = None, floor: list[float] | None = None
) -> dict:
    """Print one line: name, median and spread, target verdict, ratio to the floor."""
    med = statistics.median(times) * 1000
    line = f"{name:<48} {summary(times)}"
    if floor:
        ratio = med / (statistics.median(floor) * 1000)
        line += f"  floor {statistics.median(floor) * 1000:.1f} ms, ratio {ratio:.1f}x"
    if target_ms is not None:
        line += f"  target < {target_ms:.0f} ms: {'MET' if med < target_ms else 'MISSED'}"
    print(line, flush=True)
    return {"name": name, "median_ms": med, "target_ms": target_ms}
