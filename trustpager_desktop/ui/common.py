"""Small widget helpers shared by the pages: plain-text labels, card frames, status colours."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QMimeData, QObject, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.ui.theme import Tone, is_dark, set_tone

# Status tones: their colour is worked out from the palette in use (ui.theme), so they
# read at 4.5:1 or better in light and dark palettes alike.
WARNING_COLOUR = Tone.WARNING
OK_COLOUR = Tone.OK
ERROR_COLOUR = Tone.ERROR


def plain_label(text: str = "", *, wrap: bool = False, selectable: bool = False) -> QLabel:
    """A label that never interprets its text as HTML (names and bodies come from outside)."""
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setText(text)
    label.setWordWrap(wrap)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class ElidedLabel(QLabel):
    """One line of plain text that never widens its window: when there is not room for
    all of it, it ends in '…' and the full text is in the tooltip. ``text()`` is the
    full text."""

    MIN_WIDTH = 60

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._full = ""
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt API
        self._full = text or ""
        self.updateGeometry()
        self._elide()

    def text(self) -> str:
        return self._full

    def is_elided(self) -> bool:
        return super().text() != self._full

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(self.MIN_WIDTH, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        width = self.fontMetrics().horizontalAdvance(self._full) + 4
        return QSize(max(width, self.MIN_WIDTH), super().sizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        super().changeEvent(event)
        if event.type() == QEvent.Type.FontChange:
            self._elide()

    def _elide(self) -> None:
        room = max(self.contentsRect().width(), 0)
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, room)
        QLabel.setText(self, shown)
        self.setToolTip(self._full if shown != self._full else "")


def heading(text: str, size_delta: int = 2, *, elide: bool = False) -> QLabel:
    """A bold, larger label; ``elide`` for text from outside (a name) that may be long."""
    label = ElidedLabel(text) if elide else plain_label(text)
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


def coloured(label: QLabel, tone: Tone | QColor) -> QLabel:
    """Draw ``label`` in a status ``tone`` (readable in the current palette). A plain
    QColor means "back to normal text" (the palette's own colour)."""
    set_tone(label, tone if isinstance(tone, Tone) else Tone.NORMAL)
    return label


class Card(QFrame):
    """A framed box with a bold title; content goes in ``body``.

    On a light palette the card is Base (white) and its fields show by their frames; on a
    dark one Base is the darkest colour, so the card takes AlternateBase and its fields
    (Base) stand out as darker wells instead of vanishing into it."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        self._choose_background()
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(14, 12, 14, 14)
        self.body.setSpacing(8)
        self.body.addWidget(heading(title, 1))

    def _choose_background(self) -> None:
        dark = is_dark(self.palette())
        role = QPalette.ColorRole.AlternateBase if dark else QPalette.ColorRole.Base
        if self.backgroundRole() != role:
            self.setBackgroundRole(role)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._choose_background()


def field_error_label() -> QLabel:
    """A red line shown next to a field when core refuses its value."""
    label = coloured(plain_label(wrap=True), ERROR_COLOUR)
    label.setVisible(False)
    return label


class TextField(QPlainTextEdit):
    """A multi-line plain text box where Tab moves to the next control (as in every other
    field) and a pasted tab becomes a space: a text message has no use for tab characters,
    and one would silently make an SMS twice as expensive (UCS-2 instead of GSM-7)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 - Qt API
        if source.hasText():
            self.insertPlainText(source.text().replace("\t", " "))
            return
        super().insertFromMimeData(source)


class EmptyState(QObject):
    """A centred sentence over an item view while its model has no rows ("No contacts
    match ..."), so an empty table never looks broken. ``set_text`` changes the sentence."""

    def __init__(self, view: QAbstractItemView, text: str) -> None:
        super().__init__(view)
        self._view = view
        self.label = plain_label(text, wrap=True)
        self.label.setParent(view.viewport())
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        model = view.model()
        for signal in (model.modelReset, model.rowsInserted, model.rowsRemoved,
                       model.layoutChanged):  # fmt: skip
            signal.connect(self.update)
        view.viewport().installEventFilter(self)
        self.update()

    def set_text(self, text: str) -> None:
        self.label.setText(text)
        self.update()

    def text(self) -> str:
        return self.label.text()

    def is_showing(self) -> bool:
        return not self.label.isHidden()

    def update(self, *_: object) -> None:
        empty = self._view.model().rowCount() == 0
        self.label.setVisible(empty)
        if empty:
            self._place()

    def _place(self) -> None:
        area = self._view.viewport().rect().adjusted(16, 16, -16, -16)
        self.label.setGeometry(area.x(), area.y(), area.width(), min(area.height(), 120))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Resize:
            self._place()
        return False


def ask_yes_no(parent: QWidget, title: str, question: str) -> bool:
    """A Yes/No question whose default is No (for deleting and other things hard to undo)."""
    from PySide6.QtWidgets import QMessageBox

    Button = QMessageBox.StandardButton
    answer = QMessageBox.question(parent, title, question, Button.Yes | Button.No, Button.No)
    return answer == Button.Yes


def documents_path(file_name: str = "") -> str:
    """Where file dialogs start: the user's Documents folder (their home when there is
    none), with ``file_name`` as the suggestion. Never the program's working folder."""
    from pathlib import Path

    from PySide6.QtCore import QStandardPaths

    folder = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    base = Path(folder) if folder and Path(folder).is_dir() else Path.home()
    return str(base / file_name) if file_name else str(base)


def dispose_widgets(*widgets: QWidget) -> None:
    """Close and delete top-level widgets now, while the QApplication still exists.

    Left to Python's garbage collector at exit, they can outlive the application
    object and crash the process on the way out."""
    for widget in widgets:
        widget.close()
        widget.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
