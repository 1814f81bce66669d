"""Python's garbage collection, on the GUI thread only.

The interpreter collects reference cycles on whichever thread happens to allocate when
a threshold is crossed, and background reads allocate a lot. A cycle that holds a Qt
object (a dialog and its lambdas, a page's closures) collected on a pool thread
destroys that object off its own thread, which crashes the window at random. So while
the window runs, automatic collection is off and this collects on the GUI thread, a
twice a second, the older generations by the interpreter's own thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    """``start()`` turns automatic collection off and collects from a GUI-thread timer;
    ``stop()`` collects once more and gives collection back to the interpreter."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.collect_due)

    def start(self) -> None:
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        gc.enable()

    def collect_due(self) -> int:
        """Collect the young generation, and an older one once it is due by the
        interpreter's thresholds (counted in younger collections, as the interpreter
        counts them); the number of objects found unreachable.

        The young generation is collected on every tick: allocation peaks between ticks
        are invisible here, and a young collection with little in it costs microseconds."""
        counts = gc.get_count()
        for generation in (2, 1):
            if counts[generation] >= self._thresholds[generation]:
                return gc.collect(generation)
        return gc.collect(0)
