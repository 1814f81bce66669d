"""The opt-out list: every number automations will not text (opted-out contacts and
numbers held on their own), with Import (a do-not-contact list) and Export.

Loading, importing and exporting run off the GUI thread (``ui.runner``); an import
shows the file's bad rows by line before anything is written, and a cancelled import
changes nothing (``core.dnc_list``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEventLoop, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.core.dnc_list import DncOutcome, DncPlan
from trustpager_desktop.core.exports import OptOutRow
from trustpager_desktop.core.phone import format_for_reading
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.ui.common import (
    ERROR_COLOUR,
    OK_COLOUR,
    EmptyState,
    coloured,
    documents_path,
    heading,
    plain_label,
)
from trustpager_desktop.ui.runner import BackgroundTask, RunningTasks, show_progress
from trustpager_desktop.ui.table_models import RowsTableModel, read_only_table
from trustpager_desktop.usecases.optouts import OptOutsService
from trustpager_desktop.usecases.result import Outcome

INTRO = (
    "Automations never text these numbers: contacts who opted out, and numbers held on "
    "their own (a STOP from a number no contact had, a do-not-contact list). A contact "
    "added later with a held number starts opted out."
)


class OptOutsModel(RowsTableModel):
    headers = ("Number", "Contacts", "Opted out", "Source", "Evidence")

    def __init__(self, service: OptOutsService, parent=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent)
        self._service = service

    def cell(self, row: OptOutRow, column: int) -> str:
        if column == 0:
            return format_for_reading(row.number, self._service.region) or "(no number)"
        if column == 1:
            return "; ".join(row.contacts) or "no contact (number held)"
        if column == 2:
            at = row.opted_out_at
            return format_time(at, self._service.zone) if at else ""
        return row.source if column == 3 else row.evidence


class OptOutsPage(QWidget):
    """``optouts_changed`` after an import that changed something (contacts were opted out)."""

    optouts_changed = Signal()
    loaded = Signal(int)  # rows shown

    def __init__(self, service: OptOutsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._tasks = RunningTasks()
        self.dialog: DncImportDialog | None = None
        self._loading: BackgroundTask | None = None
        self.model = OptOutsModel(service, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._build()
        self.refresh()

    def _build(self) -> None:
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find a number, name or source")
        self.search.setAccessibleName("Find in the opt-out list")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.proxy.setFilterFixedString)
        self.import_button = QPushButton("Import do-not-contact list…")
        self.import_button.clicked.connect(self._choose_import_file)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(self._choose_export_file)
        tools = QHBoxLayout()
        tools.addWidget(self.search, 1)
        tools.addWidget(self.import_button)
        tools.addWidget(self.export_button)
        self.count_label = plain_label()
        self.status_label = plain_label(wrap=True, selectable=True)
        self.table = read_only_table(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        for column, width in enumerate((140, 170, 180, 150)):
            self.table.setColumnWidth(column, width)
        self.empty = EmptyState(self.table, "No opt-outs yet.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(heading("Opt-outs", 4))
        layout.addWidget(plain_label(INTRO, wrap=True))
        layout.addLayout(tools)
        layout.addWidget(self.count_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status_label)

    # -- loading ---------------------------------------------------------------------

    def refresh(self) -> BackgroundTask:
        """Read the list in the background; the table follows when it is in."""
        service = self._service
        task = BackgroundTask(lambda _progress: service.rows())
        task.finished.connect(self._show_rows)
        task.failed.connect(self.status_label.setText)
        self._loading = task
        return self._run(task)

    def wait_until_loaded(self, timeout_ms: int = 15_000) -> bool:
        """Run the event loop until the list is in (for ``--screenshot``)."""
        if self._loading is None or self._loading.is_done:
            return True
        task, loop = self._loading, QEventLoop()
        QTimer.singleShot(timeout_ms, loop.quit)
        poll = QTimer(interval=20)  # the task's own signals may already be on their way

        def check() -> None:
            if task.is_done:
                loop.quit()

        poll.timeout.connect(check)
        poll.start()
        loop.exec()
        poll.stop()
        QCoreApplication.sendPostedEvents()  # deliver its result to the table
        return task.is_done

    def _show_rows(self, rows: Sequence[OptOutRow]) -> None:
        self.model.set_rows(rows)
        held = sum(1 for r in rows if not r.contacts)
        self.count_label.setText(
            f"{len(rows):,} opted-out number{'s' if len(rows) != 1 else ''} "
            f"({held:,} held with no contact)"
        )
        self.empty.update()
        self.loaded.emit(len(rows))

    # -- import and export -------------------------------------------------------------

    def _choose_import_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import a do-not-contact list", documents_path(),
            "Lists of numbers (*.csv *.txt);;All files (*)",
        )  # fmt: skip
        if path:
            self.import_file(path)

    def import_file(self, path: str) -> DncImportDialog:
        """Open the import dialog on ``path`` (it checks the file first, in the background)."""
        dialog = DncImportDialog(self._service, self)
        dialog.imported.connect(self._imported)
        self.dialog = dialog
        dialog.open()
        dialog.load_file(path)
        return dialog

    def _imported(self, outcome: DncOutcome) -> None:
        coloured(self.status_label, ERROR_COLOUR if outcome.refused else OK_COLOUR)
        self.status_label.setText(outcome.describe())
        if outcome.new:
            self.refresh()
            self.optouts_changed.emit()

    def _choose_export_file(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export opt-outs", documents_path("opt-outs.csv"), "CSV files (*.csv)"
        )
        if path:
            self.export_to(path)

    def export_to(self, path: str) -> BackgroundTask:
        service = self._service
        task = BackgroundTask(lambda progress: service.export(path, progress))
        show_progress(task, self, "Exporting opt-outs", "numbers")
        task.finished.connect(lambda outcome: self._exported(outcome, path))
        task.failed.connect(self.status_label.setText)
        return self._run(task)

    def _exported(self, outcome: Outcome[int], path: str) -> None:
        if outcome.ok:
            self.status_label.setText(f"Exported {outcome.unwrap():,} opted-out numbers to {path}.")
        else:
            self.status_label.setText(outcome.message)

    def _run(self, task: BackgroundTask) -> BackgroundTask:
        return self._tasks.start(task)

    def shutdown(self) -> None:
        self._tasks.cancel_all()


class DncImportDialog(QDialog):
    """Check a do-not-contact list, show its bad rows by line, then import it.

    ``preview_ready(DncPlan | None)`` once the file is checked; ``imported(DncOutcome)``
    after an import ran (or was refused because of bad rows)."""

    preview_ready = Signal(object)
    imported = Signal(object)

    def __init__(self, service: OptOutsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import a do-not-contact list")
        self.resize(620, 440)
        self._service = service
        self._path: str | None = None
        self._plan: DncPlan | None = None
        self._busy = False
        self._task: BackgroundTask | None = None
        self.file_label = plain_label("No file chosen.")
        explain = plain_label(
            "One phone number per line, in any format, with a header row or without. Every "
            "contact with a listed number is opted out; numbers no contact has are held, so "
            "a contact added later starts opted out. Each opt-out records the file and your "
            f"name ({service.actor}).",
            wrap=True,
        )
        self.all_or_nothing = QRadioButton("Import nothing unless every row is good")
        self.good_rows = QRadioButton("Import the good rows and skip the bad ones")
        self.all_or_nothing.setChecked(True)
        modes = QButtonGroup(self)
        modes.addButton(self.all_or_nothing)
        modes.addButton(self.good_rows)
        modes.buttonToggled.connect(lambda *_: self._update())
        self.summary = plain_label(wrap=True)
        self.problems = QPlainTextEdit(readOnly=True)
        self.problems.setPlaceholderText("Problems found in the file are listed here, by line.")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.import_button = self.buttons.addButton(
            "Import", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.start_import)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.file_label)
        layout.addWidget(explain)
        layout.addWidget(self.all_or_nothing)
        layout.addWidget(self.good_rows)
        layout.addWidget(self.summary)
        layout.addWidget(self.problems, 1)
        layout.addWidget(self.buttons)

    @property
    def mode(self) -> str:
        return "good_rows" if self.good_rows.isChecked() else "all_or_nothing"

    def load_file(self, path: str) -> BackgroundTask:
        """Read and check ``path`` in the background (nothing is written)."""
        self._path, self._plan = path, None
        self.file_label.setText(path)
        self.summary.setText("Checking the file…")
        service = self._service
        task = BackgroundTask(lambda _p: service.read_file(path))
        return self._start(task, self._previewed, self._preview_failed)

    def _previewed(self, outcome: Outcome[DncPlan]) -> None:
        if not outcome.ok:
            self._preview_failed(outcome.message)
            return
        plan = outcome.unwrap()
        self._plan = plan
        self.problems.setPlainText("\n".join(f"Line {ln}: {why}" for ln, why in plan.problems))
        self._update()
        self.preview_ready.emit(plan)

    def _preview_failed(self, message: str) -> None:
        coloured(self.summary, ERROR_COLOUR)
        self.summary.setText(f"This file cannot be imported: {message}")
        self.preview_ready.emit(None)

    def _update(self) -> None:
        plan = self._plan
        ready = plan is not None and bool(plan.numbers) and not self._busy
        if plan is not None and plan.problems and self.mode == "all_or_nothing":
            ready = False
        self.import_button.setEnabled(ready)
        count = len(plan.numbers) if plan is not None else 0
        self.import_button.setText(f"Import {count:,} number{'s' if count != 1 else ''}"
                                   if ready else "Import")  # fmt: skip
        if plan is not None:
            self.summary.setText(plan.describe(self.mode))

    def start_import(self) -> BackgroundTask | None:
        """Import the checked file with the chosen mode, with a progress dialog and Cancel."""
        if self._path is None or self._plan is None:
            return None
        service, path, plan, mode = self._service, self._path, self._plan, self.mode
        task = BackgroundTask(
            lambda progress: service.import_list(path, mode=mode, plan=plan, progress=progress)
        )
        show_progress(task, self, "Importing the do-not-contact list", "numbers")
        return self._start(task, self._imported, self._import_failed)

    def _imported(self, result: Outcome[DncOutcome]) -> None:
        if not result.ok:
            self._import_failed(result.message)
            return
        outcome = result.unwrap()
        coloured(self.summary, ERROR_COLOUR if outcome.refused else OK_COLOUR)
        self.summary.setText(outcome.describe())
        self._plan = None  # imported: a second click would only say "0 new"
        self.import_button.setEnabled(False)
        self.imported.emit(outcome)

    def _import_failed(self, message: str) -> None:
        coloured(self.summary, ERROR_COLOUR)
        self.summary.setText(message)

    def _start(self, task: BackgroundTask, on_done, on_fail) -> BackgroundTask:  # type: ignore[no-untyped-def]
        self._busy = True
        self._task = task  # kept: a task nobody holds may be collected before it reports
        self.import_button.setEnabled(False)
        # Settled first, so the result handlers see a dialog that is no longer busy.
        task.finished.connect(lambda _r: self._done())
        task.failed.connect(lambda _m: self._done())
        task.finished.connect(on_done)
        task.failed.connect(on_fail)
        task.start()
        return task

    def _done(self) -> None:
        self._busy = False

    @property
    def file_name(self) -> str:
        return Path(self._path).name if self._path else ""
