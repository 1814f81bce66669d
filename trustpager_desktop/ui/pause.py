"""The automation pause as one Qt object: the menu, the tray, the status bar and the
Automations page banner all show and change the same state.

The flag itself lives in the database (``core.automation_pause``), so the runner, the
agent and other desktops on a shared database honour it; this object only mirrors it.
Reading and changing it run off the GUI thread (a shared database may be a network
away): until the first read arrives the state is unknown, and while it is unknown or a
change is being saved the controls say so and cannot be toggled.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal

from trustpager_desktop.ui.runner import BackgroundTask, failure_sentence
from trustpager_desktop.usecases.automations import AutomationsService
from trustpager_desktop.usecases.result import Outcome

log = logging.getLogger("trustpager.ui")

PAUSED_TEXT = "Automations paused"
PAUSED_DETAIL = (
    "Automations are paused: no automated text goes out until you resume. Manual texts and "
    "STOP replies are handled as usual."
)
CHECKING_TEXT = "Checking whether automations are paused…"


class AutomationPause(QObject):
    """``changed(bool)`` whenever the pause is turned on or off (here or seen in the database);
    ``ready_changed(bool)`` when the controls may (True) or may not (False) toggle it: not
    before the state is known, nor while a change is saved; ``failed(str)`` with a sentence
    when the change could not be saved."""

    changed = Signal(bool)
    ready_changed = Signal(bool)
    failed = Signal(str)

    def __init__(
        self, service: AutomationsService, parent: QObject | None = None, *, read_now: bool = True
    ) -> None:
        """``read_now=False``: the owner calls ``refresh()`` when it suits it (the window
        waits until its start-up reads are done, so they share one connection)."""
        super().__init__(parent)
        self._service = service
        self._paused = False
        self._known = False  # no read has arrived yet
        self._reading: BackgroundTask | None = None
        self._read_again = False
        self._saving: BackgroundTask | None = None
        if read_now:
            self.refresh()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def known(self) -> bool:
        """True once the state has been read from the database."""
        return self._known

    @property
    def ready(self) -> bool:
        """True when the state is known and no change is being saved."""
        return self._known and self._saving is None

    def refresh(self) -> None:
        """Re-read the flag off the GUI thread (another desktop may have changed it); a
        refresh asked for while one runs reads once more after it."""
        if self._reading is not None:
            self._read_again = True
            return
        service = self._service  # the pool thread gets the service, never this object
        self._reading = BackgroundTask(lambda _progress: service.paused(), self)
        self._reading.finished.connect(self._read_done)
        self._reading.errored.connect(self._read_failed)
        self._reading.start()

    def _read_done(self, paused: bool) -> None:
        self._reading = None
        self.show(paused)
        self._read_next()

    def _read_failed(self, error: Exception) -> None:
        self._reading = None
        log.warning("could not read the automation pause: %s", error)
        self._read_next()

    def _read_next(self) -> None:
        if self._read_again:
            self._read_again = False
            self.refresh()

    def set_paused(self, paused: bool) -> bool:
        """Pause (True) or resume (False), saved off the GUI thread and logged as a settings
        change; ``changed`` fires once it is saved, ``failed`` when the database refused.
        False (nothing started) while the state is unknown or another change is saved."""
        if not self.ready:
            return False
        service = self._service
        self._saving = BackgroundTask(lambda _progress: service.set_paused(paused), self)
        self._saving.finished.connect(self._saved)
        self._saving.errored.connect(
            lambda error: self._saved(Outcome.failure(failure_sentence(error)))
        )
        self.ready_changed.emit(False)
        self._saving.start()
        return True

    def _saved(self, outcome: Outcome[bool]) -> None:
        self._saving = None
        if outcome.ok:
            self._show(outcome.unwrap())
        else:
            log.error("could not change the automation pause: %s", outcome.message)
            self.failed.emit(f"The pause could not be changed: {outcome.message}")
        self.ready_changed.emit(self.ready)

    def show(self, paused: bool) -> None:
        """Show a state read from the database."""
        was_known, self._known = self._known, True
        self._show(paused)
        if not was_known:
            self.ready_changed.emit(self.ready)

    def _show(self, paused: bool) -> None:
        if paused != self._paused:
            self._paused = paused
            self.changed.emit(paused)
