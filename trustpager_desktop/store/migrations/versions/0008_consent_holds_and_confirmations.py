"""consent at the edges: Twilio's STOP block per number, opt-out confirmation texts

Revision ID: 0008
Revises: 0004
``provider_blocks`` remembers that Twilio refuses texts to a number (a STOP-type
reply or error 21610) until the customer sends START, so re-consent recorded by
hand shows "waiting for the customer's START reply" instead of failing silently.
``opt_out_confirmations`` holds the one confirmation text an opt-out may get; its
unique key and status make it at most one, across crashes and desktops.

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("message_sid", sa.String(length=64), nullable=True),
        sa.Column("blocked_at", sa.DateTime(), nullable=False),
        sa.Column("cleared_at", sa.DateTime(), nullable=True),
        sa.Column("cleared_by_sid", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_blocks")),
        sa.UniqueConstraint("phone_e164", name=op.f("uq_provider_blocks_phone_e164")),
    )
    op.create_table(
        "opt_out_confirmations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opt_out_key", sa.String(length=100), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outbound_message_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_out_confirmations")),
        sa.UniqueConstraint("opt_out_key", name=op.f("uq_opt_out_confirmations_opt_out_key")),
    )
    with op.batch_alter_table("opt_out_confirmations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_opt_out_confirmations_phone_e164"), ["phone_e164"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_opt_out_confirmations_status"), ["status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("opt_out_confirmations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opt_out_confirmations_status"))
        batch_op.drop_index(batch_op.f("ix_opt_out_confirmations_phone_e164"))
    op.drop_table("opt_out_confirmations")
    op.drop_table("provider_blocks")
