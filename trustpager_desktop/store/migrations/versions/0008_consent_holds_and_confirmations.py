"""consent at the edges: Twilio's STOP block per number, opt-out confirmation texts

Revision ID: 0008
Revises: 0007
``provider_blocks`` remembers that Twilio refuses texts to a number (a STOP-type
reply or error 21610) until the customer sends START, so re-consent recorded by
hand shows "waiting for the customer's START reply" instead of failing silently.
``opt_out_confirmations`` holds the one confirmation text an opt-out may get; its
unique key and status make it at most one, across crashes and desktops.

Numbers whose latest opt-out came from a STOP reply or a 21610 answer, with no START
reply after it, get a block now, so re-consent recorded before this version also shows
"waiting for the customer's START reply" (when unsure, holding back is the safe side).

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
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

    _backfill_blocks()


def _backfill_blocks() -> None:
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT phone_e164, kind, source, received_at, message_sid FROM consent_events "
            "WHERE phone_e164 IS NOT NULL ORDER BY received_at, id"
        )
    ).all()
    blocked: dict[str, tuple[Any, ...]] = {}
    for phone, kind, source, received_at, sid in rows:
        if kind == "opt_out" and source in ("stop_reply", "twilio_21610"):
            blocked[phone] = (source, received_at, sid)
        elif kind == "re_consent" and source == "start_reply":
            blocked.pop(phone, None)
    table = sa.table(
        "provider_blocks",
        sa.column("phone_e164"), sa.column("source"), sa.column("message_sid"),
        sa.column("blocked_at"), sa.column("updated_at"),
    )  # fmt: skip
    values = [
        {"phone_e164": phone, "source": source, "message_sid": sid, "blocked_at": at,
         "updated_at": at}
        for phone, (source, at, sid) in blocked.items()
    ]  # fmt: skip
    if values:
        op.bulk_insert(table, values)


def downgrade() -> None:
    with op.batch_alter_table("opt_out_confirmations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_opt_out_confirmations_status"))
        batch_op.drop_index(batch_op.f("ix_opt_out_confirmations_phone_e164"))
    op.drop_table("opt_out_confirmations")
    op.drop_table("provider_blocks")
