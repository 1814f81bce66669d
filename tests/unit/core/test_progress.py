"""Progress of long imports and exports: reported in plain words, and a way to stop."""

from __future__ import annotations

import pytest

from trustpager_desktop.core.progress import Cancelled, describe, no_progress, report


def test_progress_reads_the_same_plain_words_with_a_known_total():
    line = describe("Verifying the activity log", 120_000, 1_000_000, "entries")
    assert line == "Verifying the activity log: 120,000 of 1,000,000 entries (12 %)"
    assert describe("Importing", 15, 10) == "Importing: 15 of 10 (100 %)"  # never past 100 %


def test_progress_without_a_total_counts_and_an_empty_job_says_so():
    assert describe("Exporting contacts", 4_500, None, "contacts") == (
        "Exporting contacts: 4,500 contacts"
    )
    assert describe("Exporting contacts", 0, 0, "contacts") == "Exporting contacts: nothing to do"


def test_a_job_stops_when_the_user_cancels_and_runs_on_otherwise():
    seen: list[tuple[int, int | None]] = []

    def until_half(done: int, total: int | None) -> bool:
        seen.append((done, total))
        return done < 50

    report(until_half, 10, 100)
    report(None, 10, 100)
    report(no_progress, 10, 100)
    with pytest.raises(Cancelled, match="nothing was changed"):
        report(until_half, 50, 100)
    assert seen == [(10, 100), (50, 100)]
