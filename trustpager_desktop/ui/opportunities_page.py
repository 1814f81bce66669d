"""Opportunities: a paged list with a stage filter, a panel to change one, and a dialog to
add one. The panel has no Communication Preferences card on purpose: it shows the
contact's SMS status and links to the contact page, where the card is."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
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

from trustpager_desktop.core import contacts, opportunities
from trustpager_desktop.core.errors import NotFoundError, UserInputError
from trustpager_desktop.core.opportunities import OpportunityInput, OpportunityRow
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.services import AppServices
from trustpager_desktop.ui.common import (
    OK_COLOUR,
    WARNING_COLOUR,
    Card,
    ElidedLabel,
    EmptyState,
    coloured,
    field_error_label,
    heading,
    plain_label,
)
from trustpager_desktop.ui.consent_view import show_state, status_text, tooltip
from trustpager_desktop.ui.table_models import PagedTableModel

Index = QModelIndex | QPersistentModelIndex
HEADERS = ["Title", "Contact", "Value", "Stage"]
ALL_STAGES = "All stages"


class OpportunityTableModel(PagedTableModel):
    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self._stage: str | None = None
        self.reload()

    @property
    def stage(self) -> str | None:
        return self._stage

    def set_stage(self, stage: str | None) -> None:
        """Show only opportunities at ``stage`` (None: every stage)."""
        self._stage = stage or None
        self.reload()

    def read_rows(self, offset: int, limit: int) -> list[OpportunityRow]:
        with self._services.db.read() as s:
            return opportunities.list_opportunities(
                s, offset=offset, limit=limit, stage=self._stage
            )

    def row_data(self, row: int) -> OpportunityRow:
        return self._rows[row]

    def row_of(self, opportunity_id: int) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.id == opportunity_id), None)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = 0) -> Any:
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(HEADERS)
        ):
            return HEADERS[section]
        return None

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


def stage_combo(stages: list[str], current: str = "") -> QComboBox:
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
    can be changed here; "Open full contact record" leads to the consent card."""

    open_contact_requested = Signal(int)
    saved = Signal(int)  # the opportunity changed in the database

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__("Opportunity", parent)
        self._services = services
        self.opportunity: OpportunityRow | None = None
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
        for widget in (self.title_edit, self.value_edit, self.stage_edit, self.save_button,
                       self.open_contact_button):  # fmt: skip
            widget.setEnabled(enabled)

    def show_opportunity(self, row: OpportunityRow, stages: list[str]) -> None:
        """Show ``row``; the contact's SMS status is read fresh (it changes elsewhere)."""
        s = self._services
        self.opportunity = row
        self.heading.setText(row.title)
        self.contact.setText(row.contact_name)
        try:
            with s.db.read() as session:
                contact = contacts.get_contact(session, row.contact_id, s.settings.default_country)
        except NotFoundError:
            contact = None
        if contact is None:
            self.sms_status.setText("Contact no longer exists.")
            coloured(self.sms_status, WARNING_COLOUR)
        else:  # the one consent state: what the automation rule enforces
            show_state(self.sms_status, contact.consent, status_text(contact.consent))
            self.sms_status.setToolTip(tooltip(contact.consent))
        self.title_edit.setText(row.title)
        self.value_edit.setText(f"{row.value:.2f}")
        self.stage_edit.clear()
        self.stage_edit.addItems(stages)
        self.stage_edit.setCurrentText(row.stage)
        self.created.setText(format_time(row.created_at, s.settings.business_timezone))
        self.result.clear()
        for error in self.errors.values():
            error.setVisible(False)
        self._set_editing(True)

    def save(self) -> bool:
        """Store title, value and stage through core; a refused value is shown beside it."""
        if self.opportunity is None:
            return False
        s = self._services
        for error in self.errors.values():
            error.setVisible(False)
        data = OpportunityInput(
            self.title_edit.text(),
            self.opportunity.contact_id,
            self.value_edit.text(),
            self.stage_edit.currentText(),
        )
        try:
            with s.db.write() as session:
                row = opportunities.update_opportunity(
                    session, self.opportunity.id, data, actor=s.actor, clock=s.clock
                )
        except UserInputError as exc:
            label = self.errors.get(exc.field or "title", self.errors["title"])
            label.setText(str(exc))
            label.setVisible(True)
            return False
        except NotFoundError as exc:
            self.result.setText(f"{exc} The list is refreshed.")
            self.saved.emit(self.opportunity.id)
            return False
        self.opportunity = row
        self.heading.setText(row.title)
        coloured(self.result, OK_COLOUR)
        self.result.setText("Saved.")
        self.saved.emit(row.id)
        return True

    def clear(self) -> None:
        self.opportunity = None
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
    """New opportunity: title, contact (fixed, or found by name or number), value, stage."""

    def __init__(
        self,
        services: AppServices,
        stages: list[str],
        contact_id: int | None = None,
        contact_name: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New opportunity")
        self.setMinimumWidth(440)
        self._services = services
        self.opportunity: OpportunityRow | None = None
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
        self.stage_edit = stage_combo(stages)
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
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def find_contacts(self) -> None:
        """Fill the contact list with up to 50 matches of the search box."""
        query = self.contact_search.text().strip()
        region = self._services.settings.default_country
        with self._services.db.read() as s:
            rows = contacts.search_contacts(s, query, limit=50, default_region=region)
        self.contact_combo.clear()
        for row in rows:
            self.contact_combo.addItem(f"{row.name} ({row.phone_display or 'no phone'})", row.id)

    def save(self) -> bool:
        s = self._services
        for error in self.errors.values():
            error.setVisible(False)
        contact_id = self.contact_combo.currentData()
        if contact_id is None:
            return self._refuse("contact", "Find and choose the contact first.")
        data = OpportunityInput(
            self.title_edit.text(),
            contact_id,
            self.value_edit.text(),
            self.stage_edit.currentText(),
        )
        try:
            with s.db.write() as session:
                self.opportunity = opportunities.create_opportunity(
                    session, data, actor=s.actor, clock=s.clock
                )
        except UserInputError as exc:
            return self._refuse(exc.field or "title", str(exc))
        except NotFoundError as exc:
            return self._refuse("contact", str(exc))
        self.accept()
        return True

    def _refuse(self, field: str, message: str) -> bool:
        label = self.errors.get(field, self.errors["title"])
        label.setText(message)
        label.setVisible(True)
        return False


class OpportunitiesPage(QWidget):
    open_contact_requested = Signal(int)

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self.model = OpportunityTableModel(services, self)
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
        self.empty_state = EmptyState(self.table, "")
        self.stage_filter = QComboBox()
        self.stage_filter.setAccessibleName("Show stage")
        self.stage_filter.currentIndexChanged.connect(self._stage_changed)
        self.new_button = QPushButton("New opportunity…")
        self.new_button.clicked.connect(self.new_opportunity)
        self.panel = OpportunityPanel(services)
        self.panel.open_contact_requested.connect(self.open_contact_requested.emit)
        self.panel.saved.connect(self._panel_saved)
        splitter = QSplitter()
        splitter.addWidget(self.table)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        top = QHBoxLayout()
        top.addWidget(heading("Opportunities", 4))
        top.addStretch(1)
        top.addWidget(QLabel("Stage"))
        top.addWidget(self.stage_filter)
        top.addWidget(self.new_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        self._fill_stage_filter()
        self._update_empty_text()

    def stages(self) -> list[str]:
        with self._services.db.read() as s:
            return opportunities.stages(s)

    def _fill_stage_filter(self) -> None:
        current = self.stage_filter.currentData()
        self.stage_filter.blockSignals(True)
        self.stage_filter.clear()
        self.stage_filter.addItem(ALL_STAGES, None)
        for stage in self.stages():
            self.stage_filter.addItem(stage, stage)
        self.stage_filter.setCurrentIndex(max(0, self.stage_filter.findData(current)))
        self.stage_filter.blockSignals(False)

    def _stage_changed(self) -> None:
        self.model.set_stage(self.stage_filter.currentData())
        self.panel.clear()
        self._update_empty_text()

    def _update_empty_text(self) -> None:
        stage = self.model.stage
        self.empty_state.set_text(
            f"No opportunities at stage '{stage}'. Choose {ALL_STAGES} to see every one."
            if stage
            else "No opportunities yet. Press New opportunity… to add one for a contact."
        )

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.panel.show_opportunity(self.model.row_data(current.row()), self.stages())

    def refresh(self) -> None:
        """Re-read the list, keeping the selected opportunity in view when it is still there."""
        keep = self.panel.opportunity.id if self.panel.opportunity else None
        self._fill_stage_filter()
        self.model.reload()
        if keep is not None:
            row = self.model.row_of(keep)
            if row is not None:
                self.table.selectRow(row)

    def _panel_saved(self, opportunity_id: int) -> None:
        self.refresh()
        if self.model.row_of(opportunity_id) is None:
            self.panel.clear()  # deleted meanwhile, or moved out of the filtered stage

    def new_opportunity(self, contact_id: int | None = None, contact_name: str = "") -> None:
        """Ask for a new opportunity; show it selected once saved."""
        dialog = OpportunityDialog(self._services, self.stages(), contact_id, contact_name, self)
        if dialog.exec() == QDialog.DialogCode.Accepted and dialog.opportunity is not None:
            self.stage_filter.setCurrentIndex(0)
            self.refresh()
            self.show_opportunity(dialog.opportunity.id)

    def show_opportunity(self, opportunity_id: int) -> None:
        """Select an opportunity and show it in the panel. Raises NotFoundError if it is gone."""
        row = self.model.row_of(opportunity_id)
        if row is None:
            with self._services.db.read() as s:
                found = opportunities.get_opportunity(s, opportunity_id)
            self.panel.show_opportunity(found, self.stages())
            return
        self.table.selectRow(row)
        self.panel.show_opportunity(self.model.row_data(row), self.stages())
