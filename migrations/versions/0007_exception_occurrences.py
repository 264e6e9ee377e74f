"""An exception row records which occurrence of its exception id it shows.

An exception id sent again after the dedup window is a new occurrence: it is decided afresh and its
transitions must replace the row of the earlier one, whose versions may well be higher. The sink
orders rows by ``first_seen_at`` (when a worker first saw the occurrence), then by version; NULL,
for a row written before, is earlier than any occurrence.

Revision ID: 0007_occurrences
Revises: 0006_dlq_headers
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_occurrences"
down_revision = "0006_dlq_headers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("exceptions", sa.Column("first_seen_at", sa.TIMESTAMP(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("exceptions", "first_seen_at")
