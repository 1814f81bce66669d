"""change marker: one version per topic, bumped by the database on every write

Revision ID: 0012
Revises: 0005

Windows on a shared database show changes made elsewhere (another desktop, the agent,
a command) by polling ``change_marker`` with one cheap query: a topic whose version
moved is re-read, nothing else. The versions are bumped by triggers in the same
transaction as the write, so every writer bumps them without knowing about them.

- SQLite: row triggers upsert ``version + 1`` (writes are serialised anyway).
- PostgreSQL: statement triggers with transition tables bump once per statement that
  changed at least one row, so a bulk import is one bump, not one per row.
- ``queue_items`` counts only status changes: lease renewals are not news to a view.
- ``app_meta`` counts only the automation pause; the other keys are machinery.

The activity log needs no trigger: its newest id is its version (read in the same query).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> topic. Keep in step with store.change_marker.TABLE_TOPICS.
TABLE_TOPICS = {
    "contacts": "contacts",
    "consent_events": "contacts",
    "number_suppressions": "contacts",
    "provider_blocks": "contacts",
    "inbound_messages": "messages",
    "outbound_messages": "messages",
    "automations": "automations",
    "automation_steps": "automations",
    "enrollments": "automations",
    "queue_items": "automations",
    "tasks": "tasks",
    "opportunities": "opportunities",
    "settings": "settings",
    "app_meta": "pause",
}
EVENTS = ("insert", "update", "delete")
PAUSE_KEY = "automations_paused"


def _sqlite_condition(table: str, event: str) -> str:
    row = "OLD" if event == "delete" else "NEW"
    if table == "app_meta":
        return f" WHEN {row}.key = '{PAUSE_KEY}'"
    if table == "queue_items" and event == "update":
        return " WHEN OLD.status IS NOT NEW.status"
    return ""


def _sqlite_upgrade() -> None:
    for table, topic in TABLE_TOPICS.items():
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER cm_{table}_{event} AFTER {event.upper()} ON {table}"
                f"{_sqlite_condition(table, event)} BEGIN "
                f"INSERT INTO change_marker (topic, version) VALUES ('{topic}', 1) "
                "ON CONFLICT (topic) DO UPDATE SET version = version + 1; END"
            )


PG_BUMP = """
CREATE FUNCTION cm_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM cm_rows) THEN
        INSERT INTO change_marker (topic, version) VALUES (TG_ARGV[0], 1)
        ON CONFLICT (topic) DO UPDATE SET version = change_marker.version + 1;
    END IF;
    RETURN NULL;
END $$
"""
PG_BUMP_STATUS = """
CREATE FUNCTION cm_bump_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM cm_new n JOIN cm_old o ON o.id = n.id
               WHERE n.status IS DISTINCT FROM o.status) THEN
        INSERT INTO change_marker (topic, version) VALUES (TG_ARGV[0], 1)
        ON CONFLICT (topic) DO UPDATE SET version = change_marker.version + 1;
    END IF;
    RETURN NULL;
END $$
"""
PG_BUMP_PAUSE = f"""
CREATE FUNCTION cm_bump_pause() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM cm_rows WHERE key = '{PAUSE_KEY}') THEN
        INSERT INTO change_marker (topic, version) VALUES (TG_ARGV[0], 1)
        ON CONFLICT (topic) DO UPDATE SET version = change_marker.version + 1;
    END IF;
    RETURN NULL;
END $$
"""


def _pg_trigger(table: str, topic: str, event: str) -> str:
    name = f"cm_{table}_{event}"
    head = f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table}"
    tail = f"FOR EACH STATEMENT EXECUTE FUNCTION {{fn}}('{topic}')"
    if table == "queue_items" and event == "update":
        return f"{head} REFERENCING NEW TABLE AS cm_new OLD TABLE AS cm_old " + tail.format(
            fn="cm_bump_status"
        )
    rows = "OLD" if event == "delete" else "NEW"
    fn = "cm_bump_pause" if table == "app_meta" else "cm_bump"
    return f"{head} REFERENCING {rows} TABLE AS cm_rows " + tail.format(fn=fn)


def _pg_upgrade() -> None:
    op.execute(PG_BUMP)
    op.execute(PG_BUMP_STATUS)
    op.execute(PG_BUMP_PAUSE)
    for table, topic in TABLE_TOPICS.items():
        for event in EVENTS:
            op.execute(_pg_trigger(table, topic, event))


def upgrade() -> None:
    op.create_table(
        "change_marker",
        sa.Column("topic", sa.String(40), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        _pg_upgrade()
    else:
        _sqlite_upgrade()


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in TABLE_TOPICS:
        for event in EVENTS:
            on = f" ON {table}" if postgres else ""
            op.execute(f"DROP TRIGGER IF EXISTS cm_{table}_{event}{on}")
    if postgres:
        for fn in ("cm_bump", "cm_bump_status", "cm_bump_pause"):
            op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
    op.drop_table("change_marker")
