"""The contact page: details, tasks and timeline on the left; the Communication
Preferences and Messaging cards in a sidebar on the right."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from trustpager_desktop.core import activity, contact_tasks, opportunities
from trustpager_desktop.core.contact_page_data import ContactPageData
from trustpager_desktop.core.contacts import ContactView
from trustpager_desktop.core.errors import NotFoundError
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.ui.common import Card, ElidedLabel, documents_path, heading
from trustpager_desktop.ui.contact_browser import ContactSaver
from trustpager_desktop.ui.contact_form import ContactForm, contact_values
from trustpager_desktop.ui.messaging_card import MessagingCard
from trustpager_desktop.ui.preferences_card import CommunicationPreferencesCard
from trustpager_desktop.ui.runner import BackgroundTask, LatestRead, show_progress, wait_until
from trustpager_desktop.usecases.consent import ConsentService
from trustpager_desktop.usecases.contacts import ContactsService
from trustpager_desktop.usecases.messaging import MessagingService
from trustpager_desktop.usecases.result import Outcome


class DetailsCard(Card):
    """Editable contact details, validated by core on Save. The save runs off the GUI
    thread; meanwhile the form is off and the button says "Saving…"."""

    saved = Signal()
    save_finished = Signal(bool)  # a save asked for ended: True when saved (or nothing due)
    dirty_changed = Signal(bool)

    def __init__(self, service: ContactsService, parent: QWidget | None = None) -> None:
        super().__init__("Details", parent)
        self._service = service
        self._contact: ContactView | None = None
        self.form = ContactForm()
        self.form.edited.connect(self._show_dirty)
        self.editors, self.errors = self.form.editors, self.form.errors
        self.save_button = QPushButton("Save details")
        self.save_button.setAccessibleName("Save contact details")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save)
        self._saver = ContactSaver(self, service)
        self._saver.finished.connect(self._saved)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.save_button)
        self.body.addWidget(self.form)
        self.body.addLayout(row)

    def _saved_values(self) -> dict[str, str]:
        return contact_values(self._contact, self._service.zone)

    def load(self, contact: ContactView) -> None:
        self._contact = contact
        if self.saving:  # a re-read arriving mid-save: what is being saved stays typed
            return
        self.form.set_values(self._saved_values())
        self._show_dirty()

    def is_dirty(self) -> bool:
        saved, typed = self._saved_values(), self.form.values()
        return any(typed[k] != v for k, v in saved.items())

    @property
    def saving(self) -> bool:
        return self._saver.running

    def discard(self) -> None:
        if self._contact is not None and not self.saving:
            self.load(self._contact)

    def _show_dirty(self) -> None:
        dirty = self.is_dirty()
        self.save_button.setEnabled(dirty and not self.saving)
        self.dirty_changed.emit(dirty)

    def save(self) -> bool:
        """Start saving through core; ``save_finished`` tells how it ended (a refused value
        shows its reason beside the field; nothing saved). False when a save is under way."""
        if self.saving:
            return False
        if self._contact is None or not self.is_dirty():
            self.save_finished.emit(True)
            return True
        self.form.clear_errors()
        self._saver.start(self.form.contact_input(), self._contact.id)
        self._show_saving(True)
        return True

    def _show_saving(self, saving: bool) -> None:
        self.form.setEnabled(not saving)
        self.save_button.setText("Saving…" if saving else "Save details")
        self._show_dirty()

    def _saved(self, outcome: Outcome[int] | None) -> None:
        self._show_saving(False)
        if outcome is None:  # cancelled at the opted-out warning: the typing stays
            self.save_finished.emit(False)
            return
        if not outcome.ok:  # a refused value beside its field, or deleted meanwhile
            self.form.show_error(outcome.field, outcome.message)
            self.save_finished.emit(False)
            return
        self.saved.emit()
        self.save_finished.emit(True)


class OpportunitiesCard(Card):
    """The contact's opportunities (title, stage, value); Enter or a double-click opens one
    on the Opportunities page, "New opportunity…" adds one for this contact."""

    open_requested = Signal(int)  # an opportunity id
    new_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Opportunities", parent)
        self.list = QTreeWidget()
        self.list.setHeaderLabels(["Opportunity", "Stage", "Value"])
        self.list.setRootIsDecorated(False)
        self.list.setAccessibleName("This contact's opportunities")
        self.list.setMaximumHeight(120)
        self.list.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.list.header().setStretchLastSection(False)
        self.list.itemActivated.connect(self._activated)
        self.new_button = QPushButton("New opportunity…")
        self.new_button.clicked.connect(self.new_requested.emit)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.new_button)
        self.body.addWidget(self.list)
        self.body.addLayout(row)

    def show_rows(self, rows: list[opportunities.OpportunityRow]) -> None:
        self.list.clear()
        for row in rows:
            item = QTreeWidgetItem([row.title, row.stage, row.value_text])
            item.setData(0, Qt.ItemDataRole.UserRole, row.id)
            item.setToolTip(0, row.title)
            self.list.addTopLevelItem(item)
        if not rows:
            self.list.addTopLevelItem(QTreeWidgetItem(["No opportunities", "", ""]))
        self.list.resizeColumnToContents(1)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        opportunity_id = item.data(0, Qt.ItemDataRole.UserRole)
        if opportunity_id is not None:
            self.open_requested.emit(int(opportunity_id))


class ContactPage(QWidget):
    back_requested = Signal()
    open_opportunity_requested = Signal(int)
    reply_simulated = Signal()  # sandbox: the window checks the inbox at once
    report_saved = Signal(str)  # the file written
    contact_saved = Signal(int)  # something about this contact changed in the database
    loaded = Signal()  # the contact asked for last is on screen (or could not be read)
    # Other screens' dialogs, which the window opens: enrol these contact ids in an
    # automation; a new opportunity for (contact id, name). The page reloads after either.
    enrol_requested = Signal(list)
    new_opportunity_requested = Signal(int, str)
    save_finished = Signal(bool)  # Ctrl+S's save ended: True when everything was saved

    def __init__(
        self,
        contacts: ContactsService,
        messaging: MessagingService,
        consent: ConsentService,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._contacts, self._messaging, self._consent = contacts, messaging, consent
        self.contact: ContactView | None = None
        self.load_error: str | None = None  # why the contact asked for could not be shown
        self._wanted: int | None = None  # the contact asked for last
        self._after_show: Callable[[], None] | None = None  # kept edits, put back once shown
        self._saving_all = False  # Ctrl+S: the details, then the preferences
        self._details_ok = False
        self.last_save_ok = True  # how the last Ctrl+S save ended
        self._leaving = False  # maybe_leave is asking or waiting
        self._read = LatestRead(self, self._shown, self._load_failed, again=self._read_wanted,
                                loaded=self.loaded.emit)  # fmt: skip
        self._build()

    def _build(self) -> None:
        self.back_button = QPushButton("← All contacts")
        self.back_button.clicked.connect(self.back_requested.emit)
        self.title = heading("", 5, elide=True)  # a very long name must not widen the window
        self.subtitle = ElidedLabel()
        self.simulate_button = QPushButton("Simulate reply…")
        self.simulate_button.setToolTip("Sandbox only: pretend this contact texted you.")
        self.simulate_button.clicked.connect(self.simulate_reply)
        self.report_button = QPushButton("Consent report…")
        self.report_button.setToolTip(
            "Save this contact's opt-out and re-consent history as a printable PDF or a CSV file."
        )
        self.report_button.clicked.connect(self.save_consent_report)
        self.enroll_button = QPushButton("Enrol in automation…")
        self.enroll_button.clicked.connect(self.enroll)

        self.details = DetailsCard(self._contacts)
        self.details.saved.connect(self._reload_after_save)
        self.details.save_finished.connect(self._details_done)
        self.tasks = QTreeWidget()
        self.tasks.setHeaderLabels(["Task", "Due", "Done"])
        self.tasks.setRootIsDecorated(False)
        self.tasks_card = Card("Tasks")
        self.tasks_card.body.addWidget(self.tasks)
        self.timeline = QTreeWidget()
        self.timeline.setHeaderLabels(["When", "What", "By"])
        self.timeline.setRootIsDecorated(False)
        self.timeline.setWordWrap(True)
        self.timeline.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.timeline.header().setStretchLastSection(False)
        self.timeline_card = Card("Activity")
        self.timeline_card.body.addWidget(self.timeline)
        self.opportunities = OpportunitiesCard()
        self.opportunities.open_requested.connect(self.open_opportunity_requested.emit)
        self.opportunities.new_requested.connect(self._new_opportunity)

        self.preferences = CommunicationPreferencesCard(self._consent)
        self.preferences.saved.connect(self._reload_after_save)
        self.preferences.save_finished.connect(self._preferences_done)
        self.messaging = MessagingCard(self._messaging)
        self.messaging.send_finished.connect(lambda _r: self._reload_after_save())

        header = QHBoxLayout()
        header.addWidget(self.back_button)
        header.addSpacing(12)
        names = QVBoxLayout()
        names.setSpacing(0)
        names.addWidget(self.title)
        names.addWidget(self.subtitle)
        header.addLayout(names, 1)
        header.addWidget(self.simulate_button)
        header.addWidget(self.enroll_button)
        header.addWidget(self.report_button)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(12)
        left_layout.addWidget(self.details)
        left_layout.addWidget(self.opportunities)
        left_layout.addWidget(self.tasks_card)
        left_layout.addWidget(self.timeline_card, 1)
        self.tasks.setMaximumHeight(110)

        sidebar = QWidget()
        side_layout = QVBoxLayout(sidebar)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.setSpacing(12)
        side_layout.addWidget(self.preferences)
        side_layout.addWidget(self.messaging, 1)
        self.preferences.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)

        splitter = QSplitter()
        splitter.addWidget(_scrollable(left))
        splitter.addWidget(sidebar)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)
        # While another contact is read nothing of the previous one (its consent state, its
        # Send) is on screen: the page shows this line instead.
        self.loading_label = QLabel("Loading…")
        self.loading_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.loading_label.setVisible(False)
        self._splitter = splitter

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(12)
        layout.addLayout(header)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.loading_label, 1)
        self._set_tab_order()

    def _set_tab_order(self) -> None:
        """Consent first: from Back, Tab reaches the SMS opt-out toggle and its Save, then
        the message box and Send, then the details, then everything else."""
        chain = [
            self.back_button,
            self.preferences.toggle,
            self.preferences.save_button,
            self.messaging.compose,
            self.messaging.send_button,
            *self.details.editors.values(),
            self.details.save_button,
            self.opportunities.list,
            self.opportunities.new_button,
            self.tasks,
            self.timeline,
            self.simulate_button,
            self.enroll_button,
            self.report_button,
        ]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)

    def _new_opportunity(self) -> None:
        """Add an opportunity for this contact (the window opens the Opportunities
        screen's dialog; ``reload_after_change`` then shows it on the card)."""
        if self.contact is not None:
            self.new_opportunity_requested.emit(self.contact.id, self.contact.display_name)

    def reload_after_change(self) -> None:
        """Something about this contact changed through another screen's dialog."""
        self._reload_after_save()

    def set_back_label(self, text: str) -> None:
        """What the back button says: where it returns to ('← Back to the opportunity')."""
        self.back_button.setText(text)
        self.back_button.setToolTip(f"{text.lstrip('← ')} (Alt+Left)")

    # -- loading ----------------------------------------------------------------------

    def load(self, contact_id: int) -> None:
        """Show a contact: read it off the GUI thread (five round trips) and show it when it
        arrives; ``loaded`` fires then. Until then a different contact's page is replaced by
        "Loading…" (never its consent state or its Send); the latest load wins. A contact
        that no longer exists leaves ``load_error`` set and says so on the page."""
        self._wanted = contact_id
        self.load_error = None
        if self.contact is None or self.contact.id != contact_id:
            self._show_loading()
        self._read_wanted()

    def _read_wanted(self) -> None:
        service, contact_id = self._contacts, self._wanted
        if contact_id is None:
            return
        self._read.start(lambda: service.page_data(contact_id))  # five round trips

    @property
    def is_loading(self) -> bool:
        """True while the contact (or its conversation, after a send) is being read, or a
        save runs (the contact is read again once it is in)."""
        return self._read.is_loading or self.messaging.is_loading or self.is_saving

    def wait_until_loaded(self, timeout_ms: int = 15_000) -> bool:
        """Run the event loop until the contact asked for is on screen (``--screenshot``)."""
        return wait_until(lambda: not self.is_loading, timeout_ms)

    def _show_loading(self) -> None:
        self.contact = None
        self.title.setText("Loading…")
        self.subtitle.setText("")
        self._splitter.setVisible(False)
        self.loading_label.setVisible(True)
        self._set_actions_enabled(False)

    def _set_actions_enabled(self, enabled: bool) -> None:
        self._splitter.setEnabled(enabled)
        for button in (self.simulate_button, self.enroll_button, self.report_button):
            button.setEnabled(enabled)

    def _shown(self, data: ContactPageData) -> None:
        if data.contact.id != self._wanted:  # an older load arriving late: never painted
            return
        self.show_data(data)
        after, self._after_show = self._after_show, None
        if after is not None:
            after()

    def _load_failed(self, error: Exception) -> None:
        self._after_show = None
        if (
            self.contact is not None
            and self.contact.id == self._wanted
            and not isinstance(error, NotFoundError)
        ):
            return  # a re-read of the shown contact failed: keep what is on screen
        self._show_loading()
        self.load_error = (
            "This contact no longer exists." if isinstance(error, NotFoundError) else str(error)
        )
        self.title.setText("Contact not shown")
        self.loading_label.setText(self.load_error)

    def show_data(self, data: ContactPageData) -> None:
        """Show a contact page read by ``core.contact_page_data`` (on any thread)."""
        contact = data.contact
        self.contact = contact
        self.loading_label.setText("Loading…")
        self.loading_label.setVisible(False)
        self._splitter.setVisible(True)
        self._set_actions_enabled(True)
        self.title.setText(contact.display_name or "(no name)")
        self.subtitle.setText(
            " · ".join(p for p in (contact.phone_display, contact.company, contact.email) if p)
        )
        self.simulate_button.setVisible(
            self._messaging.can_simulate_replies and bool(contact.phone_e164)
        )
        self.details.load(contact)
        self.preferences.load(contact)
        self.messaging.load(contact, data.messages, data.delivery_problem)
        self._show_timeline(data.timeline)
        self._show_tasks(data.tasks)
        self.opportunities.show_rows(data.opportunities)

    def _time(self, when) -> str:  # type: ignore[no-untyped-def]
        return format_time(when, self._contacts.zone)

    def _show_timeline(self, entries: Sequence[activity.ActivityView]) -> None:
        self.timeline.clear()
        for entry in entries:
            item = QTreeWidgetItem([self._time(entry.occurred_at), entry.summary, entry.actor])
            item.setToolTip(1, f"{entry.kind_label}: {entry.summary}")
            self.timeline.addTopLevelItem(item)
        if not entries:
            self.timeline.addTopLevelItem(QTreeWidgetItem(["", "Nothing recorded yet", ""]))
        self.timeline.resizeColumnToContents(0)

    def _show_tasks(self, tasks: Sequence[contact_tasks.TaskView]) -> None:
        self.tasks.clear()
        for task in tasks:
            item = QTreeWidgetItem(
                [task.title, self._time(task.due_at) or "—", "Done" if task.done else ""]
            )
            self.tasks.addTopLevelItem(item)
        if not tasks:
            self.tasks.addTopLevelItem(QTreeWidgetItem(["No tasks", "", ""]))
        self.tasks.resizeColumnToContents(0)

    def reload_from_database(self) -> None:
        """Show changes made elsewhere (an opt-out from the inbox) without losing unsaved edits."""
        self._reload_after_save(announce=False)

    def _reload_after_save(self, announce: bool = True) -> None:
        if self.contact is None:
            return
        contact_id = self.contact.id
        keep_prefs = self.preferences.is_dirty()
        toggle = self.preferences.toggle.isChecked()
        # A change seen from elsewhere must not throw away what is being typed here.
        typed = {k: e.text() for k, e in self.details.editors.items()}
        keep_details = not announce and self.details.is_dirty()

        def put_back() -> None:
            if keep_prefs:  # a details save must not throw away an unsaved toggle
                self.preferences.toggle.setChecked(toggle)
            if keep_details:
                for key, text in typed.items():
                    self.details.editors[key].setText(text)
                self.details.form.edited.emit()  # Save stays enabled

        self._after_show = put_back
        self.load(contact_id)
        if announce:
            self.contact_saved.emit(contact_id)

    # -- unsaved changes --------------------------------------------------------------

    def has_unsaved_changes(self) -> bool:
        return self.contact is not None and (self.details.is_dirty() or self.preferences.is_dirty())

    @property
    def is_saving(self) -> bool:
        """A save (the details, the preferences, or Ctrl+S's both) is under way."""
        return self._saving_all or self.details.saving or self.preferences.saving

    def save(self) -> bool:
        """Ctrl+S: save whatever is unsaved, the details and then the preferences, each off
        the GUI thread; ``save_finished`` says whether all of it was saved. False when a
        save is already under way (nothing new starts)."""
        if self.is_saving:
            return False
        self._saving_all, self._details_ok = True, False
        self.details.save()  # always answers through save_finished
        return True

    def _details_done(self, ok: bool) -> None:
        if not self._saving_all:
            return  # the card's own Save: nothing follows
        self._details_ok = ok
        if not self.preferences.save():  # its own Save is under way: that one counts
            self._all_saved(False)

    def _preferences_done(self, ok: bool) -> None:
        if self._saving_all:
            self._all_saved(self._details_ok and ok)

    def _all_saved(self, ok: bool) -> None:
        self._saving_all, self.last_save_ok = False, ok
        self.save_finished.emit(ok)

    def discard(self) -> None:
        self.details.discard()
        self.preferences.discard()

    def maybe_leave(self) -> bool:
        """Before showing something else: ask about unsaved changes. True when it is fine to
        go. A save under way (or asked for here) is waited for with the window responsive,
        so leaving never loses it; a failed save keeps the page and what was typed."""
        if self._leaving:
            return False  # already asking or waiting: the first request decides
        self._leaving = True
        try:
            return self._leave()
        finally:
            self._leaving = False

    def _leave(self) -> bool:
        if self.is_saving and not self._wait_for_save(then_reload=True):
            return False
        if not self.has_unsaved_changes():
            return True
        answer = self.ask_unsaved()
        if answer == QMessageBox.StandardButton.Save:
            return self.save() and self._wait_for_save() and self.last_save_ok
        if answer == QMessageBox.StandardButton.Discard:
            self.discard()
            return True
        return False

    def _wait_for_save(self, *, then_reload: bool = False) -> bool:
        """Run the event loop until the save is in (and, ``then_reload``, the contact read
        again, so what was saved no longer counts as unsaved). False on timeout."""
        return wait_until(
            lambda: not self.is_saving and not (then_reload and self._read.is_loading), 60_000
        )

    def ask_unsaved(self) -> QMessageBox.StandardButton:
        """Save / Discard / Cancel for unsaved changes on this contact."""
        name = self.contact.display_name if self.contact else "this contact"
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Unsaved changes",
            f"You changed {name} but did not save.\n\nSave the changes before leaving?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        return QMessageBox.StandardButton(box.exec())

    # -- sandbox ----------------------------------------------------------------------

    def simulate_reply(self) -> None:
        """Sandbox only: pretend the contact texted us; the inbox poller picks it up."""
        messaging = self._messaging
        if (
            self.contact is None
            or not self.contact.phone_e164
            or not messaging.can_simulate_replies
        ):
            return
        body, ok = QInputDialog.getText(
            self,
            "Simulate reply",
            f"Text that {self.contact.display_name} sends you (try STOP):",
        )
        if ok and body.strip():
            messaging.simulate_reply(self.contact.phone_e164, body)
            self.reply_simulated.emit()

    def enroll(self) -> None:
        """Enrol this contact in an automation; an opt-out still blocks its texts at send
        time. The automations screen's dialog: the window opens it, then reloads the page."""
        if self.contact is not None:
            self.enrol_requested.emit([self.contact.id])

    # -- consent report ---------------------------------------------------------------

    def save_consent_report(self) -> None:
        """Ask where, then build the report off the GUI thread (it verifies the whole log)."""
        if self.contact is None:
            return
        suggested = documents_path(f"consent-history-{self.contact.id}.pdf")
        path, chosen = QFileDialog.getSaveFileName(
            self, "Save consent report", suggested, "PDF report (*.pdf);;CSV file (*.csv)"
        )
        if path:
            self.write_consent_report(path, "csv" if chosen.startswith("CSV") else "pdf")

    def write_consent_report(self, path: str, fmt: str) -> None:
        """Write the report for the shown contact; ``report_saved`` fires when done.

        The data (and the log verification) is gathered on a worker thread; the PDF
        is painted on the GUI thread because Qt's text document requires it."""
        from trustpager_desktop.pdf import consent_report  # PDF and export code: load on demand

        # The report reads through the contacts service (its database, clock and settings).
        contact_id, s = self.contact.id, self._contacts  # type: ignore[union-attr]
        self.report_button.setEnabled(False)

        def gather(progress):  # type: ignore[no-untyped-def]
            if fmt == "csv":
                return consent_report.save_consent_report(s, contact_id, path, "csv")
            return consent_report.gather_report(s, contact_id, progress)

        def finish(data) -> None:  # type: ignore[no-untyped-def]
            try:
                if fmt == "pdf":
                    consent_report.write_pdf(data, path)
            except OSError as exc:
                self._report_failed(exc)
                return
            self._report_done(path)

        task = BackgroundTask(gather, self)
        show_progress(task, self, "Checking the activity log for the report", "entries")
        task.finished.connect(finish)
        task.failed.connect(self._report_failed)
        self._report_job = task
        task.start()

    def _report_done(self, path: str) -> None:
        self.report_button.setEnabled(True)
        self.report_saved.emit(path)

    def _report_failed(self, error: Exception | str) -> None:
        self.report_button.setEnabled(True)
        QMessageBox.warning(self, "Consent report", f"The report could not be saved.\n\n{error}")


def _scrollable(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area
