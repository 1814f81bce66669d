"""Placeholder: the Automations page is being built in another branch and replaces this file."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from trustpager_desktop.services import AppServices
from trustpager_desktop.ui.common import heading, plain_label


class AutomationsPage(QWidget):
    def __init__(self, services: AppServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(heading("Automations", 4))
        note = plain_label("Automations arrive in a later version.")
        note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(note, 1)
