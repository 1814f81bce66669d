"""The Messaging card: the conversation with one contact, a compose box with a live
segment counter, and Send (through the gateway, off the GUI thread)."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.core import conversation, delivery
from trustpager_desktop.core.contacts import ContactView
from trustpager_desktop.core.conversation import ConversationItem
from trustpager_desktop.core.gateway import SendOutcome
from trustpager_desktop.core.segments import count_segments
from trustpager_desktop.core.states import MessageStatus
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.ui.common import (
    OK_COLOUR,
    WARNING_COLOUR,
    Card,
    TextField,
    bold,
    coloured,
    plain_label,
)
from trustpager_desktop.ui.consent_view import ask_default_no
from trustpager_desktop.ui.runner import (
    BackgroundTask,
    LatestRead,
    failure_sentence,
    run_in_background,
    wait_until,
)
from trustpager_desktop.usecases.messaging import Conversation, MessagingService
from trustpager_desktop.usecases.result import Outcome

STATUS_LABELS = {
    MessageStatus.SENDING: "Sending",
    MessageStatus.SENT: "Sent",
    MessageStatus.FAILED: "Failed",
    MessageStatus.SUPPRESSED: "Not sent",
    MessageStatus.HELD: "Held, not sent",
    MessageStatus.UNKNOWN: "May have been sent",
    "received": "Received",
}


def counter_text(body: str) -> str:
    """'42 characters · 1 segment (GSM-7)'."""
    info = count_segments(body)
    chars = "character" if info.characters == 1 else "characters"
    segs = "segment" if info.segments == 1 else "segments"
    return f"{info.characters} {chars} · {info.segments} {segs} ({info.encoding})"


def outcome_text(outcome: SendOutcome) -> str:
    if outcome.status == MessageStatus.SENT:
        return "Sent."
    if outcome.status == MessageStatus.SUPPRESSED:
        return f"Not sent: {outcome.reason} The contact is now opted out."
    if outcome.status == MessageStatus.UNKNOWN:
        return f"{outcome.reason}. Check the Twilio console before sending it again."
    return f"Not sent: {outcome.reason}"


class MessageBubble(QFrame):
    """One message: a small meta line and the body, both plain text."""

    def __init__(
        self, item: ConversationItem, zone: str = "UTC", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.item = item
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        outbound = item.direction == conversation.OUTBOUND
        self.setBackgroundRole(
            QPalette.ColorRole.AlternateBase if outbound else QPalette.ColorRole.Window
        )
        who = "You" if outbound else "They"
        parts = [who, format_time(item.time, zone), STATUS_LABELS.get(item.status, item.status)]
        if item.delivery:
            parts.append(item.delivery)
        if item.origin:
            parts.append(item.origin)
        if item.recipient_opted_out:
            parts.append("to an opted-out contact")
        self.meta = plain_label(" · ".join(parts), wrap=True)
        font = self.meta.font()
        font.setPointSizeF(font.pointSizeF() - 1)
        self.meta.setFont(font)
        self.meta.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.body = plain_label(item.body, wrap=True, selectable=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 8)
        layout.setSpacing(2)
        layout.addWidget(self.meta)
        layout.addWidget(self.body)
        if item.error:
            layout.addWidget(
                coloured(plain_label(f"Reason: {item.error}", wrap=True), WARNING_COLOUR)
            )


class MessagingCard(Card):
    send_finished = Signal(object)  # SendOutcome, or the sentence saying why nothing was sent
    loaded = Signal()  # a re-read conversation is on screen

    def __init__(self, service: MessagingService, parent: QWidget | None = None) -> None:
        super().__init__("Messaging", parent)
        self.service = service
        self._contact: ContactView | None = None
        self._job: BackgroundTask | None = None
        self._clearing: BackgroundTask | None = None  # the delivery block being cleared
        self._read = LatestRead(self, self._read_shown, self._read_failed,
                                again=self.reload_conversation, loaded=self.loaded.emit)  # fmt: skip
        self._build()

    def _build(self) -> None:
        # The banner's words come from the consent state, so they are true for each state
        # (e.g. "a manual text will NOT go through" where Twilio refuses the number).
        self.banner = coloured(bold(plain_label(wrap=True)), WARNING_COLOUR)
        self.banner.setAccessibleName("SMS consent warning")
        self.banner_frame = QFrame()
        self.banner_frame.setFrameShape(QFrame.Shape.Box)
        banner_layout = QVBoxLayout(self.banner_frame)
        banner_layout.setContentsMargins(8, 6, 8, 6)
        banner_layout.addWidget(self.banner)
        self.banner_frame.setVisible(False)
        self._build_delivery_banner()

        self.messages = QVBoxLayout()
        self.messages.setSpacing(6)
        self.messages.addStretch(1)
        holder = QWidget()
        holder.setLayout(self.messages)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setWidget(holder)
        # 140 px (a few bubbles) keeps the whole page, with a consent record and three
        # purposes in its card, inside 1024x700; the conversation grows with the window.
        self.scroll.setMinimumHeight(140)
        bar = self.scroll.verticalScrollBar()
        bar.rangeChanged.connect(lambda _lo, hi: bar.setValue(hi))  # keep the newest in view
        self.empty = plain_label("No messages yet.")

        self.compose = TextField()  # Tab moves on; a pasted tab becomes a space
        self.compose.setPlaceholderText("Type a text message… (Ctrl+Enter sends)")
        self.compose.setAccessibleName("Message text")
        self.compose.setFixedHeight(80)
        self.compose.textChanged.connect(self._update_counter)
        self.counter = plain_label(counter_text(""))
        self.send_button = QPushButton("Send")
        self.send_button.setAccessibleName("Send text message")
        self.send_button.setDefault(False)
        self.send_button.clicked.connect(self.send)
        self.result = plain_label(wrap=True)
        self.send_shortcuts = []
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.send)
            self.send_shortcuts.append(shortcut)

        row = QHBoxLayout()
        row.addWidget(self.counter, 1)
        row.addWidget(self.send_button)
        self.body.addWidget(self.banner_frame)
        self.body.addWidget(self.delivery_frame)
        self.body.addWidget(self.empty)
        self.body.addWidget(self.scroll, 1)
        self.body.addWidget(self.compose)
        self.body.addLayout(row)
        self.body.addWidget(self.result)

    def _build_delivery_banner(self) -> None:
        """'Texts to this number fail: landline (30006)', why, and a way to try again."""
        self.delivery_headline = coloured(bold(plain_label(wrap=True)), WARNING_COLOUR)
        self.delivery_detail = plain_label(wrap=True)
        self.clear_delivery_button = QPushButton("Try texting this number again")
        self.clear_delivery_button.setToolTip(
            "Clear the failures: automations text this number again (logged)."
        )
        self.clear_delivery_button.clicked.connect(self.clear_delivery_block)
        self.delivery_frame = QFrame()
        self.delivery_frame.setFrameShape(QFrame.Shape.Box)
        layout = QVBoxLayout(self.delivery_frame)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.delivery_headline)
        layout.addWidget(self.delivery_detail)
        button_row = QHBoxLayout()
        button_row.addStretch(1)
        button_row.addWidget(self.clear_delivery_button)
        layout.addLayout(button_row)
        self.delivery_frame.setVisible(False)

    # -- showing ----------------------------------------------------------------------

    def load(
        self,
        contact: ContactView,
        items: Sequence[ConversationItem] | None = None,
        problem: delivery.DeliveryProblem | None = None,
    ) -> None:
        """Show a contact's conversation: ``items`` and ``problem`` as the contact page
        read them, or (without ``items``) read now."""
        if self._contact is None or self._contact.id != contact.id:
            self.compose.clear()
            self.result.clear()
        self._contact = contact
        self.banner.setText(contact.consent.banner)
        self.banner_frame.setVisible(bool(contact.consent.banner))
        self.send_button.setEnabled(bool(contact.phone_e164) and self._job is None)
        self.send_button.setToolTip(
            "" if contact.phone_e164 else "This contact has no phone number."
        )
        if items is None:
            self.reload_conversation()
        else:
            self._show(items, problem)

    def reload_conversation(self) -> None:
        """Re-read the conversation off the GUI thread (after a send); ``loaded`` fires once
        it is on screen. A read for a contact no longer shown is dropped."""
        contact = self._contact
        if contact is None:
            return
        service = self.service
        self._read.start(lambda: (contact.id, service.conversation(contact.id, contact.phone_e164)))

    @property
    def is_loading(self) -> bool:
        """The conversation is being read (or a delivery block cleared, then read again)."""
        return self._read.is_loading or self._clearing is not None

    def wait_until_loaded(self, timeout_ms: int = 15_000) -> bool:
        return wait_until(lambda: not self.is_loading, timeout_ms)

    def _read_shown(self, read: tuple[int, Conversation]) -> None:
        contact_id, found = read
        if self._contact is not None and self._contact.id == contact_id:
            self._show(found.items, found.problem)

    def _read_failed(self, error: Exception) -> None:
        coloured(self.result, WARNING_COLOUR)
        self.result.setText(f"The conversation could not be read: {error}")

    def _show(
        self, items: Sequence[ConversationItem], problem: delivery.DeliveryProblem | None
    ) -> None:
        self._show_delivery_problem(problem)
        while self.messages.count() > 1:  # keep the stretch at index 0
            widget = self.messages.takeAt(1).widget()
            if widget is not None:
                widget.deleteLater()
        for item in items:
            self.messages.addWidget(MessageBubble(item, self.service.zone))
        self.empty.setVisible(not items)

    def _show_delivery_problem(self, problem: delivery.DeliveryProblem | None) -> None:
        blocked = problem is not None and problem.blocked
        self.delivery_frame.setVisible(blocked)
        if problem is not None and blocked:
            self.delivery_headline.setText(problem.headline)
            self.delivery_detail.setText(problem.describe())

    def clear_delivery_block(self) -> None:
        """A person says the number can receive texts again: forget its failures (logged),
        off the GUI thread; meanwhile the button is off and says "Clearing…"."""
        contact = self._contact
        if contact is None or not contact.phone_e164 or self._clearing is not None:
            return
        service, phone = self.service, contact.phone_e164
        task = BackgroundTask(lambda _progress: service.clear_delivery_block(phone), self)
        task.finished.connect(self._cleared)
        task.errored.connect(lambda error: self._cleared(Outcome.failure(failure_sentence(error))))
        self._clearing = task
        self._show_clearing()
        task.start()

    def _show_clearing(self) -> None:
        clearing = self._clearing is not None
        self.clear_delivery_button.setEnabled(not clearing)
        self.clear_delivery_button.setText(
            "Clearing…" if clearing else "Try texting this number again"
        )

    def _cleared(self, outcome: Outcome[delivery.DeliveryProblem]) -> None:
        self._clearing = None
        self._show_clearing()
        if not outcome.ok:
            self.result.setText(outcome.message)
        else:
            coloured(self.result, OK_COLOUR)
            self.result.setText("Cleared: automations will text this number again.")
        self.reload_conversation()

    def bubbles(self) -> list[MessageBubble]:
        found = (self.messages.itemAt(i).widget() for i in range(self.messages.count()))
        return [w for w in found if isinstance(w, MessageBubble)]

    def _update_counter(self) -> None:
        self.counter.setText(counter_text(self.compose.toPlainText()))

    # -- sending ----------------------------------------------------------------------

    def send(self) -> None:
        """Send what is typed (Send and Ctrl+Enter alike). Where the consent state calls
        for it (opted out, held, Twilio refusing the number) only after a confirmation."""
        contact = self._contact
        if contact is None or self._job is not None or not self.send_button.isEnabled():
            return
        body = self.compose.toPlainText()
        state = contact.consent
        if state.needs_confirmation and not self.confirm_send_to_opted_out(
            contact.display_name, state.send_question(contact.display_name)
        ):
            self.result.setText("Not sent.")
            return
        self.send_button.setEnabled(False)
        coloured(self.result, self.palette().color(QPalette.ColorRole.WindowText))
        self.result.setText("Sending…")
        self._job = run_in_background(
            lambda: self.service.send(contact.id, body), self._on_outcome, self._on_error
        )

    def confirm_send_to_opted_out(self, name: str, question: str) -> bool:
        """Ask before texting someone the consent state warns about. Default answer: No."""
        return ask_default_no(self, f"Text {name}?", question, "Send anyway", "Don't send",
                              warning=True)  # fmt: skip

    def _on_outcome(self, outcome: Outcome[SendOutcome]) -> None:
        if outcome.ok:
            self._on_sent(outcome.unwrap())
        else:  # refused input, or the contact deleted meanwhile: nothing was sent
            self._not_sent(outcome.message)

    def _not_sent(self, reason: str) -> None:
        self._job = None
        coloured(self.result, WARNING_COLOUR)
        self.result.setText(f"Not sent: {reason}")
        self._after_send()
        self.send_finished.emit(reason)

    def _on_sent(self, outcome: SendOutcome) -> None:
        self._job = None
        ok = outcome.status == MessageStatus.SENT
        coloured(self.result, OK_COLOUR if ok else WARNING_COLOUR)
        self.result.setText(outcome_text(outcome))
        if ok:
            self.compose.clear()
        self._after_send()
        self.send_finished.emit(outcome)

    def _on_error(self, error: Exception) -> None:
        """A bug, not a refusal: say so here (the log has the trace)."""
        self._not_sent(f"an unexpected error occurred ({error}).")

    def _after_send(self) -> None:
        if self._contact is not None:
            self.send_button.setEnabled(bool(self._contact.phone_e164))
        self.reload_conversation()

    def is_sending(self) -> bool:
        return self._job is not None
