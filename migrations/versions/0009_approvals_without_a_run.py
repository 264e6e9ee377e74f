"""Approvals requested for an exception no playbook applied to are closed.

Before this release an exception that policy sent to approval but that had no playbook got an
``ApprovalRequested`` with no playbook run behind it: an answer was dead-lettered ("no playbook
run") and the timer never expired it, so the approval stayed pending for ever (in the approvals
queue, the console and the status page's count). The decision core no longer requests an approval
without a playbook (the exception escalates); this closes the ones stored before, as an expiry
whose comment says why. Only an approval whose exception row has no playbook is touched: every
approval with a run behind it names the run's playbook on the row. Not undone on downgrade.

Revision ID: 0009_approvals_without_run
Revises: 0008_sla_infinities
Create Date: 2026-12-08
"""

from alembic import op

revision = "0009_approvals_without_run"
down_revision = "0008_sla_infinities"
branch_labels = None
depends_on = None

REASON = "no playbook applied to the exception: nothing to approve (closed by migration 0009)"


def upgrade() -> None:
    op.execute(f"""
        UPDATE approvals a SET status = 'EXPIRED', comment = '{REASON}', decided_at = now(),
                               version = GREATEST(a.version, 2)
          FROM exceptions e
         WHERE a.status = 'PENDING' AND e.tenant_id = a.tenant_id AND e.exception_id = a.exception_id
           AND e.playbook_id IS NULL""")


def downgrade() -> None:
    """Nothing to undo: see the module's docstring."""
