"""The system of record: tenants, packs, exceptions, the event log and the operator tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _now() -> sa.TextClause:
    return sa.text("now()")


# exception_events is append-only: the retention job (sentinai.sinks.retention) is the one delete
# path, and it says so by setting ``sentinai.retention`` for its own transaction. Anything else
# that updates or deletes events fails loudly instead of silently rewriting history.
_APPEND_ONLY_FUNCTION = """
CREATE FUNCTION exception_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('sentinai.retention', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'exception_events is append-only (% refused; only retention may delete)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("domain_name", sa.Text, nullable=False),
        sa.Column("active_domain_version_id", sa.BigInteger),
        sa.Column("active_tenant_version_id", sa.BigInteger),
        sa.Column("created_at", _TS, nullable=False, server_default=_now()),
        sa.Column("updated_at", _TS, nullable=False, server_default=_now()),
    )
    op.create_table(
        "pack_versions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("checksum", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="draft"),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False, server_default="system"),
        sa.Column("created_at", _TS, nullable=False, server_default=_now()),
        sa.Column("activated_at", _TS),
        sa.CheckConstraint("kind IN ('domain', 'tenant')", name="pack_versions_kind"),
        sa.CheckConstraint("status IN ('draft', 'active', 'deprecated')", name="pack_versions_status"),
    )
    op.create_index("pack_versions_one_active", "pack_versions", ["kind", "name"], unique=True,
                    postgresql_where=sa.text("status = 'active'"))
    op.create_index("pack_versions_by_checksum", "pack_versions", ["kind", "name", "checksum"])
    op.create_index("pack_versions_history", "pack_versions", ["kind", "name", sa.text("id DESC")])
    op.create_table(
        "exceptions",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("exception_id", sa.Text, primary_key=True),
        sa.Column("source_system", sa.Text),
        sa.Column("exception_type", sa.Text),
        sa.Column("severity", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("owner", sa.Text),
        sa.Column("playbook_id", sa.Text),
        sa.Column("current_step", sa.Integer),
        sa.Column("sla_deadline", _TS),
        sa.Column("raw_payload", JSONB),
        sa.Column("normalized_context", JSONB),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("created_at", _TS, nullable=False, server_default=_now()),
        sa.Column("updated_at", _TS, nullable=False, server_default=_now()),
    )
    op.create_index("exceptions_by_created", "exceptions", ["tenant_id", sa.text("created_at DESC"), "exception_id"])
    op.create_index("exceptions_by_status_severity", "exceptions", ["tenant_id", "status", "severity"])
    op.create_index("exceptions_by_updated", "exceptions", ["tenant_id", "updated_at"])
    op.create_table(
        "exception_events",
        # Byte order for the opaque, random event ids: the hottest index compares with memcmp.
        sa.Column("event_id", sa.Text(collation="C"), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("exception_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("actor_type", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Text, nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("occurred_at", _TS, nullable=False),
        sa.Column("recorded_at", _TS, nullable=False, server_default=_now()),
    )
    op.create_index("exception_events_timeline", "exception_events", ["tenant_id", "exception_id", "occurred_at"])
    op.create_index("exception_events_by_time", "exception_events", ["tenant_id", "occurred_at"])
    op.execute(_APPEND_ONLY_FUNCTION)
    op.execute("CREATE TRIGGER exception_events_append_only BEFORE UPDATE OR DELETE ON exception_events "
               "FOR EACH STATEMENT EXECUTE FUNCTION exception_events_append_only()")
    op.create_table(
        "approvals",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("approval_id", sa.Text, primary_key=True),
        sa.Column("exception_id", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("requested_at", _TS, nullable=False),
        sa.Column("expires_at", _TS),
        sa.Column("decided_by", sa.Text),
        sa.Column("decided_at", _TS),
        sa.Column("comment", sa.Text),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("approvals_by_status", "approvals", ["tenant_id", "status", "requested_at"])
    op.create_table(
        "tool_executions",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("execution_id", sa.Text, primary_key=True),
        sa.Column("exception_id", sa.Text, nullable=False),
        sa.Column("tool_name", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("request", JSONB),
        sa.Column("response", JSONB),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("started_at", _TS),
        sa.Column("finished_at", _TS),
        sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("tool_executions_by_exception", "tool_executions", ["tenant_id", "exception_id"])
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Text),
        sa.Column("source_topic", sa.Text, nullable=False),
        sa.Column("source_partition", sa.Integer, nullable=False),
        sa.Column("source_offset", sa.BigInteger, nullable=False),
        sa.Column("stage", sa.Text, nullable=False),
        sa.Column("error_class", sa.Text, nullable=False),
        sa.Column("error_message", sa.Text, nullable=False),
        sa.Column("headers", JSONB, nullable=False),
        sa.Column("key", sa.LargeBinary),
        sa.Column("value", sa.LargeBinary),
        sa.Column("status", sa.Text, nullable=False, server_default="new"),
        sa.Column("created_at", _TS, nullable=False, server_default=_now()),
        sa.Column("replayed_at", _TS),
        sa.UniqueConstraint("source_topic", "source_partition", "source_offset", name="dead_letters_source"),
    )
    op.create_index("dead_letters_by_tenant", "dead_letters", ["tenant_id", sa.text("id DESC")])
    op.create_table(
        "api_keys",
        sa.Column("key_id", sa.Text, primary_key=True),
        sa.Column("key_hash", sa.Text, nullable=False, unique=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False, server_default=_now()),
        sa.Column("revoked_at", _TS),
        sa.CheckConstraint("role IN ('viewer', 'operator', 'admin')", name="api_keys_role"),
    )
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("cutoff", _TS, nullable=False),
        sa.Column("exceptions_deleted", sa.BigInteger, nullable=False),
        sa.Column("events_deleted", sa.BigInteger, nullable=False),
        sa.Column("approvals_deleted", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("tool_executions_deleted", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("batches", sa.Integer, nullable=False, server_default="0"),
        sa.Column("ran_at", _TS, nullable=False, server_default=_now()),
    )
    op.create_index("retention_runs_by_tenant", "retention_runs", ["tenant_id", sa.text("id DESC")])


def downgrade() -> None:
    for table in ("retention_runs", "api_keys", "dead_letters", "tool_executions", "approvals",
                  "exception_events", "exceptions", "pack_versions", "tenants"):
        op.drop_table(table)
    op.execute("DROP FUNCTION exception_events_append_only()")
