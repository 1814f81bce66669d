"""The Insights page: what the texts did, per automation and step, with weekly charts,
consent coverage, the review queue's age and the monthly compliance report.

The figures come from the page's InsightsService (``core.insights.gather_insights``) on
a pool thread (the shared helper ``ui.runner.run_in_background``); the page shows
"Loading…" until they arrive, an empty state when nothing happened in the period, and
never blocks the window on a big database. Charts are pyqtgraph bar charts, imported on another worker the first
time (alongside the queries) so the window does not wait for numpy either. Every name shown is plain text.
"""

from __future__ import annotations

import logging
import sys
from datetime import date
from enum import IntEnum
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QEventLoop, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.core import compliance, insights
from trustpager_desktop.core.business_days import HONOUR_LIMIT_BUSINESS_DAYS
from trustpager_desktop.core.insights import Insights, StepFigures
from trustpager_desktop.ui.common import WARNING_COLOUR, Card, coloured, heading, plain_label
from trustpager_desktop.ui.runner import BackgroundTask, run_in_background, show_progress
from trustpager_desktop.ui.theme import Tone, tone_colour
from trustpager_desktop.usecases.insights import InsightsService

log = logging.getLogger("trustpager.ui")

PERIODS = ((4, "Last 4 weeks"), (12, "Last 12 weeks"), (26, "Last 26 weeks"), (52, "Last 52 weeks"))
STALE_AFTER_MS = 60_000  # showing the page again re-reads figures older than this
SENT_COLOUR = "#2563eb"  # blue: reads on light and dark backgrounds
TREE_COLUMNS = ("Automation / step", "Sent", "Delivered", "Replies", "Opt-outs", "Opt-out rate",
                "Blocked", "Failures by error code")  # fmt: skip


class _State(IntEnum):
    """What the page shows; the value is the index in its stack of views."""

    LOADING = 0
    EMPTY = 1
    CONTENT = 2
    FAILED = 3


