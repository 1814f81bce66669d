"""Other screens' dialogs that the contacts screens ask for: enrol contacts in an
automation, import contacts, a new opportunity for a contact.

The contact browser and the contact page hold only their own use-case services, so they
ask through signals and the window opens the dialog with what that dialog needs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from trustpager_desktop.ui.contact_browser import ContactBrowser
from trustpager_desktop.ui.contact_page import ContactPage

if TYPE_CHECKING:
    from trustpager_desktop.usecases.screens import Screens


class ContactDialogs:
    """Opens, for ``browser`` and ``page``, the dialogs of other screens they ask for."""

    def __init__(
        self,
        screens: Screens,
        browser: ContactBrowser,
        page: ContactPage,
        parent: QWidget,
    ) -> None:
        self._screens, self._parent = screens, parent
        self._browser, self._page = browser, page
        browser.enrol_requested.connect(lambda ids: self.enrol(ids, browser))
        browser.import_requested.connect(self.import_contacts)
        page.enrol_requested.connect(lambda ids: self.enrol(ids, page))
        page.new_opportunity_requested.connect(self.new_opportunity)

    def enrol(self, contact_ids: list[int], asked_by: QWidget) -> None:
        from trustpager_desktop.ui.automations_page import EnrollDialog

        dialog = EnrollDialog(self._screens.automations, contact_ids, asked_by)
        dialog.exec()
        dialog.deleteLater()  # parented to a page: gone now, not collected on a worker thread
        if asked_by is self._page:
            self._page.reload_from_database()

    def import_contacts(self) -> None:
        from trustpager_desktop.ui.import_dialog import ImportContactsDialog

        dialog = ImportContactsDialog(self._screens.contacts, self._browser)
        dialog.imported.connect(lambda _report: self._browser.imported())
        dialog.exec()
        dialog.deleteLater()

    def new_opportunity(self, contact_id: int, contact_name: str) -> None:
        from trustpager_desktop.ui.opportunities_page import OpportunityDialog

        # No stages given: the dialog reads them off the GUI thread itself.
        dialog = OpportunityDialog(
            self._screens.opportunities, None, contact_id, contact_name, self._page
        )
        accepted = dialog.exec() == OpportunityDialog.DialogCode.Accepted
        dialog.deleteLater()
        if accepted:
            self._page.reload_after_change()
