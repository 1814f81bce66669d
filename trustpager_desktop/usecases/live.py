"""Seeing what other writers changed: poll the change marker, publish the topics that moved.

One query every ``interval`` seconds (``store.change_marker.read_versions``) on a
thread of its own, never the GUI thread. The first reading is the baseline; after that
only topics whose version moved are published, so a view re-reads what changed and
nothing else. A database that is unreachable for a while is logged once and retried.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError

from trustpager_desktop.core.events import ChangeBus
from trustpager_desktop.store.change_marker import changed_topics, read_versions
from trustpager_desktop.store.database import Database, DatabaseError

log = logging.getLogger("trustpager.usecases")

POLL_SECONDS = 2.0
# After a commit in this process the watcher looks at once, but not more often than this.
NUDGE_GAP_SECONDS = 0.2


class ChangeWatcher:
    """``start()`` polls every ``interval`` seconds until ``stop()``; ``poll()`` once, now.

    While running, a commit made through this process's database wakes the watcher at
    once, so this window's own changes (whichever code made them) show without waiting
    for the next interval; the triggers already say which topics they touched."""

    def __init__(self, db: Database, bus: ChangeBus, interval: float = POLL_SECONDS) -> None:
        self._db = db
        self._bus = bus
        self.interval = interval
        self._versions: dict[str, int] | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.polls = 0

    def poll(self) -> frozenset[str]:
        """Read the versions; publish and return the topics that moved since the last read
        (nothing on the first read, which only sets the baseline)."""
        with self._db.read() as session:
            versions = read_versions(session)
        self.polls += 1
        before, self._versions = self._versions, versions
        if before is None:
            return frozenset()
        topics = changed_topics(before, versions)
        self._bus.publish(topics)
        return topics

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        event.listen(self._db.engine, "commit", self._on_commit)
        self._thread = threading.Thread(target=self._run, name="change-watcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            event.remove(self._db.engine, "commit", self._on_commit)
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def poll_soon(self) -> None:
        """Look now rather than at the next interval (e.g. after a write here)."""
        self._wake.set()

    def _on_commit(self, _connection: object) -> None:
        self._wake.set()

    def _run(self) -> None:
        self._poll_quietly()  # the baseline, so the first change is seen as one
        while True:
            self._wake.wait(self.interval)
            if self._stop.is_set():
                return
            time.sleep(NUDGE_GAP_SECONDS)  # let a burst of commits settle into one look
            self._wake.clear()
            self._poll_quietly()

    def _poll_quietly(self) -> None:
        try:
            self.poll()
        except (DatabaseError, SQLAlchemyError) as exc:
            if not self._failing:
                log.warning("cannot read the change marker (will retry): %s", exc)
            self._failing = True
        else:
            if self._failing:
                log.info("the change marker is readable again")
            self._failing = False
