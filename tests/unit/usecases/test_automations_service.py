"""The Automations screen's service: the Enrol dialog's one read (automations and the
consent warning per purpose) and enrolling, as plain data and Outcomes; the pause."""

from __future__ import annotations

from tests.support.contacts import add_contact
from tests.support.desktop import MemoryTokenStore
from trustpager_desktop.core import automations
from trustpager_desktop.core.automations import AutomationInput, StepInput
from trustpager_desktop.services import AppServices
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.usecases.automations import AutomationsService


def _service(db, clock) -> tuple[AutomationsService, list[frozenset[str]]]:
    app = AppServices(db, clock=clock, tokens=MemoryTokenStore())
    heard: list[frozenset[str]] = []
    app.changes.subscribe(heard.append)
    return AutomationsService(app), heard


def _contact(db, clock, name: str, phone: str, *, opted_out: bool = False) -> int:
    return add_contact(db, clock, name, phone=phone, opted_out=opted_out)


def _automation(db, clock, name: str, *, enabled: bool = True) -> int:
    with db.write() as s:
        return automations.create_automation(
            s, AutomationInput(name, [StepInput("send_sms", template="Hi")], enabled), clock=clock
        ).id


def test_the_enrol_options_list_the_automations_and_warn_about_opted_out_contacts(db, clock):
    service, _heard = _service(db, clock)
    ann = _contact(db, clock, "Ann", "+14155550101")
    ola = _contact(db, clock, "Ola", "+14155550102", opted_out=True)
    hello = _automation(db, clock, "Hello")
    _automation(db, clock, "Old", enabled=False)

    options = service.enrol_options([ann, ola])

    assert [c.label for c in options.choices] == ["Hello", "Old (disabled)"]
    assert "1 of 2 opted out of SMS" in options.warning_for(hello)
    assert options.warning_for(None) == ""
    assert service.enrol_options([ann]).warning_for(hello) == ""


def test_enrolling_returns_the_result_and_tells_the_views(db, clock):
    service, heard = _service(db, clock)
    ann = _contact(db, clock, "Ann", "+14155550101")
    hello = _automation(db, clock, "Hello")

    outcome = service.enroll(hello, [ann])

    assert outcome.ok and outcome.unwrap().enrolled == [ann]
    assert heard == [{topic.AUTOMATIONS}]


def test_enrolling_in_an_automation_deleted_elsewhere_is_gone(db, clock):
    service, _heard = _service(db, clock)
    ann = _contact(db, clock, "Ann", "+14155550101")
    hello = _automation(db, clock, "Hello")
    assert service.delete(hello).ok

    outcome = service.enroll(hello, [ann])

    assert outcome.gone and not outcome.ok and outcome.message


def test_pausing_is_read_back_and_published(db, clock):
    service, heard = _service(db, clock)
    assert service.paused() is False
    assert service.set_paused(True).unwrap() is True
    assert service.paused() is True
    assert heard == [{topic.PAUSE}]
