"""Settings saved on another desktop are used here within seconds (issue 16 item 3): the
window's services run with them (zone, quiet hours, keywords, provider), the Settings page
shows them, and unsaved typing on it is never overwritten. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from tests.support.contacts import add_contact
from tests.support.desktop import MemoryTokenStore
from tests.support.writes import saved
from trustpager_desktop.core import automations, consent
from trustpager_desktop.core.automations import Audience, AutomationInput, StepInput
from trustpager_desktop.core.inbox import process_pending, store_inbound
from trustpager_desktop.core.timefmt import format_time
from trustpager_desktop.providers.base import MessageRecord
from trustpager_desktop.providers.twilio_provider import TwilioProvider
from trustpager_desktop.runtime.automation_runner import AutomationRunner
from trustpager_desktop.services import AppServices
from trustpager_desktop.store.database import Database
from trustpager_desktop.ui.main_window import MainWindow
from trustpager_desktop.usecases.settings import SettingsService

POLL = 0.2  # seconds; the window's default is 2
WAIT_MS = 5_000
SID = "AC" + "0123456789abcdef" * 2


@pytest.fixture
def here(db, clock):
    """This desktop's services."""
    return AppServices(db, clock=clock, tokens=MemoryTokenStore())


@pytest.fixture
def elsewhere(db, clock, tmp_path):
    """Another desktop on the same database: its own engine, connections and local file."""
    other_db = Database.open(db.url)
    yield AppServices(
        other_db, clock=clock, tokens=MemoryTokenStore(), local_path=tmp_path / "dan.json"
    )
    other_db.close()


@pytest.fixture
def window(qtbot, here):
    w = MainWindow(here)
    qtbot.addWidget(w)
    w.show()
    w.start_live_updates(POLL)
    qtbot.waitUntil(lambda: w.live.watcher.polls > 0)  # the baseline is read
    yield w
    w.shutdown()


def save_elsewhere(elsewhere: AppServices, **changes: object) -> None:
    """Another desktop's person saves these settings on its Settings page."""
    service = SettingsService(elsewhere)
    new = dataclasses.replace(service.current(), **changes)  # type: ignore[arg-type]
    service.save(new, user_name=service.user_name()).unwrap()


def test_a_zone_and_quiet_hours_saved_elsewhere_show_here(qtbot, window, here, elsewhere):
    window.show_page("settings")
    page = window.settings_page
    assert page.timezone.zone() == "America/New_York"

    save_elsewhere(elsewhere, business_timezone="America/Chicago", quiet_hours_start=9,
                   quiet_hours_end=20)  # fmt: skip

    qtbot.waitUntil(lambda: page.timezone.zone() == "America/Chicago", timeout=WAIT_MS)
    assert (page.quiet_start.value(), page.quiet_end.value()) == (9, 20)
    assert (here.settings.quiet_hours_start, here.settings.quiet_hours_end) == (9, 20)
    assert here.settings.business_timezone == "America/Chicago"
    assert not page.banner.isVisibleTo(page) and not page.has_unsaved_edits()


def test_times_on_the_pages_follow_the_new_business_zone(qtbot, window, here, elsewhere):
    window.show_page("activity")
    model = window.activity_page.model
    now = here.clock.now()
    assert format_time(now, "America/Chicago") != format_time(now, "America/New_York")

    save_elsewhere(elsewhere, business_timezone="America/Chicago")

    def newest_time() -> str | None:
        return model.index(0, 0).data() if model.rowCount() else None

    qtbot.waitUntil(lambda: newest_time() == format_time(now, "America/Chicago"), timeout=WAIT_MS)
    assert "Business time zone" in model.index(0, 3).data()


def test_unsaved_typing_is_kept_and_a_banner_offers_reload(qtbot, window, here, elsewhere):
    window.show_page("settings")
    page = window.settings_page
    qtbot.keyClicks(page.business_name, "Harbor Dental")
    page.quiet_end.setValue(19)

    save_elsewhere(elsewhere, business_timezone="America/Chicago", quiet_hours_start=9)

    qtbot.waitUntil(lambda: page.banner.isVisibleTo(page), timeout=WAIT_MS)
    assert "changed on another desktop" in page.banner_text.text()
    assert here.settings.business_timezone == "America/Chicago"  # the window runs with them
    # Nothing typed is lost, and nothing the other desktop saved is written over it.
    assert page.business_name.text() == "Harbor Dental"
    assert (page.quiet_start.value(), page.quiet_end.value()) == (8, 19)
    assert page.timezone.zone() == "America/New_York"

    page.reload_button.click()
    assert not page.banner.isVisibleTo(page)
    assert page.timezone.zone() == "America/Chicago" and page.quiet_start.value() == 9
    assert page.business_name.text() == "" and not page.has_unsaved_edits()


