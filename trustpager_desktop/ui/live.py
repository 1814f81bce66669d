"""Live views: the change watcher's topics as a Qt signal on the GUI thread.

``LiveUpdates`` owns this window's :class:`~trustpager_desktop.usecases.live.ChangeWatcher`
(one cheap query every two seconds on its own thread, at once after a commit here) and
re-emits whatever the services' :class:`ChangeBus` publishes as ``changed(topics)``; Qt
queues it to the GUI thread, where the window refreshes only the views of those topics.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from trustpager_desktop.services import AppServices
from trustpager_desktop.usecases.live import POLL_SECONDS, ChangeWatcher


class LiveUpdates(QObject):
    changed = Signal(object)  # frozenset[str]: the topics (store.change_marker) that changed

    def __init__(self, services: AppServices, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.watcher = ChangeWatcher(services.db, services.changes, POLL_SECONDS)
        self._unsubscribe = services.changes.subscribe(self.changed.emit)

    def start(self, interval: float | None = None) -> None:
        """Start watching (``interval`` in seconds; the default is two)."""
        if interval is not None:
            self.watcher.interval = interval
        self.watcher.start()

    def shutdown(self) -> None:
        """Stop the watcher and stop re-emitting (call before the window goes away)."""
        self.watcher.stop()
        self._unsubscribe()
