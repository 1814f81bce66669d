"""queue claim order index

Revision ID: 0013
Revises: 0012
Dispatch claims the due pending items in (due_at, id) order, a batch at a time. The
index (status, due_at) gave them in due_at order only, so every claim read and sorted
ALL pending items to break the ties by id (10,000 enrolled at once share one due time):
each batch cost more the longer the queue. (status, due_at, id) gives them in claim
order: a claim reads its batch and stops. It replaces (status, due_at), which it covers.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_queue_items_claim_order", "queue_items", ["status", "due_at", "id"])
    op.drop_index("ix_queue_items_status_due", table_name="queue_items")


def downgrade() -> None:
    op.create_index("ix_queue_items_status_due", "queue_items", ["status", "due_at"])
    op.drop_index("ix_queue_items_claim_order", table_name="queue_items")
