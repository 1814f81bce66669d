"""The Review page: replies that might be opt-outs, and texts from unknown numbers.

Each reply shows its deadline (10 business days from receipt, US federal holidays
counted); from two business days before, it is shown in red. While a reply waits,
automation texts to its number are held (unless Settings turn holding off). Everything
a sender wrote is shown as plain text. The page reads and decides through
its ``ReviewService``; it never writes SQL or calls Twilio itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.core.business_days import Urgency
from trustpager_desktop.core.inbox import ReviewItem, ReviewOutcome, UnknownSender
from trustpager_desktop.core.replies import ReplyKind
from trustpager_desktop.core.states import ReviewDecision
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.ui.common import EmptyState, coloured, heading, plain_label
from trustpager_desktop.ui.consent_view import short_label
from trustpager_desktop.ui.runner import (
    BackgroundTask,
    LatestRead,
    failure_sentence,
    run_in_background,
)
from trustpager_desktop.ui.table_models import RowsTableModel, read_only_table
from trustpager_desktop.ui.theme import Tone, tone_colour
from trustpager_desktop.usecases.result import Outcome
from trustpager_desktop.usecases.review import ReviewLists, ReviewService

ModelIndex = QModelIndex | QPersistentModelIndex


def _one_line(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


DEADLINE_COLUMN = 1
URGENT = Tone.ERROR  # red: due within two business days, or overdue


def deadline_text(item: ReviewItem, now: datetime) -> str:
    """'Decide by Mon 07 Dec 2026 (3 business days left)' or, for a held START, a note."""
    if item.deadline is None:
        return "START reply held (no deadline)"
    return item.deadline.describe(now)


class ReviewModel(RowsTableModel):
    headers = ("Received", "Decide by", "From", "Contact", "Message", "Why it needs review")

    def __init__(
        self, zone: Callable[[], str], now: Callable[[], datetime], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._zone = zone  # () -> the business time zone's name (a setting that can change)
        self._now = now

    def cell(self, row: ReviewItem, column: int) -> str:
        return (
            format_time(row.received_at, self._zone()),
            row.deadline.short(self._now()) if row.deadline else "(START held)",
            row.from_display,
            ", ".join(row.contact_names) or "Unknown sender",
            _one_line(row.body),
            row.reason,
        )[column]

    def tooltip(self, row: ReviewItem, column: int) -> str | None:
        if column == DEADLINE_COLUMN:
            return deadline_text(row, self._now())
        return row.body if column == 4 else None

    def is_urgent(self, row: ReviewItem) -> bool:
        return row.urgency(self._now()) is not Urgency.ON_TIME

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index.row()) if index.isValid() else None
        if row is not None and self.is_urgent(row):
            if role == Qt.ItemDataRole.ForegroundRole:
                return tone_colour(URGENT)
            if role == Qt.ItemDataRole.FontRole and index.column() == DEADLINE_COLUMN:
                font = QFont()
                font.setBold(True)
                return font
        return super().data(index, role)


class UnknownSendersModel(RowsTableModel):
    headers = ("From", "SMS", "Texts", "Last received", "Last message")

    def __init__(self, zone: Callable[[], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._zone = zone

    def cell(self, row: UnknownSender, column: int) -> str:
        return (
            row.from_display,
            short_label(row.consent) if row.consent else "",
            str(row.message_count),
            format_time(row.last_received_at, self._zone()),
            _one_line(row.last_body),
        )[column]


class ReviewPage(QWidget):
    """ "Needs review" (decide: Opt out / Not an opt-out) and "Unknown senders"."""

    review_count_changed = Signal(int)
    loaded = Signal()  # both lists on screen are fresh
    decided = Signal(bool)  # a decision came back: stored (True) or refused (False)

    # (first button, second button) per kind of review item
    _ACTIONS: dict[str, tuple[tuple[str, ReviewDecision], tuple[str, ReviewDecision]]] = {
        ReplyKind.POSSIBLE_OPT_OUT: (
            ("Opt out", ReviewDecision.OPT_OUT),
            ("Not an opt-out", ReviewDecision.NOT_OPT_OUT),
        ),
        ReplyKind.OPT_IN: (
            ("Record re-consent", ReviewDecision.RE_CONSENT),
            ("Keep opted out", ReviewDecision.KEEP_OPTED_OUT),
        ),
    }

    def __init__(self, service: ReviewService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        zone = self._zone
        self.review_model = ReviewModel(zone, lambda: service.clock.now(), self)
        self.unknown_model = UnknownSendersModel(zone, self)
        self.review_view = read_only_table(self.review_model)
        self.unknown_view = read_only_table(self.unknown_model)
        self.review_view.setAccessibleName("Replies waiting for review")
        self.unknown_view.setAccessibleName("Unknown senders")
        self.review_empty = EmptyState(
            self.review_view, "Nothing waits for review: every reply has been handled."
        )
        self.unknown_empty = EmptyState(
            self.unknown_view, "No texts from numbers that belong to no contact."
        )
        self.message_label = plain_label(wrap=True, selectable=True)
        self.sender_label = plain_label(wrap=True, selectable=True)
        self.reason_label = plain_label(wrap=True, selectable=True)
        self.deadline_label = plain_label(wrap=True, selectable=True)
        self.feedback_label = plain_label(wrap=True, selectable=True)
        self._confirm_job: BackgroundTask | None = None
        self._deciding: BackgroundTask | None = None
        self._read = LatestRead(self, self._show_lists, self._load_failed, again=self.refresh,
                                loaded=self.loaded.emit)  # fmt: skip
        self.opt_out_button = QPushButton("Opt out")
        self.not_opt_out_button = QPushButton("Not an opt-out")
        self.opt_out_button.clicked.connect(lambda: self._decide(0))
        self.not_opt_out_button.clicked.connect(lambda: self._decide(1))
        self.review_title = QGroupBox("Replies to decide")
        self.unknown_title = QGroupBox("Unknown senders")
        self._build()
        self.review_view.selectionModel().currentRowChanged.connect(self._show_current)
        self.refresh()

    def _build(self) -> None:
        intro = plain_label(
            "Replies that might be asking you to stop texting. Decide each one: the law gives "
            "you at most 10 business days to honour an opt-out. Until you decide, automation "
            "texts to that number are held.",
            wrap=True,
            selectable=True,
        )
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        self.message_label.setStyleSheet(
            "QLabel { background: palette(base); border: 1px solid palette(mid); padding: 8px; }"
        )
        for label in (self.sender_label, self.message_label, self.reason_label,
                      self.deadline_label):  # fmt: skip
            detail_layout.addWidget(label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.opt_out_button)
        buttons.addWidget(self.not_opt_out_button)
        buttons.addStretch(1)
        detail_layout.addLayout(buttons)
        detail_layout.addWidget(self.feedback_label)

        review_layout = QVBoxLayout(self.review_title)
        review_layout.addWidget(intro)
        review_layout.addWidget(self.review_view, 1)
        review_layout.addWidget(detail)

        unknown_intro = plain_label(
            "Numbers that texted you but belong to no contact. An opt-out from one of them is "
            "remembered: a contact added later with that number starts opted out.",
            wrap=True,
            selectable=True,
        )
        unknown_layout = QVBoxLayout(self.unknown_title)
        unknown_layout.addWidget(unknown_intro)
        unknown_layout.addWidget(self.unknown_view, 1)

        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.review_title)
        splitter.addWidget(self.unknown_title)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(heading("Needs review", 4))
        layout.addWidget(splitter, 1)

    def _zone(self) -> str:
        return self.service.zone

    # ---- data ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read both lists off the GUI thread (after a poll or a decision); ``loaded``
        fires once they are on screen."""
        self._read.start(self.service.lists)

    @property
    def is_loading(self) -> bool:
        return self._read.is_loading

    def wait_until_loaded(self, timeout_ms: int = 15_000) -> bool:
        """Run the event loop until the current read is on screen (for ``--screenshot``)."""
        return self._read.wait_until_loaded(timeout_ms)

    def _load_failed(self, error: Exception) -> None:
        self.feedback_label.setText(f"The replies could not be read: {error}")

    def _show_lists(self, lists: ReviewLists) -> None:
        items, senders = list(lists.items), list(lists.unknown_senders)
        current = self.current_item()
        self.review_model.set_rows(items)
        self.unknown_model.set_rows(senders)
        self.review_title.setTitle(
            f"Replies to decide ({len(items)})" if items else "Replies to decide"
        )
        self.unknown_title.setTitle(f"Unknown senders ({len(senders)})")
        for column, width in ((2, 120), (3, 140), (4, 260)):
            self.review_view.setColumnWidth(column, width)
        for column in (0, DEADLINE_COLUMN):  # times and deadlines read in full
            self.review_view.resizeColumnToContents(column)
        for column, width in ((0, 130), (1, 150), (2, 50), (3, 130)):
            self.unknown_view.setColumnWidth(column, width)
        self._select(current.inbound_id if current else None)
        self.review_count_changed.emit(len(items))

    def _select(self, inbound_id: int | None) -> None:
        rows = [self.review_model.row_at(r) for r in range(self.review_model.rowCount())]
        index = next((r for r, item in enumerate(rows) if item.inbound_id == inbound_id), 0)
        if rows:
            self.review_view.selectRow(index)
        self._show(self.current_item())

    def current_item(self) -> ReviewItem | None:
        index = self.review_view.currentIndex()
        return self.review_model.row_at(index.row()) if index.isValid() else None

    def _show_current(self, *_: object) -> None:
        self._show(self.current_item())

    def _show(self, item: ReviewItem | None) -> None:
        has_item = item is not None and not self.is_deciding
        for widget in (self.opt_out_button, self.not_opt_out_button):
            widget.setEnabled(has_item)
        if item is None:
            self.sender_label.setText("")  # the empty table already says nothing waits
            self.message_label.setText("")
            self.message_label.setVisible(False)
            self.reason_label.setText("")
            self.deadline_label.setText("")
            return
        names = ", ".join(item.contact_names) or "no contact has this number"
        when = format_time(item.received_at, self._zone(), seconds=True)
        self.sender_label.setText(f"From {item.from_display} ({names}), received {when}")
        self.message_label.setVisible(True)
        self.message_label.setText(item.body)
        self.reason_label.setText(f"Why: {item.reason}")
        self.deadline_label.setText(deadline_text(item, self.service.clock.now()))
        coloured(self.deadline_label, URGENT if self.review_model.is_urgent(item) else Tone.NORMAL)
        first, second = self._ACTIONS.get(
            item.classification, self._ACTIONS[ReplyKind.POSSIBLE_OPT_OUT]
        )
        self.opt_out_button.setText(first[0])
        self.not_opt_out_button.setText(second[0])

    # ---- decisions -------------------------------------------------------------------

    def _decide(self, which: int) -> None:
        """Record the decision off the GUI thread; until it is stored the buttons and the
        list are off, so a second click cannot decide twice or decide another reply."""
        item = self.current_item()
        if item is None or self.is_deciding:
            return
        actions = self._ACTIONS.get(item.classification, self._ACTIONS[ReplyKind.POSSIBLE_OPT_OUT])
        decision = actions[which][1]
        service, inbound_id = self.service, item.inbound_id
        self._deciding = BackgroundTask(
            lambda _progress: service.decide(inbound_id, decision), self
        )
        self._deciding.finished.connect(lambda result: self._decided(item, result))
        self._deciding.errored.connect(
            lambda error: self._decided(item, Outcome.failure(failure_sentence(error)))
        )
        self._deciding.start()
        self._show_deciding()
        self.feedback_label.setText("Saving the decision…")

    @property
    def is_deciding(self) -> bool:
        return self._deciding is not None

    def _show_deciding(self) -> None:
        self.review_view.setEnabled(not self.is_deciding)
        self._show(self.current_item())

    def _decided(self, item: ReviewItem, result: Outcome[ReviewOutcome]) -> None:
        self._deciding = None
        self._show_deciding()
        if not result.ok:  # decided meanwhile (perhaps on another desktop): say so, re-read
            self.feedback_label.setText(result.message)
        else:
            outcome = result.unwrap()
            self.feedback_label.setText(f"{item.from_display}: {outcome.message}")
            if outcome.confirmation_requested:
                self._send_confirmations()
        self.decided.emit(result.ok)
        self.refresh()

    def _send_confirmations(self) -> None:
        """An opt-out decided here may get its confirmation text: send it now, off the GUI
        thread, rather than at the sender's next run (the FCC allows 5 minutes)."""
        self._confirm_job = run_in_background(
            self.service.send_confirmations,
            lambda _report: None,
            lambda _error: None,  # the background sender tries again; nothing to show here
        )
