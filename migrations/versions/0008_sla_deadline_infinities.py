"""Rows stored with an SLA deadline of PostgreSQL's ``-infinity`` or ``infinity`` have none.

Before 340f748 a producer's ``slaDeadline`` of 0001-01-01T00:00:00Z (Go's zero time, .NET's
``DateTime.MinValue``) or 9999-12-31T23:59:59.999999Z was stored as it came, and asyncpg writes
those as the infinities, which read back as times without a zone (the API then served a
``date-time`` without an offset). The sink ignores such deadlines now; this sets the rows stored
before to what the sink writes today: no deadline. Not undone on downgrade: the infinities were
never a deadline.

Revision ID: 0008_sla_infinities
Revises: 0007_occurrences
Create Date: 2026-12-08
"""

from alembic import op

revision = "0008_sla_infinities"
down_revision = "0007_occurrences"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE exceptions SET sla_deadline = NULL WHERE sla_deadline IN ('-infinity', 'infinity')")


def downgrade() -> None:
    """Nothing to undo: see the module's docstring."""
