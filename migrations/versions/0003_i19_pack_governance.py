"""Governed pack changes: proposals and the packs' own append-only event log.

Revision ID: 0003_i19
Revises: 0002
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_i19"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)

# pack_events is the audit trail of pack changes: nothing updates or deletes it (not even
# retention, which keeps to exception data).
_APPEND_ONLY_FUNCTION = """
CREATE FUNCTION pack_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'pack_events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "pack_proposals",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("documents", JSONB, nullable=False),
        sa.Column("base", JSONB, nullable=False),
        sa.Column("diff", JSONB, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("proposed_by", sa.Text, nullable=False),
        sa.Column("proposed_at", _TS, nullable=False, server_default=sa.text("now()")),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", _TS),
        sa.Column("decision_comment", sa.Text),
        sa.Column("activated", JSONB),
        sa.Column("report_status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("report", JSONB),
        sa.Column("report_error", sa.Text),
        sa.CheckConstraint("kind IN ('change', 'rollback')", name="pack_proposals_kind"),
        sa.CheckConstraint("status IN ('proposed', 'approved', 'rejected')", name="pack_proposals_status"),
        sa.CheckConstraint("report_status IN ('pending', 'done', 'failed')", name="pack_proposals_report"),
    )
    op.create_index("pack_proposals_by_tenant", "pack_proposals", ["tenant_id", sa.text("id DESC")])
    op.create_table(
        "pack_events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("proposal_id", sa.BigInteger),
        sa.Column("actor_type", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("occurred_at", _TS, nullable=False, server_default=sa.text("now()")),
    )
    op.create_index("pack_events_timeline", "pack_events", ["tenant_id", "id"])
    op.execute(_APPEND_ONLY_FUNCTION)
    op.execute("CREATE TRIGGER pack_events_append_only BEFORE UPDATE OR DELETE ON pack_events "
               "FOR EACH STATEMENT EXECUTE FUNCTION pack_events_append_only()")


def downgrade() -> None:
    op.drop_table("pack_events")
    op.drop_table("pack_proposals")
    op.execute("DROP FUNCTION pack_events_append_only()")
