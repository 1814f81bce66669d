"""Opportunities: a paged list with a stage filter and a search, a panel to change or
delete one, and a dialog to add one. The panel has no Communication Preferences card on
purpose: it shows the contact's SMS status and links to the contact page, where the card is.

Every read goes through ``OpportunitiesService`` on the background runner: the list's
first page for a filter (the latest filter wins; "Loading…" until it is in), each further
page as the table scrolls, and the panel's opportunity with its contact's consent state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.core.contacts import ContactRow
from trustpager_desktop.core.opportunities import DEFAULT_STAGES, OpportunityInput, OpportunityRow
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.ui.common import (
    ERROR_COLOUR,
    OK_COLOUR,
    WARNING_COLOUR,
    Card,
    ElidedLabel,
    EmptyState,
    ask_yes_no,
    coloured,
    field_error_label,
    heading,
    plain_label,
)
from trustpager_desktop.ui.consent_view import show_state, status_text, tooltip
from trustpager_desktop.ui.runner import (
    BackgroundTask,
    LatestRead,
    failure_sentence,
    run_in_background,
    wait_until,
)
from trustpager_desktop.ui.table_models import Page, PagedTableModel
from trustpager_desktop.ui.theme import Tone
from trustpager_desktop.usecases.opportunities import (
    PAGE_SIZE,
    OpportunitiesService,
    OpportunityDetail,
    OpportunityFilter,
)
from trustpager_desktop.usecases.result import Outcome

Index = QModelIndex | QPersistentModelIndex
HEADERS = ["Title", "Contact", "Value", "Stage"]
ALL_STAGES = "All stages"
LOADING = "Loading…"
SAVING = "Saving…"
DELETING = "Deleting…"


class OpportunityTableModel(PagedTableModel):
    """The list, one page at a time, read off the GUI thread.

    ``set_filter`` empties the table and reads the filter's first page (the latest filter
    wins: a page read for an older one is never shown); ``fetchMore`` reads one more page
    in the background, and ``canFetchMore`` is False while one is on its way. ``loaded``
    fires once a first page is in (or its read failed: ``failed`` says why first)."""

    PAGE_SIZE = PAGE_SIZE
    headers = tuple(HEADERS)

    loaded = Signal()
    fetched = Signal(int)  # rows added by one more page
    failed = Signal(str)

    def __init__(self, service: OpportunitiesService, parent: QObject | None = None) -> None:
        super().__init__(OpportunityFilter(), parent)
        self._service = service
        self.total = 0
        self.stages: tuple[str, ...] = ()
        self.first_page_shown.connect(self.loaded)
        self.further_page_shown.connect(self.fetched)
        self.read_failed.connect(self.failed)
        self.reload()

    @property
    def filter(self) -> OpportunityFilter:
        return self._query

    @property
    def stage(self) -> str | None:
        return self._query.stage

    def set_filter(self, wanted: OpportunityFilter) -> None:
        """Show only ``wanted``: the table empties ("Loading…") until its first page is in."""
        if wanted == self._query:
            return
        self.clear()
        self._want(wanted)

    def set_stage(self, stage: str | None) -> None:
        self.set_filter(OpportunityFilter(stage or None, self._query.query))

    def first_page_reader(self, query: OpportunityFilter) -> Callable[[], Page]:
        service, limit = self._service, self.PAGE_SIZE

        def read() -> Page:
            first = service.first_page(query, limit)
            return Page.at_offset(first.rows, 0, limit, extra=first)

        return read

    def further_page_reader(self, query: OpportunityFilter, after: int) -> Callable[[], Page]:
        service, limit = self._service, self.PAGE_SIZE
        return lambda: Page.at_offset(service.rows(query, after, limit), after, limit)

    def first_page_taken(self, page: Page) -> None:
        self.total, self.stages = page.extra.total, page.extra.stages

    def _first_page_settled(self) -> None:
        super()._first_page_settled()
        if self.error is not None:
            self.loaded.emit()  # after a failure too: the page stops saying "Loading…"

    def row_data(self, row: int) -> OpportunityRow:
        return self._rows[row]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return [row.title, row.contact_name, row.value_text, row.stage][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None


def stage_combo(stages: Sequence[str], current: str = "") -> QComboBox:
    """An editable stage list: the pipeline's stages, or a new one typed in."""
    combo = QComboBox()
    combo.setEditable(True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    combo.addItems(stages)
    combo.setCurrentText(current or (stages[0] if stages else ""))
    combo.setAccessibleName("Stage")
    return combo


class OpportunityPanel(Card):
    """One opportunity: its contact (and their SMS status), title, value and stage, which
    can be changed or deleted here; "Open full contact record" leads to the consent card.

    It is read off the GUI thread each time it is shown (the contact's consent state
    changes elsewhere); until it is in, the panel says "Loading…" and nothing can be
    edited, and the latest opportunity asked for wins. Save and delete run on the
    background runner too: while one runs the panel says so and nothing can be edited,
    saved or deleted; ``write_finished(ok)`` once its result is shown."""

    open_contact_requested = Signal(int)
    saved = Signal(int)  # the opportunity changed in the database
    deleted = Signal(int)  # the opportunity is gone (deleted here or elsewhere)
    loaded = Signal()
    write_finished = Signal(bool)  # a save or delete came back (True: it was done)

    def __init__(self, service: OpportunitiesService, parent: QWidget | None = None) -> None:
        super().__init__("Opportunity", parent)
        self._service = service
        self.opportunity: OpportunityRow | None = None
        self._wanted: int | None = None
        self._writing: BackgroundTask | None = None  # the save or delete on its way
        self._read = LatestRead(self, self._shown, self._read_failed,
                                again=self._read_wanted, loaded=self.loaded.emit)  # fmt: skip
        self.heading = heading("Choose an opportunity on the left.", 3)
        self.heading.setWordWrap(True)
        self.contact = ElidedLabel()
        self.sms_status = plain_label(wrap=True)
        self.title_edit = QLineEdit()
        self.title_edit.setAccessibleName("Title")
        self.value_edit = QLineEdit()
        self.value_edit.setAccessibleName("Value")
        self.stage_edit = stage_combo([])
        self.created = plain_label()
        self.errors = {name: field_error_label() for name in ("title", "value", "stage")}
        form = QFormLayout()
        form.addRow("Contact", self.contact)
        form.addRow("Texting", self.sms_status)
        for label, name, editor in (
            ("Title", "title", self.title_edit),
            ("Value", "value", self.value_edit),
            ("Stage", "stage", self.stage_edit),
        ):
            column = QVBoxLayout()
            column.setSpacing(2)
            column.addWidget(editor)
            column.addWidget(self.errors[name])
            form.addRow(label, column)
        form.addRow("Created", self.created)
        self.save_button = QPushButton("Save changes")
        self.save_button.clicked.connect(self.save)
        self.delete_button = QPushButton("Delete…")
        self.delete_button.setAccessibleName("Delete opportunity")
        self.delete_button.clicked.connect(self._ask_delete)
        self.result = plain_label(wrap=True)
        self.open_contact_button = QPushButton("Open full contact record →")
        self.open_contact_button.setAccessibleName("Open full contact record")
        self.open_contact_button.setToolTip(
            "SMS consent and messages are on the contact record (Communication Preferences)."
        )
        self.open_contact_button.clicked.connect(self._open_contact)
        hint = plain_label("Texting and SMS opt-out are managed on the contact record.", wrap=True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        save_row = QHBoxLayout()
        save_row.addWidget(self.result, 1)
        save_row.addWidget(self.delete_button)
        save_row.addWidget(self.save_button)
        self.body.addWidget(self.heading)
        self.body.addLayout(form)
        self.body.addLayout(save_row)
        self.body.addSpacing(8)
        self.body.addWidget(self.open_contact_button)
        self.body.addWidget(hint)
        self.body.addStretch(1)
        self._set_editing(False)

    def _set_editing(self, enabled: bool) -> None:
        """Editors and buttons on for a shown opportunity; the editors, Save and Delete stay
        off while a write runs (a second click would start a second write)."""
        writable = enabled and self._writing is None
        for widget in (self.title_edit, self.value_edit, self.stage_edit, self.save_button,
                       self.delete_button):  # fmt: skip
            widget.setEnabled(writable)
        self.open_contact_button.setEnabled(enabled)

    @property
    def is_loading(self) -> bool:
        return self._read.is_loading

    @property
    def is_writing(self) -> bool:
        """A save or delete started here has not come back yet."""
        return self._writing is not None

    @property
    def wanted(self) -> int | None:
        """The opportunity shown, or asked for and on its way."""
        return self._wanted

    def show_opportunity(self, opportunity_id: int, row: OpportunityRow | None = None) -> None:
        """Show an opportunity: "Loading…" (with what the list already knows, ``row``) until
        it and its contact's consent state are read; the one already shown is kept."""
        if opportunity_id == self._wanted:
            return
        self._wanted = opportunity_id
        self.opportunity = None
        self.heading.setText(row.title if row else LOADING)
        self.contact.setText(row.contact_name if row else "")
        self.sms_status.setText(LOADING)
        coloured(self.sms_status, Tone.NORMAL)
        self.created.setText("")
        self._clear_messages()
        self._set_editing(False)
        self._read_wanted()

    def reload(self) -> None:
        """Read the shown opportunity again (its contact's consent may have changed)."""
        self._read_wanted()

    def _read_wanted(self) -> None:
        service, wanted = self._service, self._wanted
        if wanted is not None:
            self._read.start(lambda: (wanted, service.opportunity(wanted)))

    def _shown(self, answer: tuple[int, Outcome[OpportunityDetail]]) -> None:
        opportunity_id, outcome = answer
        if opportunity_id != self._wanted:
            return  # an older read arriving late: the newer one follows
        if not outcome.ok:
            self._show_gone(outcome.message)
            return
        detail = outcome.unwrap()
        # A re-read of the opportunity already on screen keeps what is being typed.
        editing = self.opportunity is not None and self.opportunity.id == opportunity_id
        self._fill(detail, editors=not editing)

    def _read_failed(self, error: Exception) -> None:
        self._wanted = None  # choosing it again tries again
        self.sms_status.setText("")
        self.result.setText(failure_sentence(error))
        coloured(self.result, ERROR_COLOUR)

    def _fill(self, detail: OpportunityDetail, *, editors: bool) -> None:
        row = detail.opportunity
        self.opportunity = row
        self.heading.setText(row.title)
        self.contact.setText(row.contact_name)
        state = detail.consent
        if state is None:
            self.sms_status.setText("Contact no longer exists.")
            self.sms_status.setToolTip("")
            coloured(self.sms_status, WARNING_COLOUR)
        else:  # the one consent state: what the automation rule enforces
            show_state(self.sms_status, state, status_text(state))
            self.sms_status.setToolTip(tooltip(state))
        self.created.setText(format_time(row.created_at, self._service.zone))
        if editors:
            self.title_edit.setText(row.title)
            self.value_edit.setText(f"{row.value:.2f}")
            self.stage_edit.clear()
            self.stage_edit.addItems(detail.stages)
            self.stage_edit.setCurrentText(row.stage)
            self._clear_messages()
        self._set_editing(True)

    def _show_gone(self, message: str) -> None:
        gone = self._wanted
        self.clear()
        self.heading.setText(message)
        if gone is not None:
            self.deleted.emit(gone)

    def _clear_messages(self) -> None:
        self.result.clear()
        for error in self.errors.values():
            error.setVisible(False)

    def save(self) -> bool:
        """Store title, value and stage in the background; a refused value is shown beside
        it when the answer is in. False when nothing is shown or a write is on its way."""
        if self.opportunity is None or self._writing is not None:
            return False
        self._clear_messages()
        data = OpportunityInput(
            self.title_edit.text(),
            self.opportunity.contact_id,
            self.value_edit.text(),
            self.stage_edit.currentText(),
        )
        service, opportunity_id = self._service, self.opportunity.id
        self._start_write(
            SAVING,
            opportunity_id,
            lambda: service.update(opportunity_id, data),
            lambda outcome: self._saved(opportunity_id, outcome),
        )
        return True

    def _saved(self, opportunity_id: int, outcome: Outcome[OpportunityRow]) -> None:
        if not self._still_showing(opportunity_id):
            self.saved.emit(opportunity_id)  # the list shows what was stored
            self.write_finished.emit(outcome.ok)
            return
        if outcome.gone:
            self.result.setText(f"{outcome.message} The list is refreshed.")
            self.saved.emit(opportunity_id)
        elif not outcome.ok:
            label = self.errors.get(outcome.field or "title", self.errors["title"])
            label.setText(outcome.message)
            label.setVisible(True)
        else:
            row = outcome.unwrap()
            self.opportunity = row
            self.heading.setText(row.title)
            self.value_edit.setText(f"{row.value:.2f}")
            coloured(self.result, OK_COLOUR)
            self.result.setText("Saved.")
            self.saved.emit(row.id)
        self.write_finished.emit(outcome.ok)

    def _ask_delete(self) -> None:
        if self.opportunity is not None and ask_yes_no(
            self, "Delete opportunity",
            f"Delete the opportunity '{self.opportunity.title}'? The contact stays.",
        ):  # fmt: skip
            self.delete()

    def delete(self) -> bool:
        """Delete the shown opportunity in the background (noted on the contact's activity).
        False when nothing is shown or a write is on its way."""
        if self.opportunity is None or self._writing is not None:
            return False
        service, opportunity_id = self._service, self.opportunity.id
        self._start_write(
            DELETING,
            opportunity_id,
            lambda: service.delete(opportunity_id),
            lambda outcome: self._deleted(opportunity_id, outcome),
        )
        return True

    def _deleted(self, opportunity_id: int, outcome: Outcome[int]) -> None:
        if not outcome.ok and not outcome.gone:
            if self._still_showing(opportunity_id):
                coloured(self.result, ERROR_COLOUR)
                self.result.setText(outcome.message)
            self.write_finished.emit(False)
            return
        if self._still_showing(opportunity_id):
            self.clear()
        self.deleted.emit(opportunity_id)
        self.write_finished.emit(outcome.ok)

    def _start_write(
        self,
        doing: str,
        opportunity_id: int,
        write: Callable[[], Outcome[Any]],
        show: Callable[[Any], None],
    ) -> None:
        """Run ``write`` on the runner, saying ``doing`` with the editors off until
        ``show(outcome)`` has run; an unexpected error is shown in the result line (what
        was typed stays, to be saved again)."""

        def done(outcome: Outcome[Any]) -> None:
            self._write_over()
            show(outcome)

        def failed(error: Exception) -> None:
            self._write_over()
            if self._still_showing(opportunity_id):
                coloured(self.result, ERROR_COLOUR)
                self.result.setText(failure_sentence(error))
            self.write_finished.emit(False)

        coloured(self.result, Tone.NORMAL)
        self.result.setText(doing)
        # A child of the panel: a panel destroyed meanwhile drops the answer (the write
        # itself still finishes: the runner keeps the task until it has reported).
        self._writing = run_in_background(write, done, failed)
        self._writing.setParent(self)
        self._set_editing(True)

    def _write_over(self) -> None:
        self._writing = None
        if self.result.text() in (SAVING, DELETING):
            self.result.clear()
        self._set_editing(self.opportunity is not None)

    def _still_showing(self, opportunity_id: int) -> bool:
        """The panel still shows the opportunity a write was for (not another one chosen
        while it ran)."""
        return self.opportunity is not None and self.opportunity.id == opportunity_id

    def clear(self) -> None:
        self.opportunity = None
        self._wanted = None
        self.heading.setText("Choose an opportunity on the left.")
        for label in (self.contact, self.sms_status, self.created, self.result):
            label.setText("")
        self.title_edit.clear()
        self.value_edit.clear()
        self._set_editing(False)

    def _open_contact(self) -> None:
        if self.opportunity is not None:
            self.open_contact_requested.emit(self.opportunity.contact_id)


class OpportunityDialog(QDialog):
    """New opportunity: title, contact (fixed, or found by name or number), value, stage.

    The contact search runs off the GUI thread (the latest search wins;
    ``contacts_found(count)`` once its matches are listed); without ``stages`` the
    pipeline's stages are read the same way. Save adds the opportunity on the runner:
    "Saving…" with the form and Save off until it is in (then the dialog is accepted)
    or refused (``refused(message)``, the form back as typed)."""

    contacts_found = Signal(int)
    stages_loaded = Signal()
    refused = Signal(str)

    def __init__(
        self,
        service: OpportunitiesService,
        stages: Sequence[str] | None = None,
        contact_id: int | None = None,
        contact_name: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New opportunity")
        self.setMinimumWidth(440)
        self._service = service
        self.opportunity: OpportunityRow | None = None
        self._saving: BackgroundTask | None = None
        self._search = LatestRead(self, self._show_contacts, self._search_failed,
                                  again=self.find_contacts, loaded=lambda: None)  # fmt: skip
        self.title_edit = QLineEdit()
        self.title_edit.setPlaceholderText("e.g. Kitchen remodel")
        self.title_edit.setAccessibleName("Title")
        self.contact_search = QLineEdit()
        self.contact_search.setPlaceholderText("Type a name or part of a number…")
        self.contact_search.setAccessibleName("Find the contact")
        self.contact_combo = QComboBox()
        self.contact_combo.setAccessibleName("Contact")
        self.value_edit = QLineEdit()
        self.value_edit.setPlaceholderText("0.00")
        self.value_edit.setAccessibleName("Value")
        # Until the stages in use are read, the default pipeline (their start) is offered.
        self.stage_edit = stage_combo(stages or DEFAULT_STAGES)
        self.errors = {n: field_error_label() for n in ("title", "contact", "value", "stage")}
        form = QFormLayout()
        contact_box = QVBoxLayout()
        if contact_id is not None:  # from a contact's page: the contact is given
            self.contact_combo.addItem(contact_name, contact_id)
            self.contact_combo.setEnabled(False)
        else:
            contact_box.addWidget(self.contact_search)
            self._timer = QTimer(self, singleShot=True, interval=250)
            self._timer.timeout.connect(self.find_contacts)
            self.contact_search.textChanged.connect(lambda _t: self._timer.start())
        contact_box.addWidget(self.contact_combo)
        for label, name, item in (
            ("Title", "title", self.title_edit),
            ("Contact", "contact", contact_box),
            ("Value", "value", self.value_edit),
            ("Stage", "stage", self.stage_edit),
        ):
            column = QVBoxLayout()
            column.setSpacing(2)
            if isinstance(item, QVBoxLayout):
                column.addLayout(item)
            else:
                column.addWidget(item)
            column.addWidget(self.errors[name])
            form.addRow(QLabel(label), column)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.status = plain_label(wrap=True)
        form.setContentsMargins(0, 0, 0, 0)
        self._form = QWidget()  # turned off as a whole while the save runs
        self._form.setLayout(form)
        layout = QVBoxLayout(self)
        layout.addWidget(self._form)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        if stages is None:
            self._read_stages()

    def _read_stages(self) -> None:
        service = self._service
        task = BackgroundTask(lambda _p: service.stages(), self)
        task.finished.connect(self._fill_stages)
        task.start()

    def _fill_stages(self, stages: Sequence[str]) -> None:
        chosen = self.stage_edit.currentText()
        self.stage_edit.clear()
        self.stage_edit.addItems(list(stages))
        self.stage_edit.setCurrentText(chosen)
        self.stages_loaded.emit()

    def find_contacts(self) -> None:
        """Fill the contact list with up to 50 matches of the search box (in the background)."""
        service, query = self._service, self.contact_search.text().strip()
        self._search.start(lambda: service.find_contacts(query))

    def _show_contacts(self, rows: Sequence[ContactRow]) -> None:
        self.contact_combo.clear()
        for row in rows:
            self.contact_combo.addItem(f"{row.name} ({row.phone_display or 'no phone'})", row.id)
        self.errors["contact"].setVisible(False)
        self.contacts_found.emit(len(rows))

    def _search_failed(self, error: Exception) -> None:
        self._refuse("contact", failure_sentence(error))

    @property
    def is_saving(self) -> bool:
        return self._saving is not None

    def save(self) -> bool:
        """Add the opportunity in the background; False when no contact is chosen (said
        beside it) or a save is already on its way."""
        if self._saving is not None:
            return False
        for error in self.errors.values():
            error.setVisible(False)
        contact_id = self.contact_combo.currentData()
        if contact_id is None:
            return self._save_refused("contact", "Find and choose the contact first.")
        data = OpportunityInput(
            self.title_edit.text(),
            contact_id,
            self.value_edit.text(),
            self.stage_edit.currentText(),
        )
        service = self._service
        # A child of the dialog: one closed meanwhile drops the answer (the write finishes).
        self._saving = run_in_background(lambda: service.create(data), self._created,
                                         self._create_failed)  # fmt: skip
        self._saving.setParent(self)
        self._set_saving(True)
        return True

    def _set_saving(self, saving: bool) -> None:
        self._form.setEnabled(not saving)
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not saving)
        self.status.setText(SAVING if saving else "")

    def _created(self, outcome: Outcome[OpportunityRow]) -> None:
        self._saving = None
        self._set_saving(False)
        if not outcome.ok:
            field = "contact" if outcome.gone else outcome.field or "title"
            self._save_refused(field, outcome.message)
            return
        self.opportunity = outcome.unwrap()
        self.accept()

    def _create_failed(self, error: Exception) -> None:
        self._saving = None
        self._set_saving(False)
        self._save_refused("title", failure_sentence(error))

    def _refuse(self, field: str, message: str) -> bool:
        label = self.errors.get(field, self.errors["title"])
        label.setText(message)
        label.setVisible(True)
        return False

    def _save_refused(self, field: str, message: str) -> bool:
        self._refuse(field, message)
        self.refused.emit(message)
        return False


class OpportunitiesPage(QWidget):
    """The list (stage filter and search), the panel beside it, and New opportunity…

    ``loaded`` fires when what was asked for is on screen (``is_loading`` is False)."""

    open_contact_requested = Signal(int)
    loaded = Signal()

    def __init__(self, service: OpportunitiesService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._service = service
        self._keep: int | None = None  # the opportunity to select once the list is in
        self._clear_if_missing = False  # after a save: drop the panel if it left the list
        self.model = OpportunityTableModel(service, self)
        self.model.loaded.connect(self._list_loaded)
        self.model.failed.connect(self._list_failed)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Opportunities")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in ((1, 140), (2, 90), (3, 100)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.empty_state = EmptyState(self.table, LOADING)
        self.stage_filter = QComboBox()
        self.stage_filter.setAccessibleName("Show stage")
        self.stage_filter.addItem(ALL_STAGES, None)
        self.stage_filter.currentIndexChanged.connect(self._filter_changed)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Find a title or contact")
        self.search.setAccessibleName("Find an opportunity")
        self.search.setClearButtonEnabled(True)
        self.search.setMaximumWidth(220)
        self._search_timer = QTimer(self, singleShot=True, interval=250)
        self._search_timer.timeout.connect(self._filter_changed)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.new_button = QPushButton("New opportunity…")
        self.new_button.clicked.connect(self.new_opportunity)
        self.status = plain_label(wrap=True)
        self.panel = OpportunityPanel(service)
        self.panel.open_contact_requested.connect(self.open_contact_requested.emit)
        self.panel.saved.connect(self._panel_saved)
        self.panel.deleted.connect(self._panel_deleted)
        self.panel.loaded.connect(self._maybe_loaded)
        self.panel.write_finished.connect(lambda _ok: self._maybe_loaded())
        self._build()

    def _build(self) -> None:
        splitter = QSplitter()
        splitter.addWidget(self.table)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        top = QHBoxLayout()
        top.addWidget(heading("Opportunities", 4))
        top.addStretch(1)
        top.addWidget(self.search)
        top.addWidget(QLabel("Stage"))
        top.addWidget(self.stage_filter)
        top.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)

    # -- loading ---------------------------------------------------------------------

    @property
    def is_loading(self) -> bool:
        """The list or the panel is being read, or a save or delete has not come back."""
        return self.model.is_loading or self.panel.is_loading or self.panel.is_writing

    def wait_until_loaded(self, timeout_ms: int = 15_000) -> bool:
        """Run the event loop until the list and the panel are on screen (``--screenshot``)."""
        return wait_until(lambda: not self.is_loading, timeout_ms)

    def stages(self) -> tuple[str, ...]:
        """The stages as last read with the list (no database read here)."""
        return self.model.stages

    def _fill_stage_filter(self, stages: Sequence[str]) -> None:
        current = self.stage_filter.currentData()
        self.stage_filter.blockSignals(True)
        self.stage_filter.clear()
        self.stage_filter.addItem(ALL_STAGES, None)
        for stage in stages:
            self.stage_filter.addItem(stage, stage)
        self.stage_filter.setCurrentIndex(max(0, self.stage_filter.findData(current)))
        self.stage_filter.blockSignals(False)

    def _filter_changed(self) -> None:
        wanted = OpportunityFilter(self.stage_filter.currentData(), self.search.text().strip())
        if wanted != self.model.filter:
            self.model.set_filter(wanted)
            self._keep = None
            self.panel.clear()
        self._update_empty_text()

    def _update_empty_text(self) -> None:
        wanted = self.model.filter
        if self.model.is_loading:
            text = LOADING
        elif wanted.query:
            text = f"No opportunities match '{wanted.query}'."
        elif wanted.stage:
            text = (
                f"No opportunities at stage '{wanted.stage}'. Choose {ALL_STAGES} to see every one."
            )
        else:
            text = "No opportunities yet. Press New opportunity… to add one for a contact."
        self.empty_state.set_text(text)

    def _list_loaded(self) -> None:
        self.status.clear()
        self._fill_stage_filter(self.model.stages)
        self._update_empty_text()
        keep, clear_if_missing = self._keep, self._clear_if_missing
        self._clear_if_missing = False
        row = self.model.row_of(keep) if keep is not None else None
        if row is not None:
            self.table.selectRow(row)  # the panel already shows it: no second read
        elif clear_if_missing and keep is not None:
            self.panel.clear()  # deleted meanwhile, or moved out of the filtered stage
        self._maybe_loaded()

    def _list_failed(self, message: str) -> None:
        coloured(self.status, ERROR_COLOUR)
        self.status.setText(message)
        self._update_empty_text()

    def _maybe_loaded(self) -> None:
        if not self.is_loading:
            self.loaded.emit()

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            row = self.model.row_data(current.row())
            self._keep = row.id
            self.panel.show_opportunity(row.id, row)

    def refresh(self) -> None:
        """Re-read the list and the panel, keeping the selected opportunity in view when it
        is still there."""
        self._keep = self.panel.wanted
        self.model.reload()
        self.panel.reload()

    def _panel_saved(self, _opportunity_id: int) -> None:
        self._clear_if_missing = True
        self.refresh()

    def _panel_deleted(self, _opportunity_id: int) -> None:
        self._keep = None
        self.model.reload()

    def new_opportunity(self, contact_id: int | None = None, contact_name: str = "") -> None:
        """Ask for a new opportunity; show it selected once saved."""
        stages = self.model.stages or None
        dialog = OpportunityDialog(self._service, stages, contact_id, contact_name, self)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        dialog.deleteLater()
        if accepted and dialog.opportunity is not None:
            self._show_everything()
            self.show_opportunity(dialog.opportunity.id, dialog.opportunity)

    def _show_everything(self) -> None:
        """Every stage, no search, read afresh (one read, whether or not a filter was on)."""
        for widget, clear in ((self.search, self.search.clear),
                              (self.stage_filter, lambda: self.stage_filter.setCurrentIndex(0))):  # fmt: skip
            widget.blockSignals(True)
            clear()
            widget.blockSignals(False)
        self._search_timer.stop()
        if self.model.filter == OpportunityFilter():
            self.model.reload()
        else:
            self.model.set_filter(OpportunityFilter())
        self._update_empty_text()

    def show_opportunity(self, opportunity_id: int, row: OpportunityRow | None = None) -> None:
        """Select an opportunity and show it in the panel (it is read off the GUI thread;
        one that no longer exists says so there)."""
        self._keep = opportunity_id
        index = self.model.row_of(opportunity_id)
        if index is not None:
            self.table.selectRow(index)
        self.panel.show_opportunity(opportunity_id, row)
