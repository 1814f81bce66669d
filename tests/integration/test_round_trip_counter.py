"""The SQLAlchemy event counter (``store.round_trips``) counts what crosses the wire:
checked against the requests ``benchmarks/delay_proxy.py`` sees between the driver
and a real PostgreSQL server (issue 18 item 1)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from benchmarks.delay_proxy import DelayProxy
from tests.support.contacts import add_contact
from trustpager_desktop.core import demo
from trustpager_desktop.core.contact_page_data import load_contact_page
from trustpager_desktop.core.settings import load_settings
from trustpager_desktop.store import database
from trustpager_desktop.store.database import Database
from trustpager_desktop.store.models import Contact
from trustpager_desktop.store.round_trips import RoundTripCounter

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxied(_postgres_scratch, clock):
    """(database opened through the proxy, proxy) on a database holding the demo business."""
    direct = _postgres_scratch.fresh()
    with direct.write() as s:
        demo.fill_demo(s, actor="Test", clock=clock)
    proxy = DelayProxy(0).start()
    port = direct.engine.url.port or 5432
    db = Database.open(direct.url.replace(f":{port}/", f":{proxy.port}/"), migrate=False)
    with db.read() as s:  # the connection is made (and SQLAlchemy's first look done) here
        s.scalar(select(Contact.id).limit(1))
    yield db, proxy
    db.close()
    proxy.stop()


def _count(db: Database, proxy: DelayProxy, work) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    proxy.reset_counts()
    with RoundTripCounter(db.engine) as counter:
        work()
    return counter.total, proxy.round_trips


def test_the_event_counter_agrees_with_the_wire(proxied, clock):
    db, proxy = proxied

    def write() -> None:  # BEGIN (sent by psycopg), INSERT..., COMMIT
        with db.write() as s:
            add_contact(s, clock, "Zed", phone="(415) 555-0199")

    def read_in_a_transaction() -> None:  # BEGIN, SELECT, ROLLBACK
        with db.read(snapshot=True) as s:
            load_settings(s)

    def read() -> None:  # SELECT alone: on PostgreSQL a read needs no transaction
        with db.read() as s:
            load_settings(s)

    def nothing() -> None:  # a session that never asks sends nothing
        with db.read():
            pass

    def contact_page() -> None:
        with db.read() as s:
            settings = load_settings(s)
            contact_id = s.scalar(select(Contact.id).order_by(Contact.id.desc()).limit(1))
        with db.read(snapshot=False) as s:
            load_contact_page(s, contact_id, settings)

    counted = {name: _count(db, proxy, work) for name, work in [
        ("write", write), ("read in a transaction", read_in_a_transaction), ("read", read),
        ("nothing", nothing), ("contact page", contact_page)]}  # fmt: skip
    assert counted["read in a transaction"] == (3, 3)
    assert counted["read"] == (1, 1)
    assert counted["contact page"] == (7, 7)  # settings and an id first, then the page's 5
    assert counted["nothing"] == (0, 0)
    assert counted["write"][0] >= 3
    for name, (events, wire) in counted.items():
        assert events == wire, f"{name}: {events} counted by events, {wire} on the wire"
    assert proxy.connections == 0  # all on the one pooled connection


def test_an_idle_connection_is_pinged_once_and_the_ping_is_counted(proxied, monkeypatch):
    db, proxy = proxied
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", -1.0)  # every checkout counts as idle

    def quick_read() -> None:
        with db.read(snapshot=False) as s:
            load_settings(s)

    events, wire = _count(db, proxy, quick_read)
    assert (events, wire) == (2, 2)  # the ping, then the statement


def test_a_connection_the_server_dropped_while_idle_is_replaced(proxied, monkeypatch):
    """The idle ping finds a dead connection; the page reads through a new one, no error."""
    from sqlalchemy import text

    db, proxy = proxied
    with db.read() as s:
        backend = s.scalar(text("SELECT pg_backend_pid()"))
    killer = Database.open(db.url.replace(f":{proxy.port}/", ":5432/"), migrate=False)
    with killer.write() as s:
        s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    killer.close()
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", -1.0)
    with db.read(snapshot=False) as s:
        assert load_settings(s) is not None
    with db.read() as s:
        assert s.scalar(text("SELECT pg_backend_pid()")) != backend
