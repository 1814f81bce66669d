"""Hostile and odd input: each gets a clear error or is kept as plain text; nothing else changes."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.support import figures
from trustpager_desktop.core import contacts
from trustpager_desktop.core.clean_text import clean_line
from trustpager_desktop.core.contacts import ContactInput
from trustpager_desktop.core.errors import UserInputError
from trustpager_desktop.core.gateway import ManualOrigin, OutboundGateway
from trustpager_desktop.core.states import MessageStatus
from trustpager_desktop.providers.sandbox_provider import SandboxProvider
from trustpager_desktop.store.models import ActivityEntry, Contact, OutboundMessage

ODD_TEXT = [
    "<b>bold</b><img src=x onerror=alert(1)>",
    "x" * 10_000,
    "😀🎉👍🏽 family 👨‍👩‍👧",
    "שלום עולם مرحبا",  # right-to-left
    "nul\x00byte",
    '=HYPERLINK("http://evil")',
    "'; DROP TABLE contacts; --",
    ".*[(?\\",
    "\u202eevil\u202c",
]


def _counts(db):
    with db.read() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(m))
            for m in (Contact, ActivityEntry, OutboundMessage)
        )


@pytest.mark.parametrize("text", ODD_TEXT)
def test_odd_names_are_stored_literally_or_refused_clearly(db, clock, text):
    figures.add("bad inputs tried")
    before = _counts(db)
    try:
        with db.write() as s:
            cid = contacts.create_contact(
                s, ContactInput(first_name=text[:100]), actor="t", clock=clock
            ).id
    except UserInputError as exc:
        assert exc.field == "first_name" and exc.message
        assert _counts(db) == before
        return
    with db.read() as s:  # literally, less bidirectional controls and line breaks
        stored = s.get(Contact, cid).first_name
    assert stored == clean_line(text[:100])
    assert "\u202e" not in stored and "\n" not in stored


@pytest.mark.parametrize("text", ODD_TEXT)
def test_odd_message_bodies_are_sent_literally_or_refused_clearly(db, clock, text):
    figures.add("bad inputs tried")
    with db.write() as s:
        cid = contacts.create_contact(
            s, ContactInput("Ann", phone="4155550101"), actor="t", clock=clock
        ).id
    provider = SandboxProvider()
    gateway = OutboundGateway(db, provider, clock=clock)
    before = _counts(db)
    try:
        outcome = gateway.send(contact_id=cid, body=text, origin=ManualOrigin("Ann"))
    except UserInputError as exc:
        assert exc.message and _counts(db) == before and provider.sent == []
        return
    assert outcome.status == MessageStatus.SENT
    assert provider.sent[-1].body == text
    with db.read() as s:
        assert s.get(OutboundMessage, outcome.message_id).body == text


@pytest.mark.parametrize("text", ODD_TEXT + ["%", "_", "\\", '"', "a" * 5000])
def test_search_strings_with_sql_and_regex_characters_are_plain_text(db, clock, text):
    figures.add("bad inputs tried")
    with db.write() as s:
        contacts.create_contact(s, ContactInput("Ann", phone="4155550101"), actor="t", clock=clock)
    with db.read() as s:
        rows = contacts.search_contacts(s, text)
        assert contacts.count_contacts(s, text) == len(rows)
    assert all(text.lower().split()[0] in r.name.lower() for r in rows) or rows == []


@settings(
    max_examples=figures.scaled(60, 2000),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(query=st.text(max_size=40))
def test_any_search_string_either_matches_or_not_but_never_fails(sqlite_db, query):
    figures.add("bad inputs tried")
    with sqlite_db.read() as s:
        contacts.search_contacts(s, query, limit=5)
