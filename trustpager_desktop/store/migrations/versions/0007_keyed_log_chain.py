"""keyed log chain, checkpoints, TRUNCATE triggers

Revision ID: 0007
Revises: 0006
The activity log becomes a keyed chain (HMAC-SHA256 with a key kept outside the
database): each new entry names the key that signed it (``key_id``) and its
position in the chain (``seq``). Entries written before this revision keep both
NULL and are verified as the unkeyed SHA-256 prefix of the chain; they are not
rewritten (the triggers forbid it, and the original hashes are the evidence).

``activity_checkpoints`` holds signed "verified up to here" marks, so a verify
can start from the last one instead of the first entry. It is append-only like
the other history tables. On PostgreSQL, statement-level triggers now refuse
TRUNCATE of the history tables too (row triggers never see a TRUNCATE).

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HISTORY_TABLES = ("activity_log", "consent_events", "activity_checkpoints")


def _refuse_changes(table: str, *, row_triggers: bool) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        if row_triggers:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        return  # SQLite has no TRUNCATE; DELETE without WHERE fires the row trigger
    if dialect != "postgresql":
        return
    op.execute(
        f"CREATE OR REPLACE FUNCTION {table}_append_only() RETURNS trigger AS $$ "
        f"BEGIN RAISE EXCEPTION '{table} is append-only'; END $$ LANGUAGE plpgsql"
    )
    if row_triggers:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
    op.execute(
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"
    )


def upgrade() -> None:
    with op.batch_alter_table("activity_log", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
    op.create_table(
        "activity_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_checkpoints")),
    )
    op.create_index("ix_activity_checkpoints_seq", "activity_checkpoints", ["seq"], unique=False)
    _refuse_changes("activity_log", row_triggers=False)
    _refuse_changes("consent_events", row_triggers=False)
    _refuse_changes("activity_checkpoints", row_triggers=True)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in HISTORY_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute(
            "DROP TRIGGER IF EXISTS activity_checkpoints_append_only ON activity_checkpoints"
        )
        op.execute("DROP FUNCTION IF EXISTS activity_checkpoints_append_only()")
    op.drop_index("ix_activity_checkpoints_seq", table_name="activity_checkpoints")
    op.drop_table("activity_checkpoints")
    with op.batch_alter_table("activity_log", schema=None) as batch_op:
        batch_op.drop_column("seq")
        batch_op.drop_column("key_id")
