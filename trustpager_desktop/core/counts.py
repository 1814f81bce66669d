"""Adding up reports made of counters (one batch's into the run's)."""

from __future__ import annotations

import dataclasses
from typing import Any


def add_counts(into: Any, part: Any) -> None:
    """Add every whole-number field of the dataclass ``part`` to the same field of ``into``
    (flags, lists and text are the caller's to combine)."""
    for field in dataclasses.fields(into):
        value = getattr(part, field.name)
        if isinstance(value, int) and not isinstance(value, bool):
            setattr(into, field.name, getattr(into, field.name) + value)
