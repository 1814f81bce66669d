"""One back-off rule for every retry: doubling to a cap, jittered, Retry-After honoured."""

from __future__ import annotations

import pytest

from trustpager_desktop.core.backoff import backoff_seconds


def wait(attempt: int, draw: float = 1.0, at_least: float | None = None) -> float:
    return backoff_seconds(attempt, first=30, cap=600, jitter=(0.5, 1.0), draw=lambda: draw,
                           at_least=at_least)  # fmt: skip


@pytest.mark.parametrize(
    ("attempt", "expected"), [(1, 30), (2, 60), (3, 120), (5, 480), (6, 600), (20, 600)]
)
def test_waits_double_from_the_first_up_to_the_cap(attempt, expected):
    assert wait(attempt) == expected


def test_jitter_spreads_desktops_that_failed_together():
    assert wait(3, draw=0.0) == 60  # half of 120
    assert 60 < wait(3, draw=0.5) < 120


def test_the_providers_retry_after_raises_the_wait_but_never_past_the_cap():
    assert wait(1, draw=0.0, at_least=90) == 90
    assert wait(1, at_least=10_000) == 600
