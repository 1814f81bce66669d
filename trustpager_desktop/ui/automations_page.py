"""The Automations page: the automations list, the step editor and the Auto Queue view.

Widgets only show and ask, through their ``AutomationsService``; reads run off the GUI
thread. "Run due items now" runs the dispatcher the window hands the page (a plain
callable: the runtime is the window's to wire) on a worker thread and reports back
through a Qt signal. Names and templates are shown as plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.core import auto_queue, automations
from trustpager_desktop.core.auto_queue import QueueRow
from trustpager_desktop.core.automations import (
    ACTION_LABELS,
    ACTION_TYPES,
    AutomationInput,
    AutomationRow,
    AutomationView,
    EnrollResult,
    StepInput,
)
from trustpager_desktop.core.settings import DEFAULT_PURPOSE
from trustpager_desktop.core.states import QueueStatus
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.ui.common import (
    ERROR_COLOUR,
    WARNING_COLOUR,
    EmptyState,
    TextField,
    ask_yes_no,
    bold,
    coloured,
    heading,
    plain_label,
)
from trustpager_desktop.ui.pause import PAUSED_DETAIL, AutomationPause
from trustpager_desktop.ui.runner import (
    BackgroundTask,
    LatestRead,
    failure_sentence,
    run_in_background,
    wait_until,
)
from trustpager_desktop.ui.schedule_editor import ScheduleEditor
from trustpager_desktop.ui.table_models import RowsTableModel, read_only_table
from trustpager_desktop.usecases.automations import (
    AutomationsOverview,
    AutomationsService,
    EnrolOptions,
    QueueView,
)
from trustpager_desktop.usecases.result import Outcome

Index = QModelIndex | QPersistentModelIndex
SAVE_LABEL = "Save automation"
UNITS = (("minutes", 60), ("hours", 3600), ("days", 86_400))


# -- models ------------------------------------------------------------------------------------


class AutomationListModel(RowsTableModel):
    # Compact, so all columns fit beside the editor at 1024 px; the editor shows the steps.
    headers = ("Automation", "On", "Upcoming", "Sent", "Skipped", "Failed")

    def cell(self, row: AutomationRow, column: int) -> str:
        values = (
            row.name + (" (scheduled)" if row.scheduled else ""),
            "Yes" if row.enabled else "No",
            str(row.pending),
            str(row.sent),
            str(row.skipped),
            str(row.failed),
        )
        return values[column]

    def tooltip(self, row: AutomationRow, column: int) -> str | None:
        if column == 0:
            return f"{row.name}: {row.step_count} step(s)" + (
                ", on a schedule" if row.scheduled else ""
            )
        return None


class QueueModel(RowsTableModel):
    headers = ("Due", "Status", "Automation", "Step", "Contact", "Reason")

    def __init__(self, zone, parent: QWidget | None = None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(parent)
        self._zone = zone  # () -> the business time zone's name (a setting that can change)

    def cell(self, row: QueueRow, column: int) -> str:
        values = (
            format_time(row.due_at, self._zone()),
            row.status_label,
            row.automation_name,
            f"{row.step_position}. {row.action_label}",
            row.contact_name,
            row.reason,
        )
        return values[column]


# -- the step editor ---------------------------------------------------------------------------


class StepEditor(QWidget):
    """Edits one step: action type, then the template, the wait or the task title."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.action = QComboBox()
        for action in ACTION_TYPES:
            self.action.addItem(ACTION_LABELS[action], action)
        self.template = TextField()
        self.template.setPlaceholderText("Hi {first_name}, ... Reply STOP to opt out.")
        self.template.setMaximumHeight(90)
        self.wait_amount = QSpinBox()
        self.wait_amount.setRange(0, 100_000)
        self.wait_unit = QComboBox()
        for label, seconds in UNITS:
            self.wait_unit.addItem(label, seconds)
        self.task_title = QLineEdit()
        self.task_title.setPlaceholderText("Call {first_name} to confirm")
        self.pages = QStackedWidget()
        sms = QWidget()
        sms_layout = QVBoxLayout(sms)
        sms_layout.setContentsMargins(0, 0, 0, 0)
        sms_layout.addWidget(self.template)
        sms_layout.addWidget(
            wrapped_label(
                "Fields: {first_name} {last_name} {full_name} {company}. "
                "Texts to opted-out contacts are skipped when due."
            )  # fmt: skip
        )
        wait = QWidget()
        wait_layout = QHBoxLayout(wait)
        wait_layout.setContentsMargins(0, 0, 0, 0)
        wait_layout.addWidget(self.wait_amount)
        wait_layout.addWidget(self.wait_unit)
        wait_layout.addStretch(1)
        self.pages.addWidget(sms)
        self.pages.addWidget(wait)
        self.pages.addWidget(self.task_title)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Action", self.action)
        form.addRow("Details", self.pages)
        self.action.currentIndexChanged.connect(self._on_action)
        for signal in (
            self.template.textChanged,
            self.wait_amount.valueChanged,
            self.wait_unit.currentIndexChanged,
            self.task_title.textChanged,
        ):
            signal.connect(self.changed)

    def _on_action(self) -> None:
        self.pages.setCurrentIndex(ACTION_TYPES.index(self.action.currentData()))
        self.changed.emit()

    def set_step(self, step: StepInput) -> None:
        blockers = [self.blockSignals(True)]
        self.action.setCurrentIndex(ACTION_TYPES.index(step.action_type))
        self.pages.setCurrentIndex(ACTION_TYPES.index(step.action_type))
        self.template.setPlainText(step.template)
        self.task_title.setText(step.task_title)
        unit_index = 0
        for i, (_label, seconds) in enumerate(UNITS):
            if step.wait_seconds and step.wait_seconds % seconds == 0:
                unit_index = i
        self.wait_unit.setCurrentIndex(unit_index)
        self.wait_amount.setValue(step.wait_seconds // UNITS[unit_index][1])
        self.blockSignals(blockers[0])

    def step(self) -> StepInput:
        action = self.action.currentData()
        return StepInput(
            action_type=action,
            template=self.template.toPlainText() if action == automations.SEND_SMS else "",
            wait_seconds=self.wait_amount.value() * self.wait_unit.currentData()
            if action == automations.WAIT
            else 0,
            task_title=self.task_title.text() if action == automations.CREATE_TASK else "",
        )


class AutomationEditor(QWidget):
    """Name, enabled, and the ordered steps of one automation; Save validates in core.
    Opening an automation reads it off the GUI thread: until it arrives the controls are
    off and "Loading…" shows; the automation asked for last wins."""

    saved = Signal(int)
    save_failed = Signal(str)  # the store refused the save (the sentence shown)
    saving_changed = Signal(bool)  # a save started (True) or came back (False)
    gone = Signal(str)  # the automation opened or saved was deleted elsewhere (its name)
    loaded = Signal()  # the automation asked for is in the editor (or could not be read)

    def __init__(self, service: AutomationsService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.stages: list[str] = []  # read with the page's list, off the GUI thread
        self._automation_id: int | None = None
        self._wanted: int | None = None  # the automation asked for last
        self._wanted_name = ""
        self._read = LatestRead(self, self._shown, self._read_failed, again=self._read_wanted,
                                loaded=self.loaded.emit)  # fmt: skip
        self.body = QWidget()  # every control: off while an automation is read
        self.loading_label = plain_label("Loading…")
        self.loading_label.setVisible(False)
        self._steps: list[StepInput] = []
        self.name = QLineEdit()
        self.name.setPlaceholderText("e.g. Appointment reminder")
        self.enabled = QCheckBox("Enabled")
        self.purpose = QComboBox()  # the SMS purpose it serves (shown once there are two)
        self.purpose.setAccessibleName("Purpose")
        self.purpose.setToolTip("Contacts who declined this purpose are skipped.")
        self.steps = QListWidget()
        self.step_editor = StepEditor()
        self.add_button = QPushButton("Add step")
        self.remove_button = QPushButton("Remove")
        self.up_button = QPushButton("Move up")
        self.down_button = QPushButton("Move down")
        self.schedule = ScheduleEditor(
            zone=lambda: service.zone,
            now=service.clock.now,
            stages=lambda: self.stages,
        )
        self._saving: BackgroundTask | None = None
        self.save_button = QPushButton(SAVE_LABEL)
        self.save_button.setDefault(True)
        self.message = coloured(plain_label(wrap=True), ERROR_COLOUR)
        self.message.setObjectName("validationMessage")
        self._build()
        self.load(None)

    def _build(self) -> None:
        top = QFormLayout()
        top.addRow("Name", self.name)
        top.addRow("", self.enabled)
        top.addRow("Purpose", self.purpose)
        self._purpose_row = top
        buttons = QHBoxLayout()
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.steps.setMinimumHeight(90)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.loading_label)
        outer.addWidget(self.body, 1)
        layout = QVBoxLayout(self.body)
        layout.addLayout(top)
        layout.addWidget(wrapped_label("Steps run in order; a wait delays the steps after it."))
        layout.addWidget(self.steps, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.step_editor)
        layout.addWidget(self.schedule)
        layout.addWidget(self.message)
        layout.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)
        self.add_button.clicked.connect(self.add_step)
        self.remove_button.clicked.connect(self.remove_step)
        self.up_button.clicked.connect(lambda: self.move_step(-1))
        self.down_button.clicked.connect(lambda: self.move_step(1))
        self.save_button.clicked.connect(self.save)
        self.steps.currentRowChanged.connect(self._on_row)
        self.step_editor.changed.connect(self._on_step_changed)

    # -- state -------------------------------------------------------------------------

    def load(self, automation_id: int | None, name: str = "") -> None:
        """Show an existing automation (``name`` says which in ``gone`` if it was deleted
        meanwhile), read off the GUI thread; or at once an empty one for ``None``."""
        self._wanted, self._wanted_name = automation_id, name
        if automation_id is None:
            self._set_loading(False)
            self._show_input(
                None, AutomationInput("", [StepInput("send_sms", template="Hi {first_name}, ")])
            )
            return
        self._set_loading(True)
        self._read_wanted()

    def _read_wanted(self) -> None:
        service, automation_id = self.service, self._wanted
        if automation_id is not None:
            self._read.start(lambda: (automation_id, service.automation(automation_id)))

    @property
    def is_loading(self) -> bool:
        return self._read.is_loading

    def _set_loading(self, loading: bool) -> None:
        """Off with "Loading…" while an automation is read: never another one's name and
        steps under this one's selection, and no Save of half-shown data."""
        self.loading_label.setVisible(loading)
        self.body.setEnabled(not loading and self._saving is None)
        if loading:
            self.loading_label.setText("Loading…")  # not an earlier automation's failure
            self.name.clear()
            self._steps = []
            self._refresh_list(0)
            self.message.clear()

    def _shown(self, read: tuple[int, Outcome[AutomationView]]) -> None:
        automation_id, outcome = read
        if automation_id != self._wanted:  # an older click arriving late: never shown
            return
        if outcome.gone:
            self._set_loading(False)
            self.gone.emit(self._wanted_name)
            return
        if not outcome.ok:
            self.loading_label.setText(f"This automation could not be opened: {outcome.message}")
            return
        self._set_loading(False)
        self._show_input(automation_id, outcome.unwrap().as_input())

    def _read_failed(self, error: Exception) -> None:
        self.loading_label.setText(
            f"This automation could not be opened: {failure_sentence(error)}"
        )

    def _show_input(self, automation_id: int | None, data: AutomationInput) -> None:
        self._automation_id = automation_id
        self.schedule.set_schedule(data.schedule)
        self.name.setText(data.name)
        self.enabled.setChecked(data.enabled)
        self._show_purposes(data.purpose)
        self._steps = list(data.steps)
        self.message.clear()
        self._refresh_list(0)

    def _show_purposes(self, current: str) -> None:
        """The business's purposes, ``current`` chosen; the row shows only once a second
        purpose exists (or the automation serves one no longer listed)."""
        purposes = list(self.service.settings.purposes)
        if current not in purposes:
            purposes.append(current)
        self.purpose.clear()
        self.purpose.addItems(purposes)
        self.purpose.setCurrentText(current)
        self._purpose_row.setRowVisible(self.purpose, len(purposes) > 1)

    def _refresh_list(self, select: int) -> None:
        self.steps.blockSignals(True)
        self.steps.clear()
        for position, step in enumerate(self._steps, start=1):
            QListWidgetItem(f"{position}. {_summary(step)}", self.steps)
        self.steps.blockSignals(False)
        if self._steps:
            self.steps.setCurrentRow(max(0, min(select, len(self._steps) - 1)))
            self._on_row(self.steps.currentRow())
        self._update_buttons()

    def _update_buttons(self) -> None:
        row = self.steps.currentRow()
        self.remove_button.setEnabled(row >= 0)
        self.up_button.setEnabled(row > 0)
        self.down_button.setEnabled(0 <= row < len(self._steps) - 1)
        self.step_editor.setEnabled(row >= 0)

    def _on_row(self, row: int) -> None:
        if 0 <= row < len(self._steps):
            self.step_editor.set_step(self._steps[row])
        self._update_buttons()

    def _on_step_changed(self) -> None:
        row = self.steps.currentRow()
        if 0 <= row < len(self._steps):
            self._steps[row] = self.step_editor.step()
            self.steps.item(row).setText(f"{row + 1}. {_summary(self._steps[row])}")

    # -- actions -----------------------------------------------------------------------

    def add_step(self) -> None:
        self._steps.append(StepInput("wait", wait_seconds=86_400))
        self._refresh_list(len(self._steps) - 1)

    def remove_step(self) -> None:
        row = self.steps.currentRow()
        if 0 <= row < len(self._steps):
            del self._steps[row]
            self._refresh_list(row)

    def move_step(self, offset: int) -> None:
        row = self.steps.currentRow()
        target = row + offset
        if 0 <= row < len(self._steps) and 0 <= target < len(self._steps):
            self._steps[row], self._steps[target] = self._steps[target], self._steps[row]
            self._refresh_list(target)

    def current_input(self) -> AutomationInput:
        """What the editor shows. Raises UserInputError when the schedule is not usable."""
        return AutomationInput(
            self.name.text(), list(self._steps), self.enabled.isChecked(), self.schedule.schedule(),
            self.purpose.currentText() or DEFAULT_PURPOSE,
        )  # fmt: skip

    @property
    def is_saving(self) -> bool:
        return self._saving is not None

    def save(self) -> bool:
        """Validate here, then store off the GUI thread: ``saved`` (or ``gone``) fires, or
        the refusal shows under the steps, once it is stored. False when nothing was
        started (the schedule needs a fix, or a save already runs)."""
        if self._saving is not None:
            return False  # a second click while the first save runs
        if not self.schedule.check():
            self.message.setText("Not saved: the schedule needs a fix (see above).")
            return False
        service, automation_id, data = self.service, self._automation_id, self.current_input()
        self._saving = BackgroundTask(lambda _progress: service.save(automation_id, data), self)
        self._saving.finished.connect(self._saved)
        self._saving.errored.connect(
            lambda error: self._saved(Outcome.failure(failure_sentence(error)))
        )
        self._show_saving(True)
        self._saving.start()
        return True

    def _show_saving(self, saving: bool) -> None:
        """Off while a save runs: nothing it stores can change under it, no second Save."""
        self.body.setEnabled(not saving)
        self.save_button.setText("Saving…" if saving else SAVE_LABEL)
        if saving:
            self.message.clear()
        self.saving_changed.emit(saving)

    def _saved(self, outcome: Outcome[AutomationView]) -> None:
        self._saving = None
        self._show_saving(False)
        if outcome.gone:  # deleted on another desktop while being edited
            self.gone.emit(self.name.text())
            return
        if not outcome.ok:  # what was typed stays for a fix and another Save
            self.message.setText(outcome.message)
            self.save_failed.emit(outcome.message)
            return
        view = outcome.unwrap()
        self._automation_id = view.id
        self.message.clear()
        self.saved.emit(view.id)


