"""Reading the change marker: what changed since the last look, in one query.

Triggers (migration 0012) bump ``change_marker.version`` for a topic in the same
transaction as any write to its tables, whoever the writer is. The activity log needs no
trigger: its newest id serves as its version. :func:`read_versions` returns every
topic's version with one round trip; comparing two readings names the topics to refresh.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from trustpager_desktop.store.models import ActivityEntry, ChangeMarker

# Topics a view may listen to.
CONTACTS = "contacts"  # contacts, consent events, number suppressions, Twilio blocks
MESSAGES = "messages"  # inbound and outbound texts (conversations, review, delivery)
AUTOMATIONS = "automations"  # automations, steps, enrolments, queue item states
TASKS = "tasks"
OPPORTUNITIES = "opportunities"
SETTINGS = "settings"
PAUSE = "pause"  # the automation pause flag
ACTIVITY = "activity"  # the activity log (its newest id)
TOPICS = (CONTACTS, MESSAGES, AUTOMATIONS, TASKS, OPPORTUNITIES, SETTINGS, PAUSE, ACTIVITY)

Versions = Mapping[str, int]


def read_versions(session: Session) -> dict[str, int]:
    """Every topic's version (a topic never written yet is absent), in one query."""
    markers = select(ChangeMarker.topic, ChangeMarker.version)
    newest = select(literal(ACTIVITY), func.coalesce(func.max(ActivityEntry.id), 0))
    rows = session.execute(union_all(markers, newest)).all()
    return {str(topic): int(version) for topic, version in rows}


def changed_topics(before: Versions, after: Versions) -> frozenset[str]:
    """The topics whose version differs between two readings."""
    return frozenset(t for t in set(before) | set(after) if before.get(t) != after.get(t))
