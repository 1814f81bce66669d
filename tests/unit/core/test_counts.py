"""Adding a batch's report into the run's: whole-number counters add, nothing else does."""

from __future__ import annotations

from dataclasses import dataclass, field

from trustpager_desktop.core.counts import add_counts


@dataclass
class Report:
    sent: int = 0
    skipped: int = 0
    stopped: bool = False
    reasons: list[str] = field(default_factory=list)


def test_counters_add_and_flags_and_lists_are_left_to_the_caller():
    total = Report(sent=2, skipped=1)
    add_counts(total, Report(sent=3, skipped=0, stopped=True, reasons=["quiet hours"]))
    assert total == Report(sent=5, skipped=1, stopped=False, reasons=[])