def _summary(step: StepInput) -> str:
    return automations.StepView(0, 0, step.action_type, step.template, step.wait_seconds,
                                step.task_title).summary  # fmt: skip


# -- the page ------------------------------------------------------------------------------------


class AutomationsPage(QWidget):
    """Automations (list + editor) and the Auto Queue, as two tabs, under a pause banner."""

    dispatch_finished = Signal(str)
    loaded = Signal()  # the list and the queue on screen are fresh

    def __init__(
        self,
        service: AutomationsService,
        run_due: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        """``run_due`` runs the due items now (on a worker thread) and describes the run."""
        super().__init__(parent)
        self.service = service
        self._run_due = run_due
        self._job: BackgroundTask | None = None
        self._deleting: BackgroundTask | None = None
        self._read = LatestRead(self, self._show_overview, self._load_failed, again=self.refresh,
                                loaded=self.loaded.emit)  # fmt: skip
        self._select_first = True  # open on a real automation, not an empty draft
        self._pause: AutomationPause | None = None
        self.list_model = AutomationListModel(self)
        self.queue_model = QueueModel(lambda: service.zone, self)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_automations_tab(), "Automations")
        self.tabs.addTab(self._build_queue_tab(), "Auto Queue")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(heading("Automations", 4))
        layout.addWidget(self._build_pause_banner())
        layout.addWidget(self.tabs, 1)
        self.refresh()

    def _build_pause_banner(self) -> QFrame:
        self.pause_banner = QFrame()
        self.pause_banner.setFrameShape(QFrame.Shape.Box)
        self.pause_text = coloured(bold(plain_label(PAUSED_DETAIL, wrap=True)), WARNING_COLOUR)
        self.resume_button = QPushButton("Resume automations")
        self.resume_button.clicked.connect(lambda: self._set_paused(False))
        row = QHBoxLayout(self.pause_banner)
        row.setContentsMargins(8, 6, 8, 6)
        row.addWidget(self.pause_text, 1)
        row.addWidget(self.resume_button)
        self.pause_banner.setVisible(False)
        return self.pause_banner

    def attach_pause(self, pause: AutomationPause) -> None:
        """Show the window's pause state in the banner (and resume from it)."""
        self._pause = pause
        pause.changed.connect(self._show_pause)
        pause.ready_changed.connect(self.resume_button.setEnabled)
        self._show_pause(pause.paused)
        self.resume_button.setEnabled(pause.ready)

    def _set_paused(self, paused: bool) -> None:
        if self._pause is not None:
            self._pause.set_paused(paused)

    def _show_pause(self, paused: bool) -> None:
        self.pause_banner.setVisible(paused)
        self.run_button.setToolTip(
            "Paused: nothing is sent until you resume." if paused else "Run the due items now."
        )

    def _build_automations_tab(self) -> QWidget:
        self.list_view = read_only_table(self.list_model)
        header = self.list_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        self.list_empty = EmptyState(
            self.list_view, "No automations yet. Press New automation to build one."
        )
        self.new_button = QPushButton("New automation")
        self.delete_button = QPushButton("Delete…")
        self.editor = AutomationEditor(self.service)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.list_view, 1)
        row = QHBoxLayout()
        row.addWidget(self.new_button)
        row.addWidget(self.delete_button)
        row.addStretch(1)
        left_layout.addLayout(row)
        editor_area = QScrollArea()  # the editor is taller than a 700-pixel screen allows
        editor_area.setWidgetResizable(True)
        editor_area.setFrameShape(QFrame.Shape.NoFrame)
        editor_area.setWidget(self.editor)
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(editor_area)
        splitter.setChildrenCollapsible(False)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        # Room for a readable name beside the four counts, even at 1024x700.
        left.setMinimumWidth(self.list_view.fontMetrics().horizontalAdvance("x" * 44))
        self.new_button.clicked.connect(self.new_automation)
        self.delete_button.clicked.connect(self.delete_selected)
        self.list_view.selectionModel().currentRowChanged.connect(self._on_automation_selected)
        self.editor.saved.connect(self._on_saved)
        self.editor.saving_changed.connect(lambda _saving: self._show_writing())
        self.editor.gone.connect(self._gone)
        return splitter

    def _build_queue_tab(self) -> QWidget:
        self.queue_view = read_only_table(self.queue_model)
        header = self.queue_view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.queue_empty = EmptyState(self.queue_view, "")
        self.automation_filter = QComboBox()
        self.automation_filter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.automation_filter.setMinimumContentsLength(14)
        self.status_filter = QComboBox()
        self.status_filter.addItem("Any status", None)
        self.status_filter.addItem(
            "Upcoming", [QueueStatus.PENDING, QueueStatus.IN_FLIGHT, QueueStatus.HELD]
        )
        for status in (QueueStatus.HELD, QueueStatus.SENT, QueueStatus.SKIPPED, QueueStatus.FAILED,
                       QueueStatus.REVIEW, QueueStatus.DONE):  # fmt: skip
            self.status_filter.addItem(auto_queue.STATUS_LABELS[status], [status])
        self.run_button = QPushButton("Run due items now")
        self.queue_counts = plain_label(wrap=True)
        self.run_status = plain_label(wrap=True)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Automation"))
        bar.addWidget(self.automation_filter)
        bar.addWidget(QLabel("Status"))
        bar.addWidget(self.status_filter)
        bar.addStretch(1)
        bar.addWidget(self.run_button)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addLayout(bar)
        layout.addWidget(self.queue_view, 1)
        layout.addWidget(self.queue_counts)
        layout.addWidget(self.run_status)
        self.automation_filter.currentIndexChanged.connect(self.refresh_queue)
        self.status_filter.currentIndexChanged.connect(self.refresh_queue)
        self.run_button.clicked.connect(self.run_due_now)
        return page

    # -- refreshing --------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the list, the filters and the queue off the GUI thread (keeps the
        selected automation); ``loaded`` fires once they are on screen."""
        automation_id = self.automation_filter.currentData()
        statuses = self.status_filter.currentData()
        self._read.start(lambda: self.service.overview(automation_id, statuses))

    def refresh_queue(self) -> None:
        """A filter changed: re-read (the list is read with it, in the same session)."""
        self.refresh()

    @property
    def is_loading(self) -> bool:
        """True while the list and queue, or the automation opened in the editor, are read."""
        return self._read.is_loading or self.editor.is_loading

    def wait_until_loaded(self, timeout_ms: int = 15_000) -> bool:
        """Run the event loop until the current reads are on screen (for ``--screenshot``)."""
        return wait_until(lambda: not self.is_loading, timeout_ms)

    def _load_failed(self, error: Exception) -> None:
        self.run_status.setText(f"The automations could not be read: {error}")

    def _show_overview(self, data: AutomationsOverview) -> None:
        self.editor.stages = list(data.stages)
        rows = list(data.automations)
        selected = self.selected_automation_id()
        self.list_model.set_rows(rows)
        position = next((i for i, r in enumerate(rows) if r.id == selected), None)
        if position is not None:
            self.list_view.selectionModel().blockSignals(True)
            self.list_view.selectRow(position)
            self.list_view.selectionModel().blockSignals(False)
        current = self.automation_filter.currentData()
        self.automation_filter.blockSignals(True)
        self.automation_filter.clear()
        self.automation_filter.addItem("All automations", None)
        for row in rows:
            self.automation_filter.addItem(row.name, row.id)
        found = self.automation_filter.findData(current)
        self.automation_filter.setCurrentIndex(max(0, found))
        self.automation_filter.blockSignals(False)
        self._show_writing()
        self._show_queue(data.queue)
        if self._select_first and rows and not self.is_writing:
            self._select_first = False
            self.list_view.selectRow(0)

    def _show_queue(self, queue: QueueView) -> None:
        self.queue_model.set_rows(list(queue.rows))
        self.queue_counts.setText(counts_text(queue.counts))
        filtered = (
            self.status_filter.currentIndex() > 0
            or self.automation_filter.currentData() is not None
        )
        self.queue_empty.set_text(
            "Nothing in the Auto Queue matches these filters."
            if filtered
            else "The Auto Queue is empty. Enrol contacts in an automation (Enrol… on "
            "Contacts, or a schedule) and their steps appear here."
        )

    def selected_automation_id(self) -> int | None:
        index = self.list_view.currentIndex()
        row = self.list_model.row_at(index.row()) if index.isValid() else None
        return row.id if row is not None else None

    def _on_automation_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = self.list_model.row_at(current.row()) if current.isValid() else None
        self._show_writing()
        if row is not None:
            self.editor.load(row.id, row.name)

    def _gone(self, name: str) -> None:
        """Another desktop deleted the automation: say so and show the list as it is now."""
        self.show_message(
            f"'{name}' no longer exists: it was deleted, perhaps on another computer. "
            "The list now shows what is left."
        )
        self.editor.load(None)
        self.refresh()

    def show_message(self, text: str) -> None:
        """A plain message box (tests replace this)."""
        QMessageBox.information(self, "Automations", text)

    def _on_saved(self, _automation_id: int) -> None:
        self.refresh()

    def new_automation(self) -> None:
        self.list_view.clearSelection()
        self.list_view.setCurrentIndex(QModelIndex())
        self.editor.load(None)
        self.editor.name.setFocus()

    def confirm_delete(self, name: str) -> bool:
        """Ask before deleting (tests replace this)."""
        return ask_yes_no(
            self,
            "Delete automation",
            f"Delete '{name}'?\n\nIts steps and the texts still waiting in the Auto Queue are "
            "removed; what was already sent stays in the history and the activity log.",
        )

    def delete_selected(self) -> None:
        """Ask, then delete off the GUI thread; the list and the editor are off meanwhile."""
        index = self.list_view.currentIndex()
        row = self.list_model.row_at(index.row()) if index.isValid() else None
        if row is None or self.is_writing or not self.confirm_delete(row.name):
            return
        service, automation_id, name = self.service, row.id, row.name
        self._deleting = BackgroundTask(lambda _progress: service.delete(automation_id), self)
        self._deleting.finished.connect(lambda outcome: self._deleted(name, outcome))
        self._deleting.errored.connect(
            lambda error: self._deleted(name, Outcome.failure(failure_sentence(error)))
        )
        self._deleting.start()
        self._show_writing()

    def _deleted(self, name: str, outcome: Outcome[None]) -> None:
        self._deleting = None
        self._show_writing()
        if outcome.gone:
            self._gone(name)
            return
        if not outcome.ok:
            self.show_message(f"'{name}' was not deleted: {outcome.message}")
            return
        self.editor.load(None)
        self.refresh()

    @property
    def is_writing(self) -> bool:
        """True while an automation is saved or deleted (off the GUI thread)."""
        return self._deleting is not None or self.editor.is_saving

    def _show_writing(self) -> None:
        """While a save or a delete runs, nothing may choose another automation, start a
        new one or delete: the write's result lands on the automation it was asked for."""
        writing, deleting = self.is_writing, self._deleting is not None
        for control in (self.list_view, self.new_button):
            control.setEnabled(not writing)
        self.editor.setEnabled(not deleting)
        self.delete_button.setText("Deleting…" if deleting else "Delete…")
        self.delete_button.setEnabled(not writing and self.selected_automation_id() is not None)

    # -- run due items now (off the GUI thread) ------------------------------------------

    def run_due_now(self) -> None:
        self.run_button.setEnabled(False)
        self.run_status.setText("Running due items…")
        self._job = run_in_background(
            self._run_due,
            self._on_dispatch_done,
            lambda exc: self._on_dispatch_done(f"Failed: {exc}"),
        )

    def _on_dispatch_done(self, message: str) -> None:
        self.run_button.setEnabled(True)
        when = format_time(self.service.clock.now(), self.service.zone)
        self.run_status.setText(f"Last run ({when}): {message}")
        self.refresh()
        self.dispatch_finished.emit(message)


