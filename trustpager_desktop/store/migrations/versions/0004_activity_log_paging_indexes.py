"""activity log paging indexes

Revision ID: 0004
Revises: 0002
The activity log viewer pages newest first inside a filter (kind, contact or
automation). Composite (column, id) indexes replace the single-column ones so a
page is read straight off an index at any log size.

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_REPLACED = {
    "ix_activity_log_kind": ("ix_activity_log_kind_id", "kind"),
    "ix_activity_log_contact_id": ("ix_activity_log_contact_id_id", "contact_id"),
    "ix_activity_log_automation_id": ("ix_activity_log_automation_id_id", "automation_id"),
}


def upgrade() -> None:
    for old, (new, column) in _REPLACED.items():
        op.create_index(new, "activity_log", [column, "id"], unique=False)
        op.drop_index(old, table_name="activity_log")


def downgrade() -> None:
    for old, (new, column) in _REPLACED.items():
        op.create_index(old, "activity_log", [column], unique=False)
        op.drop_index(new, table_name="activity_log")
