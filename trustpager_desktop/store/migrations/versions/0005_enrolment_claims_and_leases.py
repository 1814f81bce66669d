"""one open enrolment per automation and contact; leases on in-flight queue items

Revision ID: 0005
Revises: 0008

Enrolment takes the same claim discipline as dispatch (issue 13):

- ``enrollments.closed_at`` and a partial unique index on (automation_id,
  contact_id) WHERE closed_at IS NULL: the database itself refuses a second open
  enrolment, however many desktops or schedules enrol at once. Enrolments whose
  items are all finished are closed here; where the old race already enrolled a
  contact twice, the newer copies are closed and their waiting items skipped
  ("duplicate enrolment"), so the upgrade itself stops the double texts.
- ``queue_items.lease_until``: an in-flight item is held until then; the running
  dispatcher renews it, and only an expired lease is reconciled. Items in flight
  during the upgrade get the old rule's deadline (claimed_at + 2 minutes).
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_INDEX = "uq_enrollments_open"
OLD_GRACE = timedelta(minutes=2)
DUPLICATE_REASON = "skipped: duplicate enrolment (the contact was enrolled twice at once)"

_enrollments = sa.table(
    "enrollments",
    sa.column("id", sa.Integer),
    sa.column("automation_id", sa.Integer),
    sa.column("contact_id", sa.Integer),
    sa.column("enrolled_at", sa.DateTime),
    sa.column("closed_at", sa.DateTime),
)
_items = sa.table(
    "queue_items",
    sa.column("id", sa.Integer),
    sa.column("enrollment_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("reason", sa.Text),
    sa.column("claimed_at", sa.DateTime),
    sa.column("lease_until", sa.DateTime),
    sa.column("finished_at", sa.DateTime),
)
# Open: waiting, in flight, or held by the consent rule (a reply awaits review).
OPEN_STATUSES = ("pending", "in_flight", "held")
_OPEN_ITEM = sa.exists().where(
    _items.c.enrollment_id == _enrollments.c.id, _items.c.status.in_(OPEN_STATUSES)
)


def upgrade() -> None:
    with op.batch_alter_table("enrollments") as batch:
        batch.add_column(sa.Column("closed_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("queue_items") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(), nullable=True))
    bind = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, like UtcDateTime
    _close_finished(bind)
    _close_duplicates(bind, now)
    _lease_in_flight(bind)
    op.create_index(
        OPEN_INDEX,
        "enrollments",
        ["automation_id", "contact_id"],
        unique=True,
        sqlite_where=sa.text("closed_at IS NULL"),
        postgresql_where=sa.text("closed_at IS NULL"),
    )


def _close_finished(bind: sa.Connection) -> None:
    """An enrolment without waiting or in-flight items is over: closed when its last item
    finished (or when it began, for an enrolment without finished items)."""
    last_finished = (
        sa.select(sa.func.max(_items.c.finished_at))
        .where(_items.c.enrollment_id == _enrollments.c.id)
        .scalar_subquery()
    )
    bind.execute(
        _enrollments.update()
        .where(_enrollments.c.closed_at.is_(None), ~_OPEN_ITEM)
        .values(closed_at=sa.func.coalesce(last_finished, _enrollments.c.enrolled_at))
    )


def _close_duplicates(bind: sa.Connection, now: datetime) -> None:
    """Keep the oldest open enrolment per (automation, contact); skip the others' waiting
    items and close them."""
    rows = bind.execute(
        sa.select(_enrollments.c.id, _enrollments.c.automation_id, _enrollments.c.contact_id)
        .where(_enrollments.c.closed_at.is_(None))
        .order_by(_enrollments.c.id)
    ).all()
    seen: set[tuple[int, int]] = set()
    duplicates = []
    for enrollment_id, automation_id, contact_id in rows:
        if (automation_id, contact_id) in seen:
            duplicates.append(enrollment_id)
        seen.add((automation_id, contact_id))
    for start in range(0, len(duplicates), 500):
        chunk = duplicates[start : start + 500]
        bind.execute(
            _items.update()
            .where(_items.c.enrollment_id.in_(chunk), _items.c.status == "pending")
            .values(status="skipped", reason=DUPLICATE_REASON, finished_at=now)
        )
        bind.execute(
            _enrollments.update().where(_enrollments.c.id.in_(chunk)).values(closed_at=now)
        )


def _lease_in_flight(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.select(_items.c.id, _items.c.claimed_at).where(_items.c.status == "in_flight")
    ).all()
    for item_id, claimed_at in rows:
        lease = (claimed_at or datetime.now(UTC).replace(tzinfo=None)) + OLD_GRACE
        bind.execute(_items.update().where(_items.c.id == item_id).values(lease_until=lease))


def downgrade() -> None:
    op.drop_index(OPEN_INDEX, table_name="enrollments")
    with op.batch_alter_table("queue_items") as batch:
        batch.drop_column("lease_until")
    with op.batch_alter_table("enrollments") as batch:
        batch.drop_column("closed_at")
