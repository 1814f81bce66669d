"""insights indexes

Revision ID: 0009
Revises: 0004
The Insights page reads a period's texts by step, status and error code, counts the
texts sent per week, and finds for each reply and opt-out the last text sent to its
number. On 400,000 texts these two indexes keep the page under 500 ms:

- (created_at, automation_id, step_id, status, error_code, provider_sid): the period's
  figures and the weekly counts are read from the index alone;
- (to_e164, sent_at) over sent texts only (provider_sid set): "the last text to this
  number at or before this moment" is one index step, newest first, no sort.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENT_ONLY = sa.text("provider_sid IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_outbound_messages_period",
        "outbound_messages",
        ["created_at", "automation_id", "step_id", "status", "error_code", "provider_sid"],
        unique=False,
    )
    op.create_index(
        "ix_outbound_messages_sent_to",
        "outbound_messages",
        ["to_e164", "sent_at"],
        unique=False,
        sqlite_where=SENT_ONLY,
        postgresql_where=SENT_ONLY,
    )


def downgrade() -> None:
    op.drop_index("ix_outbound_messages_sent_to", table_name="outbound_messages")
    op.drop_index("ix_outbound_messages_period", table_name="outbound_messages")
