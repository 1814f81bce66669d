"""The window with its background jobs: a STOP reply reaches the screen with no manual step."""

import pytest

from tests.gui.conftest import wait_loaded
from tests.gui.contact_widgets import make_page
from trustpager_desktop.core import contacts
from trustpager_desktop.ui.background import BackgroundWork, opt_out_names
from trustpager_desktop.ui.main_window import MainWindow


@pytest.fixture
def window_with_jobs(qtbot, services):
    window = MainWindow(services)
    qtbot.addWidget(window)
    work = BackgroundWork(services)
    window.attach_background(work)
    yield window, work
    window.contact_page.discard()
    window.shutdown()


def test_simulated_stop_reply_opts_the_open_contact_out_without_a_manual_step(
    qtbot, services, add_contact, window_with_jobs
):
    window, work = window_with_jobs
    cid = add_contact("Ann", "Lee", phone="(415) 555-0101")
    window.open_contact(cid)
    wait_loaded(window.contact_page)
    assert not window.contact_page.preferences.toggle.isChecked()

    services.provider_choice.provider.simulate_reply(from_number="+14155550101", body="STOP")
    with qtbot.waitSignal(work.inbox.opted_out, timeout=10_000) as blocker:
        window.contact_page.reply_simulated.emit()  # what "Simulate reply…" does after queueing

    assert opt_out_names(blocker.args[0]) == ["Ann Lee"]
    qtbot.waitUntil(lambda: window.contact_page.preferences.toggle.isChecked(), timeout=5_000)
    assert "STOP reply" in window.contact_page.preferences.status.text()
    with services.db.read() as s:
        assert contacts.get_contact(s, cid).sms_opted_out
    qtbot.waitUntil(lambda: "Inbox checked" in window.inbox_label.text(), timeout=5_000)


def test_a_possible_opt_out_shows_a_count_on_the_review_page(
    qtbot, services, add_contact, window_with_jobs
):
    window, work = window_with_jobs
    add_contact("Bob", phone="(415) 555-0102")
    services.provider_choice.provider.simulate_reply(
        from_number="+14155550102", body="please stop texting me"
    )
    with qtbot.waitSignal(work.inbox.review_count_changed, timeout=10_000):
        window.check_inbox_now()
    qtbot.waitUntil(lambda: window.nav.item(4).text() == "Needs review (1)", timeout=5_000)


@pytest.mark.parametrize("fmt", ["pdf", "csv"])
def test_consent_report_from_the_contact_page(qtbot, services, add_contact, tmp_path, fmt):

    page = make_page(qtbot, services)
    page.load(add_contact("Ann", "Lee", phone="(415) 555-0101", opted_out=True))
    wait_loaded(page)
    target = tmp_path / f"report.{fmt}"
    with qtbot.waitSignal(page.report_saved, timeout=10_000):
        page.write_consent_report(str(target), fmt)
    data = target.read_bytes()
    assert data.startswith(b"%PDF") if fmt == "pdf" else b"opt_out" in data or b"Opt-out" in data
    assert page.report_button.isEnabled()
