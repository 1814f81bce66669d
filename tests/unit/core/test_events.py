"""The change bus: every listener hears each change once; one broken view does not
stop the others; an unsubscribed view hears nothing more."""

from __future__ import annotations

import logging

from trustpager_desktop.core.events import ChangeBus


def test_listeners_hear_the_changed_topics_and_stop_when_unsubscribed(caplog):
    bus = ChangeBus()
    heard: list[frozenset[str]] = []

    def broken(_topics: frozenset[str]) -> None:
        raise RuntimeError("a view that fails")

    bus.subscribe(broken)
    stop = bus.subscribe(heard.append)
    with caplog.at_level(logging.ERROR):
        bus.publish(["contacts", "messages", "contacts"])
    bus.publish([])  # nothing changed: nobody is called
    stop()
    bus.publish(["pause"])
    assert heard == [frozenset({"contacts", "messages"})]
    assert "a change listener failed" in caplog.text