class WeeklyBarChart(QWidget):
    """A titled bar chart of one count per week (pyqtgraph), labelled by the week's Monday."""

    def __init__(self, title: str, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg  # usually already imported by the page's first load

        self._colour = colour
        palette = self.palette()
        background = palette.color(QPalette.ColorRole.Base)
        foreground = palette.color(QPalette.ColorRole.Text)
        self.plot = pg.PlotWidget(background=background)
        self.plot.setAccessibleName(title)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setFixedHeight(200)
        for side in ("left", "bottom"):
            axis = self.plot.getAxis(side)
            axis.setPen(foreground)
            axis.setTextPen(foreground)
        self._bars: Any = None
        self.values: list[int] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(heading(title, 0))
        layout.addWidget(self.plot)

    def set_weeks(self, starts: list[date], values: list[int]) -> None:
        """One bar per week; every label when they fit, else every second or fourth."""
        import pyqtgraph as pg

        self.values = list(values)
        if self._bars is not None:
            self.plot.removeItem(self._bars)
        xs = list(range(len(values)))
        self._bars = pg.BarGraphItem(x=xs, height=values, width=0.7, brush=QColor(self._colour),
                                     pen=QColor(self._colour))  # fmt: skip
        self.plot.addItem(self._bars)
        step = (
            1 if len(starts) <= 8 else (2 if len(starts) <= 16 else (4 if len(starts) <= 32 else 8))
        )
        last = len(starts) - 1  # the latest week always has its label
        ticks = [(i, f"{d:%d %b}") for i, d in enumerate(starts) if (last - i) % step == 0]
        self.plot.getAxis("bottom").setTicks([ticks, []])
        top = max(values, default=0)
        self.plot.setYRange(0, max(top, 1) * 1.15, padding=0)  # room above the top tick
        self.plot.setXRange(-0.9, max(len(values) - 0.1, 0.4), padding=0)
        self.plot.getAxis("left").setTickSpacing(levels=[(_nice_step(top), 0)])
        self.setToolTip(
            "\n".join(f"Week of {d:%d %b %Y}: {v}" for d, v in zip(starts, values, strict=True))
        )


def _nice_step(top: int) -> float:
    """A whole-number tick spacing giving about five ticks up to ``top``."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000):
        if top / step <= 6:
            return step
    return float(10 ** len(str(top)) // 10)


class _Tile(QWidget):
    """A caption over a big figure, with an optional small line under it."""

    def __init__(self, caption: str) -> None:
        super().__init__()
        self.value = plain_label()
        font = self.value.font()
        self._size = font.pointSizeF() + 7
        font.setPointSizeF(self._size)
        font.setBold(True)
        self.value.setFont(font)
        self.note = plain_label(wrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(0)
        layout.addWidget(plain_label(caption))
        layout.addWidget(self.value)
        layout.addWidget(self.note)

    def show_figure(self, value: str, note: str = "") -> None:
        """A number in the big font; words ('Not tracked yet') a size smaller so they fit."""
        font = self.value.font()
        font.setPointSizeF(self._size if value[:1].isdigit() else self._size - 4)
        self.value.setFont(font)
        self.value.setText(value)
        self.note.setText(note or " ")  # a blank line keeps the tiles' figures aligned


class InsightsPage(QWidget):
    """Emits ``loaded(Insights)`` once the figures are shown (or ``load_failed(str)``),
    ``charts_drawn`` when the weekly charts are (the first time a little after the figures),
    ``report_saved(path)`` / ``report_failed(message)`` for the compliance report."""

    loaded = Signal(object)
    load_failed = Signal(str)
    charts_drawn = Signal()
    report_saved = Signal(str)
    report_failed = Signal(str)

    def __init__(self, service: InsightsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._jobs: dict[int, BackgroundTask] = {}
        self._generation = 0
        self._loading = False
        self._tasks: list[BackgroundTask] = []
        self.insights: Insights | None = None
        self._charts_built = False
        self._charts_module: Any = sys.modules.get("pyqtgraph")
        self._import_job: BackgroundTask | None = None
        self._stale = QTimer(self, singleShot=True, interval=STALE_AFTER_MS)
        self._build()
        self.refresh()

    # -- layout ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.period_combo = QComboBox()
        self.period_combo.setAccessibleName("Period")
        for weeks, label in PERIODS:
            self.period_combo.addItem(label, weeks)
        self.period_combo.setCurrentIndex(1)
        self.period_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.status_label = plain_label()
        self.month_combo = QComboBox()
        self.month_combo.setAccessibleName("Month of the compliance report")
        self.report_button = QPushButton("Save compliance report…")
        self.report_button.clicked.connect(self._choose_report_file)
        top = QHBoxLayout()
        top.addWidget(heading("Insights"))
        top.addWidget(self.period_combo)
        top.addWidget(self.refresh_button)
        top.addStretch(1)
        top.addWidget(plain_label("Compliance report:"))
        top.addWidget(self.month_combo)
        top.addWidget(self.report_button)

        self.states = QStackedWidget()
        self.states.addWidget(self._loading_view())
        self.empty_label = plain_label(wrap=True)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.states.addWidget(self.empty_label)
        self.states.addWidget(self._content_view())
        self.error_label = coloured(plain_label(wrap=True, selectable=True), WARNING_COLOUR)
        self.error_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.states.addWidget(self.error_label)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.status_label)
        layout.addWidget(self.states, 1)
        self._fill_months()

    def _loading_view(self) -> QWidget:
        view = QWidget()
        layout = QVBoxLayout(view)
        layout.addStretch(1)
        self.loading_label = plain_label("Loading insights…")
        self.loading_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        busy = QProgressBar()
        busy.setRange(0, 0)
        busy.setMaximumWidth(240)
        layout.addWidget(self.loading_label)
        layout.addWidget(busy, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(2)
        return view

    def _content_view(self) -> QWidget:
        self.tiles = {key: _Tile(caption) for key, caption in (
            ("sent", "Texts sent"), ("delivered", "Delivered"), ("replies", "Replies"),
            ("opt_outs", "Opt-outs"), ("consent", "Consent on record"),
            ("review", "Waiting for review"))}  # fmt: skip
        tiles = QGridLayout()
        for i, tile in enumerate(self.tiles.values()):
            tiles.addWidget(tile, 0, i)

        self.charts_row = QHBoxLayout()
        self.charts_placeholder = plain_label("Drawing the charts…")
        self.charts_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.charts_placeholder.setMinimumHeight(120)
        self.charts_row.addWidget(self.charts_placeholder)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(TREE_COLUMNS)
        self.tree.setRootIsDecorated(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.tree.setMinimumHeight(180)  # the page scrolls rather than squeeze the table
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, len(TREE_COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.attribution_note = plain_label(wrap=True)
        steps_card = Card("Per automation and step")
        steps_card.body.addWidget(self.attribution_note)
        steps_card.body.addWidget(self.tree)

        self.review_label = plain_label(wrap=True, selectable=True)
        self.coverage_label = plain_label(wrap=True, selectable=True)
        queue_card = Card("Review queue and consent")
        queue_card.body.addWidget(self.review_label)
        queue_card.body.addWidget(self.coverage_label)

        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addLayout(tiles)
        layout.addLayout(self.charts_row)
        layout.addWidget(steps_card, 1)
        layout.addWidget(queue_card)
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setFrameShape(QScrollArea.Shape.NoFrame)
        area.setWidget(body)
        return area

    def _build_charts(self) -> None:
        """Made on the first result: pyqtgraph is imported by then, off the GUI thread."""
        self.sent_chart = WeeklyBarChart("Texts sent per week", SENT_COLOUR)
        self.opt_out_chart = WeeklyBarChart("Opt-outs per week", tone_colour(Tone.WARNING).name())
        self.charts_placeholder.hide()
        self.charts_row.addWidget(self.sent_chart)
        self.charts_row.addWidget(self.opt_out_chart)
        self._charts_built = True

    @property
    def _zone(self) -> str:
        return self._service.zone

    def _fill_months(self) -> None:
        """The compliance report's month choices: this month and the 12 before, last month
        first (this month, not over yet, comes last)."""
        months = self._service.report_months()
        for m in [*months[1:], months[0]]:
            self.month_combo.addItem(f"{m:%B %Y}", m)

    # -- loading --------------------------------------------------------------------------

    @property
    def weeks(self) -> int:
        return int(self.period_combo.currentData())

    def refresh(self) -> None:
        """Read the figures again on a worker thread; the page shows them when they arrive."""
        self._generation += 1
        generation, weeks, service = self._generation, self.weeks, self._service
        self._loading = True
        if self.insights is None:
            self.states.setCurrentIndex(_State.LOADING)
        self.status_label.setText("Updating…" if self.insights is not None else "")

        self._jobs[generation] = run_in_background(
            lambda: service.figures(weeks),
            lambda result: self._loaded(generation, result),
            lambda error: self._failed(generation, error),
        )

    def _loaded(self, generation: int, result: Insights) -> None:
        self._jobs.pop(generation, None)
        if generation != self._generation:
            return  # an older request answered late: a newer one is on its way
        self._loading = False
        self.insights = result
        self._show(result)
        self._stale.start()
        if self._charts_module is None and not result.is_empty:
            self._import_charts()
        self.loaded.emit(result)

    def _import_charts(self) -> None:
        """The first time: import pyqtgraph and numpy (~0.3 s) on a pool thread after the
        figures are shown, then draw the charts. Run next to the queries instead, the two
        took turns with the interpreter and the figures came later."""
        if self._import_job is not None:
            return

        def imported(module: Any) -> None:
            self._import_job = None
            self._charts_module = module
            if self.insights is not None and not self.insights.is_empty:
                self._draw_charts(self.insights)

        def failed(error: Exception) -> None:
            self._import_job = None
            log.warning("charts unavailable: %s", error)
            self.charts_placeholder.setText(f"The charts cannot be drawn: {error}")
            self.charts_drawn.emit()

        self._import_job = run_in_background(_import_pyqtgraph, imported, failed)

    @property
    def charts_pending(self) -> bool:
        """Figures are shown but their charts are still being prepared."""
        return self._import_job is not None

    def _draw_charts(self, result: Insights) -> None:
        if not self._charts_built:
            self._build_charts()
        starts = [w.start for w in result.weeks]
        self.sent_chart.set_weeks(starts, [w.sent for w in result.weeks])
        self.opt_out_chart.set_weeks(starts, [w.opt_outs for w in result.weeks])
        self.charts_drawn.emit()

    def _failed(self, generation: int, error: Exception) -> None:
        self._jobs.pop(generation, None)
        if generation != self._generation:
            return
        self._loading = False
        log.warning("insights could not be read: %s", error)
        self.error_label.setText(
            f"The figures could not be read: {error}\n\nPress Refresh to try again."
        )
        self.states.setCurrentIndex(_State.FAILED)
        self.status_label.setText("")
        self.load_failed.emit(str(error))

    @property
    def is_loading(self) -> bool:
        return self._loading

    def wait_until_loaded(self, timeout_ms: int = 15_000) -> bool:
        """Run the event loop until the current load ends (for ``--screenshot``)."""
        if not (self._loading or self.charts_pending):
            return True
        loop = QEventLoop()
        deadline = QTimer(singleShot=True, interval=timeout_ms)
        deadline.timeout.connect(loop.quit)

        def check(*_args: object) -> None:
            if not (self._loading or self.charts_pending):
                loop.quit()

        for signal in (self.loaded, self.load_failed, self.charts_drawn):
            signal.connect(check)
        deadline.start()
        loop.exec()
        for signal in (self.loaded, self.load_failed, self.charts_drawn):
            signal.disconnect(check)
        return not (self._loading or self.charts_pending)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._loading and not self._stale.isActive():
            self.refresh()

    # -- showing --------------------------------------------------------------------------

    def _show(self, result: Insights) -> None:
        zone = ZoneInfo(self._zone)
        self.status_label.setText(
            f"{result.since.astimezone(zone):%d %b %Y} to {result.until.astimezone(zone):%d %b %Y},"
            f" updated {result.until.astimezone(zone):%H:%M}"
        )
        if result.is_empty:
            label = self.period_combo.currentText().lower()
            self.empty_label.setText(
                f"No texts, replies or opt-outs in the {label}.\n\nFigures appear here as "
                "automations and people send texts. " + result.review.describe() + "."
            )
            self.states.setCurrentIndex(_State.EMPTY)
            return
        self._show_tiles(result)
        if self._charts_module is not None:
            self._draw_charts(result)
        self._show_tree(result)
        self._show_queue(result)
        self.states.setCurrentIndex(_State.CONTENT)

    def _show_tiles(self, result: Insights) -> None:
        total = result.total
        self.tiles["sent"].show_figure(f"{total.sent:,}", f"{total.blocked:,} blocked (opted out)")
        if result.delivery_tracked:
            share = insights.percent(total.delivered / total.sent if total.sent else None)
            self.tiles["delivered"].show_figure(f"{total.delivered:,}", f"{share} of sent")
        else:
            self.tiles["delivered"].show_figure(
                "Not tracked yet", "No delivery reports from Twilio"
            )
        self.tiles["replies"].show_figure(f"{result.replies:,}")
        self.tiles["opt_outs"].show_figure(
            f"{result.opt_outs:,}", f"{insights.percent(total.opt_out_rate)} of texts sent"
        )
        coverage = result.coverage
        if coverage.recorded:
            self.tiles["consent"].show_figure(
                insights.percent(coverage.share),
                f"{coverage.with_consent:,} of {coverage.contacts:,}",
            )
        else:
            self.tiles["consent"].show_figure("Not recorded yet", f"{coverage.contacts:,} contacts")
        review = result.review
        oldest = (
            f"oldest {review.oldest_business_days} business days"
            if review.pending
            else "nothing waiting"
        )
        self.tiles["review"].show_figure(f"{review.pending:,}", oldest)
        late = review.pending and (review.oldest_business_days or 0) >= HONOUR_LIMIT_BUSINESS_DAYS
        if late:  # past the legal line: the figure turns orange
            coloured(self.tiles["review"].value, WARNING_COLOUR)
        else:
            self.tiles["review"].value.setPalette(self.tiles["review"].palette())

    def _show_tree(self, result: Insights) -> None:
        self.tree.clear()
        tracked = result.delivery_tracked
        for automation in result.automations:
            parent = _tree_item(automation.name, automation.total, tracked)
            font = parent.font(0)
            font.setBold(True)
            parent.setFont(0, font)
            for step in automation.steps:
                parent.addChild(_tree_item(step.label, step, tracked))
            self.tree.addTopLevelItem(parent)
        self.tree.addTopLevelItem(_tree_item("Manual texts", result.manual, tracked))
        self.tree.expandAll()
        self.attribution_note.setText(
            "An opt-out or reply counts for a step when it came within 48 hours of that step's "
            f"text, and for the most recent text only. {result.opt_outs_unattributed} of "
            f"{result.opt_outs} opt-outs came more than 48 hours after any text."
        )

    def _show_queue(self, result: Insights) -> None:
        review = result.review
        lines = [review.describe() + "."]
        if review.pending:
            lines.append(", ".join(f"{label}: {n}" for label, n in review.bands))
        self.review_label.setText("\n".join(lines))
        self.coverage_label.setText(
            result.coverage.describe()
            + (
                ". Opt-in records (how and when each contact agreed) are not kept yet."
                if not result.coverage.recorded
                else "."
            )
        )

    # -- compliance report ----------------------------------------------------------------

    def _choose_report_file(self) -> None:
        month: date = self.month_combo.currentData()
        path, chosen = QFileDialog.getSaveFileName(
            self,
            "Save compliance report",
            f"compliance-report-{month:%Y-%m}.pdf",
            "PDF report (*.pdf);;CSV file (*.csv)",
        )
        if path:
            self.write_compliance_report(month, path, "csv" if chosen.startswith("CSV") else "pdf")

    def write_compliance_report(self, month: date, path: str, fmt: str = "pdf") -> BackgroundTask:
        """Gather the month's report (verifying the log) on a worker with a progress bar and
        Cancel, then write it as ``fmt`` "pdf" (painted here, Qt needs the GUI thread) or "csv"."""
        service, csv_path = self._service, path if fmt == "csv" else None
        self.report_button.setEnabled(False)
        task = BackgroundTask(
            lambda progress: service.compliance_report(month, csv_path=csv_path, progress=progress),
            self,
        )
        show_progress(task, self, "Checking the activity log for the report", "entries")
        task.finished.connect(lambda report: self._report_gathered(report, path, fmt))
        task.failed.connect(self._report_not_saved)
        for signal in (task.finished, task.failed):
            signal.connect(
                lambda _value, t=task: self._tasks.remove(t) if t in self._tasks else None
            )
        self._tasks.append(task)
        task.start()
        return task

    def _report_gathered(self, report: compliance.ComplianceReport, path: str, fmt: str) -> None:
        if fmt == "pdf":
            from trustpager_desktop.pdf import compliance_report  # PDF code: load when used

            try:
                compliance_report.write_pdf(report, path)
            except OSError as exc:
                self._report_not_saved(str(exc))
                return
        self.report_button.setEnabled(True)
        self.status_label.setText(f"Compliance report for {report.month:%B %Y} saved to {path}")
        self.report_saved.emit(path)

    def _report_not_saved(self, message: str) -> None:
        self.report_button.setEnabled(True)
        self.report_failed.emit(message)
        if self.isVisible():
            QMessageBox.warning(
                self, "Compliance report", f"The report was not saved.\n\n{message}"
            )

    def shutdown(self) -> None:
        """Cancel a report being gathered (window closing)."""
        for task in self._tasks:
            task.cancel()


def _tree_item(label: str, figures: StepFigures, tracked: bool) -> QTreeWidgetItem:
    cells = [
        label,
        f"{figures.sent:,}",
        insights.delivered_cell(figures, tracked),
        f"{figures.replies:,}",
        f"{figures.opt_outs:,}",
        insights.percent(figures.opt_out_rate),
        f"{figures.blocked:,}",
        insights.failures_text(figures.failures) or "-",
    ]
    item = QTreeWidgetItem(cells)
    for column in range(1, len(cells) - 1):
        item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    item.setToolTip(0, label)
    return item


__all__ = ["InsightsPage", "WeeklyBarChart"]


def _import_pyqtgraph() -> ModuleType:
    """pyqtgraph (and numpy) take a moment to import: done off the GUI thread, on first need."""
    import pyqtgraph

    return pyqtgraph