QUEUE_COUNT_ORDER = (
    ("Upcoming", (QueueStatus.PENDING, QueueStatus.IN_FLIGHT)),
    ("sent", (QueueStatus.SENT,)),
    ("skipped", (QueueStatus.SKIPPED,)),
    ("failed", (QueueStatus.FAILED,)),
    ("need review", (QueueStatus.REVIEW,)),
    ("done", (QueueStatus.DONE,)),
)


def counts_text(counts: dict[str, int]) -> str:
    """'In the queue: 3 upcoming, 12 sent, 2 skipped, 0 failed' for every item, not one run."""
    parts = [f"{sum(counts.get(s, 0) for s in statuses)} {label.lower()}"
             for label, statuses in QUEUE_COUNT_ORDER]  # fmt: skip
    return "In the queue: " + ", ".join(parts) + "."


# -- enrolling from the contact page or the browser ----------------------------------------------


class EnrollDialog(QDialog):
    """Pick an automation for a list of contacts; shows the result (and opt-out note).
    The automations and the consent warning are read off the GUI thread when it opens;
    until they arrive the choice and Enrol are off."""

    loaded = Signal()  # the automations and the warnings are shown (or could not be read)
    enrol_failed = Signal(str)  # the enrolment was refused (the sentence shown)

    def __init__(
        self,
        service: AutomationsService,
        contact_ids: Sequence[int],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Enrol in automation")
        # Wide enough that the window manager shows the whole title (it was cut off).
        self.setMinimumWidth(
            max(440, self.fontMetrics().horizontalAdvance("Enrol in automation") * 2)
        )
        self.service = service
        self._contact_ids = list(contact_ids)
        self._options: EnrolOptions | None = None
        self.result_value: EnrollResult | None = None
        self.automation = QComboBox()
        self.automation.setEnabled(False)
        self.message = plain_label("Loading the automations…", wrap=True)
        self.consent_warning = coloured(plain_label(wrap=True), WARNING_COLOUR)
        self.consent_warning.setVisible(False)
        self.automation.currentIndexChanged.connect(self._warn)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.enrol_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.enrol_button.setText("Enrol")
        self.enrol_button.setEnabled(False)
        self.cancel_button = buttons.button(QDialogButtonBox.StandardButton.Cancel)
        self._enrolling: BackgroundTask | None = None
        buttons.accepted.connect(self.enroll)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(wrapped_label(f"Enrol {len(self._contact_ids)} contact(s) in:"))
        layout.addWidget(self.automation)
        layout.addWidget(self.consent_warning)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        ids = list(self._contact_ids)  # the pool thread gets plain data and the service
        self._read = BackgroundTask(lambda _progress: service.enrol_options(ids), self)
        self._read.finished.connect(self._show_options)
        self._read.failed.connect(self._read_failed)
        self._read.start()

    @property
    def is_loading(self) -> bool:
        return self._options is None and not self._read.is_done

    def _show_options(self, options: EnrolOptions) -> None:
        self._options = options
        self.automation.blockSignals(True)
        for choice in options.choices:
            self.automation.addItem(choice.label, choice.id)
        self.automation.blockSignals(False)
        has_any = bool(options.choices)
        self.automation.setEnabled(has_any)
        self.enrol_button.setEnabled(has_any)
        self.message.setText(
            "" if has_any else "There are no automations yet. Create one on the Automations page."
        )
        self._warn()
        self.loaded.emit()

    def _read_failed(self, sentence: str) -> None:
        self.message.setText(f"The automations could not be read: {sentence}")
        self.loaded.emit()

    def _warn(self, *_: object) -> None:
        """Before enrolling: how many are opted out, held or declined the chosen
        automation's purpose, from the one consent state."""
        text = self._options.warning_for(self.automation.currentData()) if self._options else ""
        self.consent_warning.setText(text)
        self.consent_warning.setVisible(bool(text))

    def enroll(self) -> None:
        """Enrol off the GUI thread; the dialog closes once the enrolment is stored and
        stays open with the reason (the choice on again) when it is refused."""
        automation_id = self.automation.currentData()
        if self._options is None or automation_id is None or self.is_enrolling:
            return
        service, ids = self.service, list(self._contact_ids)
        self._enrolling = BackgroundTask(lambda _progress: service.enroll(automation_id, ids), self)
        self._enrolling.finished.connect(self._enrolled)
        self._enrolling.errored.connect(
            lambda error: self._enrolled(Outcome.failure(failure_sentence(error)))
        )
        self._show_enrolling(True)
        self._enrolling.start()

    @property
    def is_enrolling(self) -> bool:
        return self._enrolling is not None

    def _show_enrolling(self, enrolling: bool) -> None:
        for control in (self.automation, self.enrol_button, self.cancel_button):
            control.setEnabled(not enrolling)
        if enrolling:
            self.message.setText("Enrolling…")

    def _enrolled(self, outcome: Outcome[EnrollResult]) -> None:
        self._enrolling = None
        self._show_enrolling(False)
        if not outcome.ok:
            self.message.setText(outcome.message)
            self.enrol_failed.emit(outcome.message)
            return
        self.result_value = outcome.unwrap()
        self.message.setText(self.result_value.describe())
        self.accept()

    def reject(self) -> None:
        """Not while an enrolment is stored: closing then would hide whether it happened."""
        if not self.is_enrolling:
            super().reject()


def wrapped_label(text: str) -> QLabel:
    return plain_label(text, wrap=True)
