"""Dead letters keep the original message's headers as bytes, in order, for a replay.

``headers`` (text → text, for reading) decodes every value as UTF-8 and keeps one value per name,
so a replay sent a binary header (a trace context) garbled and a repeated name once. The new
column holds the original's headers as the letter carries them: ``[[name, base64 value], …]``;
NULL for a letter stored before, which a replay sends from ``headers`` as it did.

Revision ID: 0006_dlq_headers
Revises: 0005_workers
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_dlq_headers"
down_revision = "0005_workers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("dead_letters", sa.Column("original_headers", JSONB, nullable=True))


def downgrade() -> None:
    op.drop_column("dead_letters", "original_headers")
