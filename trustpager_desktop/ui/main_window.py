"""The main window. The full contact window arrives with the next issues; this is its frame."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from trustpager_desktop import APP_NAME
from trustpager_desktop.core import contacts, demo
from trustpager_desktop.services import AppServices


def offer_demo_data(services: AppServices) -> None:
    """On the first run with an empty database, ask whether to add the demo business."""
    with services.db.read() as s:
        if not demo.is_empty(s) or services.settings.first_run_done:
            return
    answer = QMessageBox.question(
        None,
        APP_NAME,
        "Your database is empty.\n\nAdd a demo business (50 contacts, a few opt-outs, two "
        "automations) so you can try everything in sandbox mode?",
    )
    if answer == QMessageBox.StandardButton.Yes:
        with services.db.write() as s:
            demo.fill_demo(s, actor=services.actor, clock=services.clock)


class MainWindow(QMainWindow):
    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services
        self.setWindowTitle(APP_NAME)
        with services.db.read() as s:
            total = contacts.count_contacts(s)
        body = QWidget()
        layout = QVBoxLayout(body)
        summary = QLabel(f"{total} contacts")
        summary.setTextFormat(Qt.TextFormat.PlainText)
        summary.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(summary)
        self.setCentralWidget(body)
        self.statusBar().showMessage(services.provider_choice.description)

    def show_target(self, target: str) -> None:
        """Navigate to a screen by name (used by --screenshot)."""
        if target not in ("contacts",):
            raise ValueError(f"unknown screen '{target}'")

    def shutdown(self) -> None:
        """Stop background work before the window goes away."""
