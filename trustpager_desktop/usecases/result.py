"""One result type for every use case: what happened, in words a person can act on.

A service never lets a database, provider or input error escape to a widget: it returns
an :class:`Outcome` with the value, or with the sentence to show, the refused field, and
whether the thing is *gone* (deleted meanwhile, perhaps on another desktop), so a view
can say so and drop the stale row instead of showing a traceback. Bugs (any other
exception) still propagate, to the error net.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.providers.base import ProviderError
from trustpager_desktop.store.database import DatabaseError

log = logging.getLogger("trustpager.usecases")

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """``ok`` with ``value``; otherwise ``message`` (a sentence), ``field`` (the refused
    input, if any) and ``gone`` (the record no longer exists)."""

    value: T | None = None
    message: str = ""
    field: str | None = None
    gone: bool = False
    ok: bool = True

    @classmethod
    def success(cls, value: T) -> Outcome[T]:
        return cls(value=value)

    @classmethod
    def failure(cls, message: str, *, field: str | None = None, gone: bool = False) -> Outcome[T]:
        return cls(message=message, field=field, gone=gone, ok=False)

    def unwrap(self) -> T:
        """The value; raises ``RuntimeError`` with the message when the outcome failed."""
        if not self.ok:
            raise RuntimeError(self.message)
        return self.value  # type: ignore[return-value]  # an ok outcome always carries its value


def attempt(action: Callable[[], T]) -> Outcome[T]:
    """Run ``action``; expected failures become a failed Outcome with their sentence."""
    try:
        return Outcome.success(action())
    except UserInputError as exc:
        return Outcome.failure(str(exc), field=exc.field)
    except NotFoundError as exc:
        return Outcome.failure(str(exc), gone=True)
    except ProviderError as exc:
        return Outcome.failure(exc.reason)
    except DatabaseError as exc:
        log.warning("database error: %s", exc)
        return Outcome.failure(str(exc))
