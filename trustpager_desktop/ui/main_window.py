"""The main window: navigation on the left, one page at a time on the right, menus
(File, Go, Automations, Help), and a status bar naming the provider (highlighted in
sandbox mode), the automation pause and the inbox state."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QMainWindow,
    QMenu,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from trustpager_desktop import APP_NAME
from trustpager_desktop.services import AppServices
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.ui.common import WARNING_COLOUR, bold, coloured, plain_label
from trustpager_desktop.ui.contact_browser import ContactBrowser
from trustpager_desktop.ui.contact_dialogs import ContactDialogs
from trustpager_desktop.ui.contact_page import ContactPage
from trustpager_desktop.ui.help_menu import (
    help_dialog,
    help_menu,
    opt_out_guide_html,
    shortcuts_html,
)
from trustpager_desktop.ui.live import LiveUpdates
from trustpager_desktop.ui.pause import CHECKING_TEXT, PAUSED_DETAIL, PAUSED_TEXT, AutomationPause
from trustpager_desktop.ui.review_alerts import ReviewEscalation
from trustpager_desktop.ui.runner import BackgroundTask, run_in_background
from trustpager_desktop.ui.theme import SANDBOX_BACKGROUND, SANDBOX_TEXT, Tone, tone_colour
from trustpager_desktop.usecases.screens import Screens

if TYPE_CHECKING:
    from trustpager_desktop.ui.activity_page import ActivityPage
    from trustpager_desktop.ui.automations_page import AutomationsPage
    from trustpager_desktop.ui.background import BackgroundWork
    from trustpager_desktop.ui.opportunities_page import OpportunitiesPage
    from trustpager_desktop.ui.optouts_page import OptOutsPage
    from trustpager_desktop.ui.review_page import ReviewPage
    from trustpager_desktop.ui.settings_page import SettingsPage

log = logging.getLogger("trustpager.ui")

NAVIGATION = [
    ("contacts", "Contacts"),
    ("opportunities", "Opportunities"),
    ("automations", "Automations"),
    ("activity", "Activity Log"),
    ("review", "Needs review"),
    ("optouts", "Opt-outs"),
    ("insights", "Insights"),
    ("settings", "Settings"),
]
# Pages built on first visit (_make_page), so their imports wait too.
LAZY_PAGES = (
    "opportunities", "automations", "activity", "review", "optouts", "insights", "settings"
)  # fmt: skip
TARGETS = (
    "contacts, contact:ID, opportunities, opportunity:ID, automations, queue, activity, "
    "review, optouts, insights, settings"
)
# Which pages show which topics (store.change_marker): a change refreshes the visible page
# at once and the others when they are next shown.
PAGE_TOPICS = {
    "contacts": {topic.CONTACTS},
    "contact": {
        topic.CONTACTS,
        topic.MESSAGES,
        topic.AUTOMATIONS,
        topic.TASKS,
        topic.OPPORTUNITIES,
        topic.ACTIVITY,
    },
    "opportunities": {topic.CONTACTS, topic.OPPORTUNITIES},
    "automations": {topic.AUTOMATIONS, topic.CONTACTS},
    "activity": {topic.ACTIVITY},
    "review": {topic.MESSAGES},
}
# Where the contact page's back button returns to, and what it says.
BACK_LABELS = {
    "contacts": "← All contacts",
    "opportunities": "← Back to the opportunity",
    "activity": "← Back to the activity log",
}


class MainWindow(QMainWindow):
    quit_requested = Signal()  # File -> Quit (Ctrl+Q), after unsaved changes are settled

    def __init__(self, services: AppServices) -> None:
        super().__init__()
        self.services = services
        self.screens = Screens.build(services)  # each page gets its service from here
        self.setWindowTitle(APP_NAME)
        self._fit_to_screen(1280, 800)
        # Read off the GUI thread once the contact list is in: one connection at start
        # (against a distant database a second one costs its own round trips).
        self.pause = AutomationPause(self.screens.automations, self, read_now=False)
        self._back_to = "contacts"
        self._build_pages()
        self._read_pause_after_first_list()
        self._build_status_bar()
        self._build_menus()
        self.pause.changed.connect(self._show_pause)
        self.pause.ready_changed.connect(lambda _ready: self._show_pause(self.pause.paused))
        self.pause.failed.connect(lambda message: QMessageBox.warning(self, APP_NAME, message))
        self._show_pause(self.pause.paused)
        self.background: BackgroundWork | None = None
        # Replies near their 10-business-day deadline: a red count on "Needs review".
        self.review_alerts = ReviewEscalation(self.screens.review, self)
        self.review_alerts.urgent_changed.connect(lambda _n: self._show_review_badge())
        self._review_count = 0
        # Changes made here, on another desktop or by the agent: refresh what shows them.
        self._stale: set[str] = set()
        self.live = LiveUpdates(services, self)
        self.automations = self.screens.automations
        self.review = self.screens.review
        self._live_tasks: list[BackgroundTask] = []  # kept while they run
        self.live.changed.connect(self.show_changes)
        self.nav.setCurrentRow(0)

    # -- construction ---------------------------------------------------------------

    def _read_pause_after_first_list(self) -> None:
        model = self.contact_browser.model

        def first_list_in(*_failure: str) -> None:  # or the list failed: read it anyway
            model.loaded.disconnect(first_list_in)
            model.failed.disconnect(first_list_in)
            self.pause.refresh()

        model.loaded.connect(first_list_in)
        model.failed.connect(first_list_in)

    def _fit_to_screen(self, width: int, height: int) -> None:
        """Start at ``width`` x ``height``, or smaller on a smaller screen (1024x700 works)."""
        screen = self.screen()
        if screen is not None:
            room = screen.availableGeometry()
            width, height = min(width, room.width()), min(height, room.height())
        self.resize(width, height)

    def _build_pages(self) -> None:
        screens = self.screens
        self.contact_browser = ContactBrowser(screens.contacts)
        self.contact_page = ContactPage(screens.contacts, screens.messaging, screens.consent)
        self.contact_dialogs = ContactDialogs(screens, self.contact_browser,
                                              self.contact_page, self)  # fmt: skip
        # Other pages are built on first visit: a quicker start, and no query of a
        # million-entry log before anyone asks for it.
        self.pages: dict[str, QWidget] = {
            "contacts": self.contact_browser,
            "contact": self.contact_page,
        }
        self.stack = QStackedWidget()
        for page in self.pages.values():
            self.stack.addWidget(page)

        self.nav = QListWidget()
        self.nav.setAccessibleName("Navigation")
        for _key, label in NAVIGATION:
            self.nav.addItem(label)
        self.nav.setFixedWidth(170)
        self.nav.setSpacing(2)
        font = self.nav.font()
        font.setPointSizeF(font.pointSizeF() + 1)
        self.nav.setFont(font)
        self.nav.currentRowChanged.connect(self._nav_changed)

        self.contact_browser.contact_activated.connect(self.open_contact)
        self.contact_page.back_requested.connect(self.go_back)
        self.contact_page.contact_saved.connect(lambda _id: self._contacts_changed())
        self.contact_page.open_opportunity_requested.connect(self.open_opportunity)
        self.contact_browser.contacts_changed.connect(self._opportunities_changed)
        self.contact_page.reply_simulated.connect(self.check_inbox_now)

        body = QWidget()
        layout = QHBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(body)

    def page(self, key: str) -> QWidget:
        """The page for ``key``, built (and wired) the first time it is needed."""
        if key not in self.pages:
            if key not in LAZY_PAGES:
                raise KeyError(key)
            widget = _make_page(key, self.services, self.screens)
            self._wire_page(key, widget)
            self.pages[key] = widget
            self.stack.addWidget(widget)
        return self.pages[key]

    def _wire_page(self, key: str, widget: QWidget) -> None:
        if key in ("opportunities", "activity"):
            widget.open_contact_requested.connect(
                lambda contact_id, came_from=key: self.open_contact(contact_id, came_from)
            )
        if key == "settings":
            widget.settings_saved.connect(self._settings_saved)
        elif key == "optouts":  # a do-not-contact list opted contacts out
            widget.optouts_changed.connect(self._contacts_changed)
        elif key == "automations":
            widget.attach_pause(self.pause)
        elif key == "activity" and self.live.watcher.running:
            widget.poll_timer.stop()  # the change marker says when the log grew

    @property
    def opportunities_page(self) -> OpportunitiesPage:
        return self.page("opportunities")  # type: ignore[return-value]

    @property
    def automations_page(self) -> AutomationsPage:
        return self.page("automations")  # type: ignore[return-value]

    @property
    def activity_page(self) -> ActivityPage:
        return self.page("activity")  # type: ignore[return-value]

    @property
    def review_page(self) -> ReviewPage:
        return self.page("review")  # type: ignore[return-value]

    @property
    def optouts_page(self) -> OptOutsPage:
        return self.page("optouts")  # type: ignore[return-value]

    @property
    def settings_page(self) -> SettingsPage:
        return self.page("settings")  # type: ignore[return-value]

    def _contacts_changed(self) -> None:
        self.contact_browser.refresh()
        self._opportunities_changed()

    def _opportunities_changed(self) -> None:
        if "opportunities" in self.pages:
            self.opportunities_page.refresh()

    def open_opportunity(self, opportunity_id: int) -> None:
        """Show one opportunity on the Opportunities page (from the contact page's card)."""
        if self.show_page("opportunities"):
            self.opportunities_page.show_opportunity(opportunity_id)

    def _build_status_bar(self) -> None:
        self.provider_label = plain_label()
        self.provider_label.setContentsMargins(8, 2, 8, 2)
        self.pause_label = coloured(bold(plain_label(PAUSED_TEXT)), WARNING_COLOUR)
        self.pause_label.setToolTip(PAUSED_DETAIL + " Automations → Pause automations resumes.")
        self.pause_label.setVisible(False)
        self.inbox_label = plain_label("Inbox not checked yet")
        self.statusBar().addWidget(self.provider_label)
        self.statusBar().addWidget(self.pause_label)
        self.statusBar().addPermanentWidget(self.inbox_label)
        self._show_provider()

    def _action(self, menu: QMenu, text: str, slot, keys: str | None = None) -> QAction:  # type: ignore[no-untyped-def]
        action = menu.addAction(text)
        if keys:
            action.setShortcut(QKeySequence(keys))
        action.triggered.connect(lambda _checked=False: slot())
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self.new_contact_action = self._action(file, "&New contact…", self.new_contact, "Ctrl+N")
        self.import_action = self._action(file, "&Import contacts…", self.import_contacts)
        self.save_action = self._action(file, "&Save", self.save_current, "Ctrl+S")
        file.addSeparator()
        self.quit_action = self._action(file, "&Quit", self.request_quit, "Ctrl+Q")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        go = bar.addMenu("&Go")
        self.back_action = self._action(go, "&Back", self.go_back, "Alt+Left")
        self.find_action = self._action(go, "&Find contact", self.focus_search, "Ctrl+F")
        go.addSeparator()
        self.page_actions = [
            self._action(go, label, lambda key=key: self.show_page(key), f"Ctrl+{n}")
            for n, (key, label) in enumerate(NAVIGATION, start=1)
        ]

        autos = bar.addMenu("&Automations")
        self.pause_action = autos.addAction("&Pause automations")
        self.pause_action.setCheckable(True)
        self.pause_action.setShortcut(QKeySequence("Ctrl+Shift+P"))
        self.pause_action.toggled.connect(self.set_paused)
        self.run_due_action = self._action(autos, "&Run due items now", self.run_due_now)
        self.inbox_action = self._action(autos, "&Check inbox now", self.check_inbox_now, "Ctrl+I")

        helps = help_menu(self)
        self.guide_action = self._action(helps, "SMS &opt-out guide", self.show_opt_out_guide, "F1")
        self.shortcuts_action = self._action(helps, "&Keyboard shortcuts", self.show_shortcuts)
        helps.addSeparator()

    def _show_provider(self) -> None:
        choice = self.services.provider_choice
        self.provider_label.setText(choice.description)
        if choice.is_sandbox:
            # Amber with black text reads in light and dark mode alike (9.6:1).
            self.provider_label.setStyleSheet(
                f"background: {SANDBOX_BACKGROUND.name()}; color: {SANDBOX_TEXT.name()};"
                "font-weight: bold; border-radius: 3px;"
            )
            self.provider_label.setToolTip(
                "Sandbox mode: texts are recorded here but never sent. Set up Twilio in Settings."
            )
        else:
            self.provider_label.setStyleSheet("")
            self.provider_label.setToolTip("")

    # -- navigation -----------------------------------------------------------------

    def current_page_key(self) -> str:
        current = self.stack.currentWidget()
        return next(k for k, page in self.pages.items() if page is current)

    def _leave_current(self) -> bool:
        """True when the visible page may be left (unsaved changes saved or discarded)."""
        if self.stack.currentWidget() is self.contact_page:
            return self.contact_page.maybe_leave()
        return True

    def show_page(self, key: str) -> bool:
        """Show a page by key; False when the user chose to stay (unsaved changes)."""
        target = self.page(key)
        if self.stack.currentWidget() is not target and not self._leave_current():
            self._sync_nav()
            return False
        self.stack.setCurrentWidget(target)
        self._sync_nav()
        if key == "automations" and not self.live.watcher.running:
            self.pause.refresh()  # another desktop or the agent may have paused meanwhile
        if key in self._stale:
            self._refresh_page(key)
        return True

    def _nav_changed(self, row: int) -> None:
        if 0 <= row < len(NAVIGATION):
            key = NAVIGATION[row][0]
            if self.stack.currentWidget() is self.pages.get(key):
                return
            if key == "contacts" and self.stack.currentWidget() is self.contact_page:
                self.show_page("contacts")
                return
            self.show_page(key)

    def _sync_nav(self) -> None:
        key = self.current_page_key()
        key = self._back_to if key == "contact" else key  # a contact opened from an opportunity
        row = next(i for i, (k, _l) in enumerate(NAVIGATION) if k == key)
        self.nav.blockSignals(True)
        self.nav.setCurrentRow(row)
        self.nav.blockSignals(False)

    def open_contact(self, contact_id: int, came_from: str = "contacts") -> bool:
        """Show a contact's page (asking first about unsaved changes to another contact).
        ``came_from`` is the page its back button returns to (an opportunity keeps its
        selection there). Raises NotFoundError when the contact does not exist.
        """
        if not self._leave_current():
            self._sync_nav()
            return False
        self.contact_page.load(contact_id)
        self._back_to = came_from if came_from in BACK_LABELS else "contacts"
        self.contact_page.set_back_label(BACK_LABELS[self._back_to])
        self.stack.setCurrentWidget(self.contact_page)
        self._sync_nav()
        self.contact_page.back_button.setFocus()  # Tab then reaches the opt-out toggle
        return True

    def go_back(self) -> None:
        """Alt+Left and the contact page's back button: to where the contact was opened from."""
        if self.stack.currentWidget() is self.contact_page:
            self.show_page(self._back_to)

    def show_target(self, target: str) -> None:
        """Navigate by name (``--screenshot --show``). Raises ValueError for an unknown
        target and LookupError (NotFoundError) for a missing contact or opportunity."""
        name, _, ident = target.partition(":")
        if name in ("contact", "opportunity"):
            if not ident.isdigit():
                raise ValueError(f"'{target}' needs a number after the colon, e.g. {name}:6")
            if name == "contact":
                self.open_contact(int(ident))
            else:
                self.show_page("opportunities")
                self.opportunities_page.show_opportunity(int(ident))
            return
        if name == "queue" and not ident:  # the Automations page's Auto Queue tab
            self.show_page("automations")
            self.automations_page.tabs.setCurrentIndex(1)
            return
        if ident or name not in (*self.pages, *LAZY_PAGES) or name == "contact":
            raise ValueError(f"unknown screen '{target}'; choose one of: {TARGETS}")
        self.show_page(name)

    # -- status bar and shortcuts ----------------------------------------------------

    def _show_pause(self, paused: bool) -> None:
        """The tick and the status bar; until the state is read (or while a change is
        saved) the menu item says it is checking and cannot be toggled."""
        self.pause_action.blockSignals(True)
        self.pause_action.setChecked(paused)
        self.pause_action.blockSignals(False)
        self.pause_action.setEnabled(self.pause.ready)
        checking = not self.pause.known
        self.pause_action.setText("&Pause automations" + (" (checking…)" if checking else ""))
        self.pause_action.setToolTip(CHECKING_TEXT if checking else "")
        self.pause_label.setVisible(paused)

    def set_paused(self, paused: bool) -> None:
        """Pause or resume automations (menu, Ctrl+Shift+P); saved off the GUI thread, and
        shown once saved (a refused change puts the tick back)."""
        self.pause.set_paused(paused)
        self._show_pause(self.pause.paused)

    def new_contact(self) -> None:
        if self.show_page("contacts"):
            self.contact_browser.new_contact()

    def import_contacts(self) -> None:
        if self.show_page("contacts"):
            self.contact_browser.import_contacts()

    def run_due_now(self) -> None:
        if self.show_page("automations"):
            self.automations_page.tabs.setCurrentIndex(1)  # the Auto Queue shows the result
            self.automations_page.run_due_now()

    def show_opt_out_guide(self) -> None:
        self.help_dialog("SMS opt-out guide", opt_out_guide_html()).exec()

    def show_shortcuts(self) -> None:
        self.help_dialog("Keyboard shortcuts", shortcuts_html()).exec()

    def help_dialog(self, title: str, html_text: str):  # type: ignore[no-untyped-def]
        """Build a Help dialog (tests look at it instead of running it)."""
        return help_dialog(title, html_text, self)

    def request_quit(self) -> None:
        """Quit for real (not to the tray), once unsaved changes are saved or discarded."""
        if self._leave_current():
            self.quit_requested.emit()

    def attach_background(self, work: BackgroundWork) -> None:
        """Listen to the background jobs: inbox status, review count, refreshed pages."""
        self.background = work
        work.inbox.status_changed.connect(self.set_inbox_status)
        work.inbox.review_count_changed.connect(self._review_count_changed)
        work.inbox.opted_out.connect(self._inbox_changed_contacts)
        self.set_inbox_status(work.inbox.status_text)
        self.review_alerts.start()

    # -- live views -------------------------------------------------------------------

    def start_live_updates(self, interval: float | None = None) -> None:
        """Watch the database's change marker (every two seconds, off the GUI thread) so
        changes from another desktop, the agent or a command show without navigating."""
        self.live.start(interval)
        if "activity" in self.pages:
            self.activity_page.poll_timer.stop()

    def show_changes(self, changed: frozenset[str]) -> None:
        """Refresh what shows the changed topics: the visible page now, the others when
        they are next shown; the pause state and the review badge always."""
        if topic.PAUSE in changed:
            self._in_background(self.automations.paused, self.pause.show)
        if topic.MESSAGES in changed:
            self._in_background(self.review.count, self._review_count_changed)
        if topic.SETTINGS in changed:  # another desktop's save: run with it here too
            self._in_background(self.screens.settings.reread, self._settings_changed_elsewhere)
        current = self.current_page_key()
        for key, shown in PAGE_TOPICS.items():
            if key not in self.pages or not (shown & changed):
                continue
            if key == "review":
                continue  # the review count above re-reads the page
            if key == current:
                self._refresh_page(key)
            else:
                self._stale.add(key)

    def _in_background(self, read: Callable[[], Any], show: Callable[[Any], None]) -> None:
        """Read on the runner, show on the GUI thread; the task is kept until it reported."""

        def done(result: Any) -> None:
            self._live_tasks.remove(task)
            show(result)

        def failed(error: Exception) -> None:
            self._live_tasks.remove(task)
            log.warning("a live refresh failed (the next change tries again): %s", error)

        task = run_in_background(read, done, failed)
        task.setParent(self)  # a window closed meanwhile drops the result, unpainted
        self._live_tasks.append(task)

    def _refresh_page(self, key: str) -> None:
        self._stale.discard(key)
        if key == "contacts":
            self.contact_browser.refresh()
        elif key == "contact":
            self.contact_page.reload_from_database()
        elif key == "opportunities":
            self.opportunities_page.refresh()
        elif key == "automations":
            self.automations_page.refresh()
        elif key == "activity":
            self.activity_page.poll_new_entries()
        elif key == "review":
            self.review_page.refresh()

    def check_inbox_now(self) -> None:
        """ "Check inbox now" (tray and Ctrl+I): one poll on a worker thread."""
        if self.background is not None:
            self.set_inbox_status("Checking the inbox…")
            self.background.inbox.check_now()

    def _review_count_changed(self, count: int) -> None:
        self._review_count = count
        self.review_alerts.check()  # a new or decided reply may change what is due soon
        self._show_review_badge()
        if "review" in self.pages:
            self.review_page.refresh()

    def _show_review_badge(self) -> None:
        """'Needs review (3)'; red and bold with '1 due soon' when a reply is within two
        business days of its deadline (or past it)."""
        count, urgent = self._review_count, len(self.review_alerts.urgent)
        label = "Needs review" + (f" ({count})" if count else "")
        if urgent:
            label = f"Needs review ({max(count, urgent)}, {urgent} due soon)"
        row = next(i for i, (k, _l) in enumerate(NAVIGATION) if k == "review")
        item = self.nav.item(row)
        item.setText(label)
        font = item.font()
        font.setBold(bool(urgent))
        item.setFont(font)
        # Red from the palette-fitted tones (readable light or dark); else normal text.
        item.setForeground(tone_colour(Tone.ERROR) if urgent else self.nav.palette().text())
        item.setToolTip(
            "Replies within two business days of the 10-business-day deadline" if urgent else ""
        )

    def _inbox_changed_contacts(self, _notices: list) -> None:
        """Opt-outs arrived: the list and an open contact must show them at once."""
        self.contact_browser.refresh()
        if self.stack.currentWidget() is self.contact_page:
            self.contact_page.reload_from_database()

    def set_inbox_status(self, text: str) -> None:
        """Show the inbox state in the status bar, e.g. 'Inbox last checked 10:04'."""
        self.inbox_label.setText(text)

    def _settings_saved(self) -> None:
        self._show_provider()
        self.contact_browser.refresh()

    def _settings_changed_elsewhere(self, settings: Any) -> None:
        """Run with the settings another desktop saved: the jobs follow from their next
        cycle, the status bar names the provider, pages showing times re-read (the zone
        may be new), and the Settings page shows them (or, over unsaved edits, says so)."""
        if not self.screens.settings.apply(settings):
            return  # this window saved them itself: it runs with them already
        self._show_provider()
        current = self.current_page_key()
        for key in PAGE_TOPICS:
            if key in self.pages and key != "review":
                if key == current:
                    self._refresh_page(key)
                else:
                    self._stale.add(key)
        if "review" in self.pages:
            self.review_page.refresh()
        self.stack.currentWidget().update()  # rows on screen are painted in the new zone
        if "settings" in self.pages:
            self.settings_page.changed_elsewhere()

    def focus_search(self) -> None:
        if self.show_page("contacts"):
            self.contact_browser.focus_search()

    def save_current(self) -> None:
        current = self.stack.currentWidget()
        if current is self.contact_page:
            self.contact_page.save()
        elif current is self.pages.get("settings"):
            self.settings_page.save()

    # -- closing ---------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._leave_current():
            event.accept()
        else:
            event.ignore()

    def shutdown(self) -> None:
        """Stop background work before the window goes away."""
        from PySide6.QtCore import QThreadPool

        self.live.shutdown()
        if self.background is not None:
            self.background.shutdown()
        for key in ("activity", "insights", "optouts"):
            if key in self.pages:
                self.pages[key].shutdown()  # type: ignore[attr-defined]
        QThreadPool.globalInstance().waitForDone(5000)


def _make_page(key: str, services: AppServices, screens: Screens) -> QWidget:
    """A lazy page, its module imported on first need (a window start imports only the
    contacts pages), given its screen's service."""
    if key == "opportunities":
        from trustpager_desktop.ui.opportunities_page import OpportunitiesPage

        return OpportunitiesPage(screens.opportunities)
    if key == "automations":
        from trustpager_desktop.ui.automations_page import AutomationsPage

        return AutomationsPage(screens.automations, _due_items_runner(services))
    if key == "activity":
        from trustpager_desktop.ui.activity_page import ActivityPage

        return ActivityPage(screens.activity)
    if key == "review":
        from trustpager_desktop.ui.review_page import ReviewPage

        return ReviewPage(screens.review)
    if key == "optouts":
        from trustpager_desktop.ui.optouts_page import OptOutsPage

        return OptOutsPage(screens.optouts)
    if key == "insights":
        from trustpager_desktop.ui.insights_page import InsightsPage

        return InsightsPage(screens.insights)
    from trustpager_desktop.ui.settings_page import SettingsPage

    return SettingsPage(screens.settings)


def _due_items_runner(services: AppServices) -> Callable[[], str]:
    """'Run due items now' for the Automations page: the runtime's dispatcher, wired here
    (ui may import the runtime; use cases may not). Runs on a worker thread."""

    def run_due() -> str:
        from trustpager_desktop.runtime.automation_runner import AutomationRunner

        return AutomationRunner(services).dispatch().describe()

    return run_due
