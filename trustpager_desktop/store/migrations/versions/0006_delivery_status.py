"""delivery status

Revision ID: 0006
Revises: 0009
The inbox poller reads what Twilio later says about each text it sent
(queued, sent, delivered, undelivered, failed, with the error code) and keeps
it on ``outbound_messages``. Numbers whose texts keep failing (a landline, an
unreachable handset) are counted in ``undeliverable_numbers`` so automations
can skip them until a person clears them. The Insights period index gains the two
delivery columns, so the page still reads a period's figures from the index alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PERIOD_INDEX = "ix_outbound_messages_period"
PERIOD_COLUMNS = ["created_at", "automation_id", "step_id", "status", "error_code", "provider_sid"]
DELIVERY_COLUMNS = ["delivery_status", "delivery_error_code"]


def upgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.add_column(sa.Column("delivery_status", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("delivery_error_code", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("delivery_updated_at", sa.DateTime(), nullable=True))
    op.drop_index(PERIOD_INDEX, table_name="outbound_messages")
    op.create_index(PERIOD_INDEX, "outbound_messages", PERIOD_COLUMNS + DELIVERY_COLUMNS)
    op.create_table(
        "undeliverable_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", sa.DateTime(), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(), nullable=False),
        sa.Column("blocked_at", sa.DateTime(), nullable=True),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.Column("cleared_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_undeliverable_numbers")),
        sa.UniqueConstraint("phone_e164", name=op.f("uq_undeliverable_numbers_phone_e164")),
    )


def downgrade() -> None:
    op.drop_table("undeliverable_numbers")
    op.drop_index(PERIOD_INDEX, table_name="outbound_messages")
    op.create_index(PERIOD_INDEX, "outbound_messages", PERIOD_COLUMNS)
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_column("delivery_updated_at")
        batch.drop_column("delivery_error_code")
        batch.drop_column("delivery_status")
