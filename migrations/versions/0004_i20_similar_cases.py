"""Similar cases: a search document per exception, term statistics, and the copilot's audit trail.

``exception_search`` holds one full-text document per exception (type, severity, source, the
normalized context and the payload's values). Building it (parsing ~1 KB of text, ~60 µs, and
its GIN entries) stays off the sink's hot path: statement-level triggers on ``exceptions`` only
queue the keys of new rows and of rows whose document inputs changed (one set-based statement
per sink batch; a status change costs a join of the batch's before/after rows), and the workers
drain ``exception_search_queue`` on a timer (:mod:`sentinai.sinks.search_index`).
``search_terms`` / ``search_stats`` are per-tenant document frequencies, refreshed by the workers
(:mod:`sentinai.sinks.search_terms`), that turn the lexical match into an IDF-weighted one.

``pg_trgm`` is used when the server has it (the machine's PostgreSQL does; the embedded pgserver
build ships only plpgsql and pgvector): then a trigram index on the document serves fuzzy question
search. Everything else works without it.

Revision ID: 0004_i20
Revises: 0003_i19
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR

revision = "0004_i20"
down_revision = "0003_i19"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_GIN_OPTIONS = {"fastupdate": "on", "gin_pending_list_limit": "512"}  # kB

# The searchable text of an exception: its classification and every scalar value of its context
# and payload. Keys are left out (they are the same for every exception of a kind) and so is the
# arrival time (unique to each exception, never shared by a similar one). jsonb orders keys
# itself, so producers that reorder fields produce the same document.
_DOCUMENT_FUNCTION = """
CREATE FUNCTION exception_search_document(kind text, severity text, source text, context jsonb,
                                          payload jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT concat_ws(' ', kind, severity, source,
        (SELECT string_agg(v #>> '{}', ' ')
           FROM jsonb_path_query(coalesce(context, '{}') - 'occurred_at', 'strict $.**') v
          WHERE jsonb_typeof(v) IN ('string', 'number')),
        (SELECT string_agg(v #>> '{}', ' ')
           FROM jsonb_path_query(coalesce(payload, '{}'), 'strict $.**') v
          WHERE jsonb_typeof(v) IN ('string', 'number')))
$$
"""

_INSERTED_FUNCTION = """
CREATE FUNCTION exception_search_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO exception_search_queue (tenant_id, exception_id)
    SELECT tenant_id, exception_id FROM inserted
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$
"""

_UPDATED_FUNCTION = """
CREATE FUNCTION exception_search_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO exception_search_queue (tenant_id, exception_id)
    SELECT n.tenant_id, n.exception_id
      FROM updated n JOIN previous o USING (tenant_id, exception_id)
     WHERE (n.exception_type, n.severity, n.source_system, n.normalized_context, n.raw_payload)
           IS DISTINCT FROM
           (o.exception_type, o.severity, o.source_system, o.normalized_context, o.raw_payload)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$
"""

_DELETED_FUNCTION = """
CREATE FUNCTION exception_search_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM exception_search s USING deleted d
     WHERE s.tenant_id = d.tenant_id AND s.exception_id = d.exception_id;
    RETURN NULL;
END
$$
"""

_BACKFILL = "INSERT INTO exception_search_queue SELECT tenant_id, exception_id FROM exceptions"

_TRIGGERS = (
    ("exceptions_search_inserted", "INSERT", "NEW TABLE AS inserted", "exception_search_inserted"),
    ("exceptions_search_updated", "UPDATE", "OLD TABLE AS previous NEW TABLE AS updated",
     "exception_search_updated"),
    ("exceptions_search_deleted", "DELETE", "OLD TABLE AS deleted", "exception_search_deleted"),
)


def _has_extension(name: str) -> bool:
    found = op.get_bind().execute(
        sa.text("SELECT 1 FROM pg_available_extensions WHERE name = :name"), {"name": name})
    return found.first() is not None


def upgrade() -> None:
    op.create_table(
        "exception_search",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("exception_id", sa.Text, primary_key=True),
        sa.Column("exception_type", sa.Text),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("tsv", TSVECTOR, sa.Computed("to_tsvector('english'::regconfig, document)",
                                               persisted=True)),
    )
    # A small pending list: every search scans it (~3 ms a term at the default 4 MB), while
    # without one each document updates ~50 posting trees in place (2-4x slower to build).
    op.create_index("exception_search_tsv", "exception_search", ["tsv"], postgresql_using="gin",
                    postgresql_with=_GIN_OPTIONS)
    op.create_table(
        "exception_search_queue",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("exception_id", sa.Text, primary_key=True),
    )
    if _has_extension("pg_trgm"):
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index("exception_search_trgm", "exception_search", ["document"],
                        postgresql_using="gin", postgresql_ops={"document": "gin_trgm_ops"},
                        postgresql_with=_GIN_OPTIONS)
    op.create_table(
        "search_terms",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("lexeme", sa.Text, primary_key=True),
        sa.Column("documents", sa.Integer, nullable=False),
    )
    op.create_table(
        "search_stats",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("documents", sa.Integer, nullable=False),
        sa.Column("refreshed_at", _TS, nullable=False, server_default=sa.text("now()")),
    )
    op.create_table(
        "copilot_questions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("session_id", sa.Text),
        sa.Column("asked_at", _TS, nullable=False, server_default=sa.text("now()")),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("exception_id", sa.Text),
        sa.Column("intent", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("cited_ids", ARRAY(sa.Text), nullable=False),
        sa.Column("detail", JSONB),
    )
    op.create_index("copilot_questions_by_tenant", "copilot_questions",
                    ["tenant_id", sa.text("asked_at DESC")])
    op.execute(_DOCUMENT_FUNCTION)
    for function in (_INSERTED_FUNCTION, _UPDATED_FUNCTION, _DELETED_FUNCTION):
        op.execute(function)
    for name, event, tables, function in _TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON exceptions REFERENCING {tables} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    op.execute(_BACKFILL)


def downgrade() -> None:
    for name, _, _, function in _TRIGGERS:
        op.execute(f"DROP TRIGGER {name} ON exceptions")
        op.execute(f"DROP FUNCTION {function}()")
    op.execute("DROP FUNCTION exception_search_document(text, text, text, jsonb, jsonb)")
    for table in ("copilot_questions", "search_stats", "search_terms", "exception_search_queue",
                  "exception_search"):
        op.drop_table(table)
