"""Opportunities: a paged list and a panel. The panel has no Communication Preferences
card on purpose; it links to the contact page, where the card is."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.core import opportunities
from trustpager_desktop.core.opportunities import OpportunityRow
from trustpager_desktop.services import AppServices
from trustpager_desktop.ui.common import Card, bold, heading, local_time, plain_label
from trustpager_desktop.ui.consent_view import show_state, tooltip
from trustpager_desktop.ui.table_models import PagedTableModel

Index = QModelIndex | QPersistentModelIndex
HEADERS = ["Title", "Contact", "Value", "Stage"]


class OpportunityTableModel(PagedTableModel):
    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self.reload()

    def read_rows(self, offset: int, limit: int) -> list[OpportunityRow]:
        with self._services.db.read() as s:
            return opportunities.list_opportunities(s, offset=offset, limit=limit)

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
        if role == Qt.ItemDataRole.DisplayRole:
            return [row.title, row.contact_name, row.value_text, row.stage][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() == 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row.id
        return None


class OpportunityPanel(Card):
    open_contact_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Opportunity", parent)
        self.opportunity: OpportunityRow | None = None
        self.title = heading("Choose an opportunity on the left.", 3)
        self.title.setWordWrap(True)
        self.contact = plain_label(wrap=True)
        self.value = plain_label()
        self.stage = plain_label()
        self.created = plain_label()
        self.sms = bold(plain_label(wrap=True))
        self.sms.setAccessibleName("Contact's SMS consent")
        form = QFormLayout()
        form.addRow("Contact", self.contact)
        form.addRow("SMS", self.sms)
        form.addRow("Value", self.value)
        form.addRow("Stage", self.stage)
        form.addRow("Created", self.created)
        self.open_contact_button = QPushButton("Open full contact record →")
        self.open_contact_button.setAccessibleName("Open full contact record")
        self.open_contact_button.setToolTip(
            "SMS consent and messages are on the contact record (Communication Preferences)."
        )
        self.open_contact_button.setEnabled(False)
        self.open_contact_button.clicked.connect(self._open_contact)
        hint = plain_label("Texting and SMS opt-out are managed on the contact record.", wrap=True)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.body.addWidget(self.title)
        self.body.addLayout(form)
        self.body.addSpacing(8)
        self.body.addWidget(self.open_contact_button)
        self.body.addWidget(hint)
        self.body.addStretch(1)

    def show_opportunity(self, row: OpportunityRow) -> None:
        self.opportunity = row
        self.title.setText(row.title)
        self.contact.setText(row.contact_name)
        self.value.setText(row.value_text)
        self.stage.setText(row.stage)
        self.created.setText(local_time(row.created_at))
        if row.consent is not None:  # the state the automation rule enforces
            show_state(self.sms, row.consent)
            self.sms.setToolTip(tooltip(row.consent))
        self.open_contact_button.setEnabled(True)

    def _open_contact(self) -> None:
        if self.opportunity is not None:
            self.open_contact_requested.emit(self.opportunity.contact_id)


class OpportunitiesPage(QWidget):
    open_contact_requested = Signal(int)

    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self.model = OpportunityTableModel(services, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column, width in ((1, 150), (2, 100), (3, 110)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.panel = OpportunityPanel()
        self.panel.open_contact_requested.connect(self.open_contact_requested.emit)
        splitter = QSplitter()
        splitter.addWidget(self.table)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        top = QHBoxLayout()
        top.addWidget(heading("Opportunities", 4))
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.panel.show_opportunity(self.model.row_data(current.row()))

    def refresh(self) -> None:
        self.model.reload()

    def show_opportunity(self, opportunity_id: int) -> None:
        """Select an opportunity and show it in the panel. Raises NotFoundError if it is gone."""
        row = self.model.row_of(opportunity_id)
        if row is None:
            with self._services.db.read() as s:
                found = opportunities.get_opportunity(s, opportunity_id)
            self.panel.show_opportunity(found)
            return
        self.table.selectRow(row)
        self.panel.show_opportunity(self.model.row_data(row))