def test_a_save_made_here_is_not_announced_as_another_desktops(qtbot, window, here):
    window.show_page("settings")
    page = window.settings_page
    page.quiet_end.setValue(20)
    assert saved(qtbot, page)
    qtbot.keyClicks(page.business_name, "Harbor")  # typing again at once
    polls = window.live.watcher.polls
    qtbot.waitUntil(lambda: window.live.watcher.polls >= polls + 3, timeout=WAIT_MS)
    assert not page.banner.isVisibleTo(page)
    assert page.business_name.text() == "Harbor" and here.settings.quiet_hours_end == 20


def test_the_dispatcher_here_keeps_the_quiet_hours_saved_elsewhere(qtbot, window, here, elsewhere):
    # 15:00 UTC is 10:00 in New York: inside the default 08:00-21:00, so it would send.
    nia = add_contact(here.db, here.clock, "Nia", "Lee", phone="+12125550199")
    with here.db.write() as s:
        hello = automations.create_automation(
            s, AutomationInput("Hello", [StepInput("send_sms", template="Hi")]), clock=here.clock
        ).id
        automations.enroll(s, hello, Audience(contact_ids=(nia,)), actor="t", clock=here.clock)

    save_elsewhere(elsewhere, quiet_hours_start=12)
    qtbot.waitUntil(lambda: here.settings.quiet_hours_start == 12, timeout=WAIT_MS)

    report = AutomationRunner(here).run_due()
    assert (report.deferred, report.sent) == (1, 0)
    assert here.provider_choice.provider.sent == []  # the sandbox: nothing went out


def test_an_opt_out_word_added_elsewhere_is_honoured_by_this_inbox(qtbot, window, here, elsewhere):
    add_contact(here.db, here.clock, "Ann", "Lee", phone="+14155550101")
    save_elsewhere(elsewhere, extra_opt_out_keywords="PARAR, BASTA")
    qtbot.waitUntil(lambda: "basta" in here.settings.keywords.opt_out, timeout=WAIT_MS)

    sent = here.clock.now() - timedelta(minutes=1)
    reply = MessageRecord("SM9", "+14155550101", "+14155550000", "Basta", sent, "inbound")
    store_inbound(here.db, [reply], here.clock)
    process_pending(here.db, here.clock, settings=here.settings)  # as this window's poller
    with here.db.read() as s:
        assert consent.number_is_opted_out(s, "+14155550101")


def test_the_provider_follows_and_the_status_bar_names_it(qtbot, window, here, elsewhere):
    here.tokens.set(SID, "0f1e2d3c4b5a69788796a5b4c3d2e1f0", session_only=True)  # this desktop's
    assert here.provider_choice.is_sandbox

    save_elsewhere(elsewhere, provider_mode="twilio", twilio_account_sid=SID,
                   twilio_sender="+14155550100")  # fmt: skip

    qtbot.waitUntil(lambda: not here.provider_choice.is_sandbox, timeout=WAIT_MS)
    assert isinstance(here.provider_choice.provider, TwilioProvider)
    assert here.gateway.provider is here.provider_choice.provider
    qtbot.waitUntil(
        lambda: window.provider_label.text() == here.provider_choice.description, timeout=WAIT_MS
    )
    assert "Sandbox" not in window.provider_label.text()


def test_the_sandbox_keeps_its_pending_replies_when_only_hours_change(
    qtbot, window, here, elsewhere
):
    sandbox = here.provider_choice.provider
    gateway = here.gateway
    save_elsewhere(elsewhere, quiet_hours_end=20)
    qtbot.waitUntil(lambda: here.settings.quiet_hours_end == 20, timeout=WAIT_MS)
    # Not re-picked: a simulated reply not yet read, or a send under way, is not dropped.
    assert here.provider_choice.provider is sandbox and here.gateway is gateway
