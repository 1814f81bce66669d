"""Small widget helpers shared by the pages: plain-text labels, card frames, status colours."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

# Status accents chosen to read on both light and dark backgrounds.
WARNING_COLOUR = QColor("#c2410c")  # deep orange
OK_COLOUR = QColor("#15803d")  # green
SANDBOX_BACKGROUND = "#f59e0b"  # amber, with black text: readable in light and dark mode


def plain_label(text: str = "", *, wrap: bool = False, selectable: bool = False) -> QLabel:
    """A label that never interprets its text as HTML (names and bodies come from outside)."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def heading(text: str, size_delta: int = 2) -> QLabel:
    label = plain_label(text)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() + size_delta)
    label.setFont(font)
    return label


def bold(label: QLabel) -> QLabel:
    font = QFont(label.font())
    font.setBold(True)
    label.setFont(font)
    return label


def coloured(label: QLabel, colour: QColor) -> QLabel:
    palette = label.palette()
    # Inside a card the label draws with Text (its parent's background is Base), elsewhere
    # with WindowText: set both so the accent shows wherever the label sits.
    palette.setColor(QPalette.ColorRole.WindowText, colour)
    palette.setColor(QPalette.ColorRole.Text, colour)
    label.setPalette(palette)
    return label


class Card(QFrame):
    """A framed box with a bold title; content goes in ``body``."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.Base)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(14, 12, 14, 14)
        self.body.setSpacing(8)
        self.body.addWidget(heading(title, 1))


def local_time(when: datetime | None) -> str:
    """'26 Nov 2026, 10:04' in the computer's time zone, or '' for None."""
    if when is None:
        return ""
    return when.astimezone().strftime("%d %b %Y, %H:%M")


def field_error_label() -> QLabel:
    """A red-ish line shown next to a field when core refuses its value."""
    label = coloured(plain_label(wrap=True), WARNING_COLOUR)
    label.setVisible(False)
    return label


def dispose_widgets(*widgets: QWidget) -> None:
    """Close and delete top-level widgets now, while the QApplication still exists.

    Left to Python's garbage collector at exit, they can outlive the application
    object and crash the process on the way out."""
    for widget in widgets:
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
