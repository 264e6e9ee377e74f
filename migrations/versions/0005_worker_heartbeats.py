"""Worker heartbeats: which workers run now, for the web view's ``/health`` (``workers``).

Each worker writes its row every few seconds and deletes it when it stops; a row not written
for a while is a worker that is gone (killed, frozen, its machine lost). The web view counts the
fresh rows: an operator whose command waits without an answer sees that no worker runs.

Revision ID: 0005_workers
Revises: 0004_i20
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_workers"
down_revision = "0004_i20"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker_id", sa.Text, primary_key=True),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("seen_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("worker_heartbeats")
