"""Events in a transition: ``exception_events.seq``, the exception's version after the event.

Events of one transition share their ``occurred_at``; ``seq`` orders them on the timeline. Events
that do not change the exception (an SLA tick, a notification) have none. Rows of the earlier
release carry the version in ``payload.exception.version`` instead; the timeline reads both.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("exception_events", sa.Column("seq", sa.BigInteger))


def downgrade() -> None:
    op.drop_column("exception_events", "seq")
