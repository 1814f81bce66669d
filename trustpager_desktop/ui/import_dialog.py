"""Import contacts from a CSV file: choose the file and the mode, see the bad rows, import.

Reading, checking and importing run off the GUI thread (core.imports) with a
progress bar and Cancel; a cancelled import changes nothing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.core.imports import ImportPlan, ImportReport
from trustpager_desktop.core.progress import Progress, describe
from trustpager_desktop.ui.common import documents_path
from trustpager_desktop.ui.runner import BackgroundTask
from trustpager_desktop.usecases.contacts import ContactsService


class ImportContactsDialog(QDialog):
    """Emits ``imported(ImportReport)`` after an import that added contacts (or was refused)."""

    imported = Signal(object)
    preview_ready = Signal(object)  # ImportPlan, or None when the file could not be read

    def __init__(self, service: ContactsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import contacts")
        self.resize(640, 460)
        self._service = service
        self._path: str | None = None
        self._task: BackgroundTask | None = None

        self.file_label = QLabel("No file chosen.", textFormat=Qt.TextFormat.PlainText)
        choose = QPushButton("Choose CSV file…")
        choose.clicked.connect(self._choose_file)
        top = QHBoxLayout()
        top.addWidget(self.file_label, 1)
        top.addWidget(choose)

        help_text = QLabel(
            "Columns: name (or first_name and last_name), company, email, phone, and the "
            "opt-out column (sms_opt_out, 'Do Not Text', 'Unsubscribed', 'DNC'…: yes/no). "
            "Save from Excel as 'CSV UTF-8'.",
            wordWrap=True,
            textFormat=Qt.TextFormat.PlainText,
        )
        self.all_or_nothing = QRadioButton("Import nothing unless every row is good")
        self.good_rows = QRadioButton("Import the good rows and skip the bad ones")
        self.all_or_nothing.setChecked(True)
        self._modes = QButtonGroup(self)
        self._modes.addButton(self.all_or_nothing)
        self._modes.addButton(self.good_rows)
        self._modes.buttonToggled.connect(lambda *_: self._update_buttons())

        self.summary = QLabel(textFormat=Qt.TextFormat.PlainText, wordWrap=True)
        self.problems = QPlainTextEdit(readOnly=True)
        self.problems.setPlaceholderText("Problems found in the file are listed here, by line.")
        self.progress = QProgressBar()
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel import")
        self.cancel_button.hide()
        self.cancel_button.clicked.connect(self._cancel)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.import_button = self.buttons.addButton(
            "Import", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.import_button.setEnabled(False)
        self.import_button.clicked.connect(self.start_import)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(help_text)
        layout.addWidget(self.all_or_nothing)
        layout.addWidget(self.good_rows)
        layout.addWidget(self.summary)
        layout.addWidget(self.problems, 1)
        bar = QHBoxLayout()
        bar.addWidget(self.progress, 1)
        bar.addWidget(self.cancel_button)
        layout.addLayout(bar)
        layout.addWidget(self.buttons)
        self._plan: ImportPlan | None = None

    @property
    def mode(self) -> str:
        return "good_rows" if self.good_rows.isChecked() else "all_or_nothing"

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import contacts", documents_path(), "CSV files (*.csv *.txt);;All files (*)"
        )
        if path:
            self.load_file(path)

    def load_file(self, path: str) -> BackgroundTask:
        """Read and check ``path`` in the background; the preview lists bad rows by line."""
        self._path, self._plan = path, None
        self.file_label.setText(path)
        self.summary.setText("Checking the file…")
        self.problems.clear()
        self._update_buttons()
        service = self._service
        task = BackgroundTask(lambda _p: service.preview_import(path))
        return self._start(task, self._previewed, self._preview_failed)

    def _previewed(self, plan: ImportPlan) -> None:
        self._plan = plan
        self.problems.setPlainText("\n".join(f"Line {ln}: {why}" for ln, why in plan.problems))
        self._update_buttons()
        self.preview_ready.emit(plan)

    def _preview_failed(self, message: str) -> None:
        self.summary.setText(f"This file cannot be imported: {message}")
        self._update_buttons()
        self.preview_ready.emit(None)

    def _update_buttons(self) -> None:
        """The count that would go in, said on the summary and on the button itself."""
        plan = self._plan
        ready = plan is not None and bool(plan.rows) and self._task is None
        if plan is not None and plan.problems and self.mode == "all_or_nothing":
            ready = False
        self.import_button.setEnabled(ready)
        if plan is not None:
            self.summary.setText(plan.describe(self.mode))
        count = len(plan.rows) if ready and plan is not None else 0
        self.import_button.setText(f"Import {count} contact(s)" if count else "Import")

    def start_import(self) -> BackgroundTask | None:
        """Import the chosen file with the chosen mode, in the background."""
        if self._path is None:
            return None
        service, path, mode = self._service, self._path, self.mode

        # A copy: the import re-checks the plan against the database (moving clashing rows).
        plan = dataclasses.replace(self._plan, rows=list(self._plan.rows),
                                   problems=list(self._plan.problems)) if self._plan else None  # fmt: skip

        def work(progress: Progress) -> ImportReport:
            return service.import_csv(path, mode=mode, plan=plan, progress=progress)

        task = BackgroundTask(work)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        task.progressed.connect(self._show_progress)
        return self._start(task, self._imported, self.summary.setText)

    def _show_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        self.summary.setText(
            describe("Importing contacts", done, total if total >= 0 else None, "rows")
        )

    def _imported(self, result: ImportReport) -> None:
        self.summary.setText(result.describe())
        self.problems.setPlainText(
            "\n".join(f"Line {ln}: {why}" for ln, why in result.skipped_rows)
        )
        self._plan = None
        self.imported.emit(result)

    def _start(self, task: BackgroundTask, on_done, on_fail) -> BackgroundTask:  # type: ignore[no-untyped-def]
        # Mark the task finished before the result handlers run, so they see a settled dialog.
        self._task = task
        task.finished.connect(lambda _r: self._task_done())
        task.failed.connect(lambda _m: self._task_done())
        task.finished.connect(on_done)
        task.failed.connect(on_fail)
        task.start()
        return task

    def _task_done(self) -> None:
        self._task = None
        self.progress.hide()
        self.cancel_button.hide()
        self._update_buttons()

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def reject(self) -> None:
        self._cancel()
        super().reject()

    @property
    def file_name(self) -> str:
        return Path(self._path).name if self._path else ""
