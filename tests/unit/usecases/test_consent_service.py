"""The Communication Preferences card's service: opt-out by hand, re-consent with how it
was obtained, declined purposes; one Save is one transaction, and the views hear of it."""

from __future__ import annotations

from tests.support.desktop import MemoryTokenStore
from trustpager_desktop.core import consent, contacts
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.services import AppServices
from trustpager_desktop.store import change_marker as topic
from trustpager_desktop.usecases.consent import ConsentChange, ConsentService, ReConsent
from trustpager_desktop.usecases.contacts import ContactsService


def _setup(db, clock) -> tuple[AppServices, ConsentService, int, list[frozenset[str]]]:
    app = AppServices(db, clock=clock, tokens=MemoryTokenStore())
    ann = ContactsService(app).create(ContactInput("Ann", "Lee", phone="+14155550101")).unwrap()
    heard: list[frozenset[str]] = []
    app.changes.subscribe(heard.append)
    return app, ConsentService(app), ann, heard


def _opted_out(db, contact_id: int) -> bool:
    with db.read() as s:
        return contacts.get_contact(s, contact_id).sms_opted_out


def test_an_opt_out_by_hand_is_saved_shown_and_announced(db, clock):
    app, service, ann, heard = _setup(db, clock)
    outcome = service.opt_out(ann)
    assert outcome.ok and outcome.unwrap().sms_opted_out  # the card shows the saved state
    assert _opted_out(db, ann)
    with db.read() as s:
        assert consent.number_is_opted_out(s, "+14155550101")  # the rule sees it too
    assert heard and topic.CONTACTS in heard[-1]


def test_re_consent_without_a_note_is_refused_and_changes_nothing(db, clock):
    app, service, ann, heard = _setup(db, clock)
    service.opt_out(ann)
    heard.clear()
    refused = service.re_consent(ann, "verbal", "")
    assert not refused.ok and refused.message and not refused.gone
    assert _opted_out(db, ann) and heard == []
    assert service.re_consent(ann, "verbal", "Asked on the phone to get reminders").ok
    assert not _opted_out(db, ann)


def test_one_save_is_one_transaction(db, clock):
    """An unknown purpose refused in the same Save as an opt-out leaves the opt-out unsaved."""
    app, service, ann, _heard = _setup(db, clock)
    outcome = service.save(ann, ConsentChange(declined=("Nonsense",), opt_out=True))
    assert not outcome.ok and "Nonsense" in outcome.message
    assert not _opted_out(db, ann)


def test_a_contact_deleted_elsewhere_is_gone(db, clock):
    app, service, ann, _heard = _setup(db, clock)
    assert ContactsService(app).delete(ann).ok
    outcome = service.save(ann, ConsentChange(re_consent=ReConsent("verbal", "On the phone")))
    assert outcome.gone and not outcome.ok
