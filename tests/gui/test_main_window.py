"""The main window: navigation, targets for --screenshot, status bar, opportunity link."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from sqlalchemy import select

from tests.gui.conftest import wait_loaded
from tests.support.writes import saved
from trustpager_desktop.core import demo
from trustpager_desktop.store.models import Contact, Opportunity, Setting
from trustpager_desktop.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, services):
    with services.db.write() as s:
        demo.fill_demo(s, clock=services.clock)
    w = MainWindow(services)
    qtbot.addWidget(w)
    return w


@pytest.mark.parametrize(
    ("target", "page"),
    [
        ("contacts", "contact_browser"),
        ("contact:6", "contact_page"),
        ("opportunities", "opportunities_page"),
        ("opportunity:1", "opportunities_page"),
        ("automations", "automations_page"),
        ("queue", "automations_page"),
        ("activity", "activity_page"),
        ("review", "review_page"),
        ("settings", "settings_page"),
    ],
)
def test_every_screenshot_target_shows_its_page(window, target, page):
    window.show_target(target)
    assert window.stack.currentWidget() is getattr(window, page)


@pytest.mark.parametrize("target", ["nonsense", "contact:abc", "contact", "settings:2"])
def test_unknown_targets_are_refused_clearly(window, target):
    with pytest.raises(ValueError, match="choose one of|needs a number"):
        window.show_target(target)


def test_a_missing_contact_says_so_on_the_page(window):
    window.show_target("contact:99999")
    page = window.contact_page
    wait_loaded(page)
    assert page.load_error == "This contact no longer exists."
    assert page.loading_label.text() == "This contact no longer exists."
    assert not page.messaging.send_button.isEnabled()


def test_status_bar_highlights_sandbox_and_takes_inbox_status(window):
    assert window.provider_label.text() == "Sandbox: no texts leave this computer"
    assert "background" in window.provider_label.styleSheet()
    window.set_inbox_status("Inbox last checked 10:04")
    assert window.inbox_label.text() == "Inbox last checked 10:04"


def test_open_full_contact_record_opens_the_right_contact(window, services):
    with services.db.read() as s:
        opportunity = s.scalar(select(Opportunity).order_by(Opportunity.id.desc()).limit(1))
        contact = s.get(Contact, opportunity.contact_id)
    window.show_target(f"opportunity:{opportunity.id}")
    wait_loaded(window.opportunities_page)
    panel = window.opportunities_page.panel
    assert not hasattr(panel, "preferences")  # no Communication Preferences card here

    panel.open_contact_button.click()
    wait_loaded(window.contact_page)

    assert window.stack.currentWidget() is window.contact_page
    assert window.contact_page.contact.id == contact.id
    assert window.contact_page.title.text() == contact.display_name


def test_leaving_a_contact_with_unsaved_changes_asks(window, services, answer_dialog):
    window.open_contact(1)
    wait_loaded(window.contact_page)
    window.contact_page.preferences.toggle.click()

    asked = answer_dialog(lambda box: box.button(QMessageBox.StandardButton.Cancel).click())
    assert not window.open_contact(2)
    assert asked
    assert window.contact_page.contact.id == 1  # stayed

    answer_dialog(lambda box: box.button(QMessageBox.StandardButton.Discard).click())
    window.nav.setCurrentRow(1)  # Opportunities
    assert window.stack.currentWidget() is window.opportunities_page
    with services.db.read() as s:
        assert not s.get(Contact, 1).sms_opted_out


def test_ctrl_f_focuses_search(qtbot, window, activate):
    activate(window)
    window.show_target("settings")
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.stack.currentWidget() is window.contact_browser
    qtbot.waitUntil(lambda: window.contact_browser.search.hasFocus())


def test_settings_refuse_bad_values_next_to_the_field(qtbot, window, services):
    page = window.settings_page
    page.timezone.setCurrentText("Mars/Olympus_Mons")
    assert not saved(qtbot, page)
    assert page.errors["business_timezone"].isVisibleTo(page)
    with services.db.read() as s:
        assert s.scalar(select(Setting).where(Setting.key == "business_timezone")) is None


def test_settings_set_how_far_the_first_inbox_check_reads_back(qtbot, window, services):
    page = window.settings_page
    assert page.look_back.value() == 30
    page.look_back.setValue(7)
    assert saved(qtbot, page)
    assert services.settings.inbox_look_back_days == 7


def test_settings_keep_the_token_out_of_the_database(qtbot, window, services):
    page = window.settings_page
    sid = "AC" + "1" * 32
    page.account_sid.setText(sid)
    page.auth_token.setText("secret-token-value")
    page.sender.setText("+14155550100")
    page.user_name.setText("Ann")

    assert saved(qtbot, page)

    assert services.tokens.get(sid) == "secret-token-value"
    assert services.actor == "Ann"
    assert page.auth_token.text() == ""  # never shown back
    with services.db.read() as s:
        values = [row.value for row in s.scalars(select(Setting))]
    assert not any("secret-token-value" in v for v in values)
    assert not services.provider_choice.is_sandbox
    assert window.provider_label.styleSheet() == ""


def test_test_connection_runs_off_the_gui_thread(qtbot, window):
    page = window.settings_page
    with qtbot.waitSignal(page.connection_tested, timeout=5000) as blocker:
        page.test_button.click()
    assert "Sandbox" in blocker.args[0]
    assert page.test_result.text() == blocker.args[0]
