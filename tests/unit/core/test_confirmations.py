"""Opt-out confirmation texts: one per opt-out, sent within five minutes, never twice."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from tests.support.contacts import add_contact
from trustpager_desktop.core import confirmations, preferences
from trustpager_desktop.core.gateway import OutboundGateway
from trustpager_desktop.core.settings import AppSettings, load_settings, save_settings
from trustpager_desktop.core.states import ConfirmationStatus
from trustpager_desktop.providers.sandbox_provider import SandboxProvider
from trustpager_desktop.store.models import OptOutConfirmation, OutboundMessage


def _opt_out_asking_confirmation(db, clock, phone: str = "(415) 555-0101") -> int:
    contact_id = add_contact(db, clock, "Ann", phone=phone)
    with db.write() as s:
        preferences.opt_out_by_hand(s, contact_id, actor="Jo", clock=clock, send_confirmation=True)
    return contact_id


def _texts(db) -> list[tuple[str, str]]:
    with db.read() as s:
        return [(m.to_e164, m.body) for m in s.scalars(select(OutboundMessage))]


def _statuses(db) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(OptOutConfirmation.status)))


def test_the_confirmation_names_the_business_in_the_customer_s_language():
    settings = AppSettings(business_name="Acme Plumbing")
    assert confirmations.render(settings, "en").startswith(
        "You're unsubscribed from Acme Plumbing."
    )
    assert "Acme Plumbing" in confirmations.render(settings, "es")
    assert confirmations.render(settings, "es").startswith("Has cancelado")
    assert "from this number." in confirmations.render(AppSettings(), "en")


def test_a_requested_confirmation_is_sent_once_however_often_the_sender_runs(db, clock):
    _opt_out_asking_confirmation(db, clock)
    gateway = OutboundGateway(db, SandboxProvider(), clock=clock)
    clock.advance(minutes=1)
    first = confirmations.send_due_confirmations(db, gateway, clock=clock)
    second = confirmations.send_due_confirmations(db, gateway, clock=clock)
    assert (first.sent, second.sent) == (1, 0)
    [(to, body)] = _texts(db)
    assert to == "+14155550101" and "unsubscribed" in body
    assert _statuses(db) == [ConfirmationStatus.SENT]


def test_past_five_minutes_the_confirmation_is_not_sent(db, clock):
    _opt_out_asking_confirmation(db, clock)
    gateway = OutboundGateway(db, SandboxProvider(), clock=clock)
    clock.advance(minutes=5, seconds=1)
    report = confirmations.send_due_confirmations(db, gateway, clock=clock)
    assert (report.sent, report.expired) == (0, 1)
    assert _texts(db) == []
    assert _statuses(db) == [ConfirmationStatus.EXPIRED]


def test_no_confirmation_once_the_number_consents_again(db, clock):
    contact_id = _opt_out_asking_confirmation(db, clock)
    with db.write() as s:
        preferences.re_consent_by_hand(
            s, contact_id, method="verbal", note="Phoned back", actor="Jo", clock=clock
        )
    report = confirmations.send_due_confirmations(
        db, OutboundGateway(db, SandboxProvider(), clock=clock), clock=clock
    )
    assert (report.sent, report.skipped) == (0, 1)
    assert _texts(db) == []


def test_with_the_setting_off_no_confirmation_is_asked_for(db, clock):
    with db.write() as s:
        off = dataclasses.replace(load_settings(s), confirm_opt_outs=False)
        save_settings(s, off, actor="Jo", clock=clock)
    _opt_out_asking_confirmation(db, clock)
    assert _statuses(db) == []
