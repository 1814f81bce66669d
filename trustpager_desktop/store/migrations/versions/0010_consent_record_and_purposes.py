"""opt-in consent record per contact; per-purpose SMS preferences

Revision ID: 0010
Revises: 0013

Issue 15 items 1 and 4:

- ``contacts.consent_at / consent_source / consent_method / consent_evidence``: when
  and how the contact agreed to texts. All empty means "no consent on record"; the
  upgrade fills nothing in (a record the business never made cannot be invented).
- ``contacts.declined_purposes``: SMS purposes the contact declined, ";"-separated
  (empty for everyone after the upgrade: nothing changes for a business that never
  uses purposes).
- ``automations.purpose``: the purpose each automation serves; existing automations
  serve "Marketing", the one purpose of the default list.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("consent_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("consent_source", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("consent_method", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("consent_evidence", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("declined_purposes", sa.String(length=500), nullable=False, server_default="")
        )
    with op.batch_alter_table("automations") as batch:
        batch.add_column(
            sa.Column("purpose", sa.String(length=40), nullable=False, server_default="Marketing")
        )


def downgrade() -> None:
    with op.batch_alter_table("automations") as batch:
        batch.drop_column("purpose")
    with op.batch_alter_table("contacts") as batch:
        for column in ("declined_purposes", "consent_evidence", "consent_method",
                       "consent_source", "consent_at"):  # fmt: skip
            batch.drop_column(column)
