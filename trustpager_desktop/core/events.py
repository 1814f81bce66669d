"""A small publish/subscribe for "this changed": topics (``store.change_marker``) go
out to whoever listens, on the publishing thread.

Services publish after their own writes, so this window refreshes at once; the
change watcher publishes what other writers changed. A listener must be quick and
must not assume a thread: the Qt bridge (``ui.live``) re-emits as a queued signal.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

log = logging.getLogger("trustpager.usecases")

Listener = Callable[[frozenset[str]], None]


class ChangeBus:
    """``subscribe(listener)`` returns a function that unsubscribes it;
    ``publish(topics)`` calls every listener with the topics as a frozenset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def publish(self, topics: Iterable[str]) -> None:
        changed = frozenset(topics)
        if not changed:
            return
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(changed)
            except Exception:  # one broken view must not stop the others hearing of it
                log.exception("a change listener failed for %s", sorted(changed))
