"""The OpenAPI 3.1 document of the web view, written as data (a test checks every route is here)."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

JSON = "application/json"
CONSOLE_FILES = ("app.js", "api.js", "dom.js", "records.js", "router.js", "actions.js", "overview.js",
                 "exceptions.js", "exception.js", "approvals.js", "deadletters.js", "packs.js", "style.css",
                 "index.html")
"""The console's files: ES modules (``app.js`` imports the others; no build step), CSS and HTML."""


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"$ref": f"#/components/responses/E{c}"} for c in codes}


TENANT = {"name": "tenant", "in": "path", "required": True, "description": "Tenant id",
          "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._\\-]{0,99}$"}}
EXCEPTION_ID = {"name": "exception_id", "in": "path", "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
SECURE = [{"bearer": []}]
STREAM_SECURE = [{"bearer": []}, {"access_token": []}]
HISTORY = {"name": "history", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 1000},
           "description": "Open on up to this many of the latest decisions (from the feed's ring), "
                          "then the live stream; ignored when resuming with Last-Event-ID"}
LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}}
PROPOSAL_ID = {"name": "proposal_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1}}
COMMENT_BODY = {"required": True, "content": {JSON: {"schema": {
    "type": "object", "required": ["comment"], "additionalProperties": False,
    "properties": {"comment": {"type": "string", "minLength": 1, "maxLength": 2000}}}}}}
ANSWER_BODY = {"required": True, "content": {JSON: {"schema": _ref("Answer")}}}


def _get(summary: str, ok: dict[str, Any], *, params: list[dict[str, Any]] | None = None,
         errors: tuple[int, ...] = (400, 401, 404), security: list[dict[str, Any]] | None = SECURE,
         tag: str = "api") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "parameters": params or [],
                          "responses": {"200": ok, **_errors(*errors)}}
    if security is not None:
        op["security"] = security
    return op


def _post(summary: str, body: dict[str, Any] | None, status: str, ok: dict[str, Any], *,
          params: list[dict[str, Any]], errors: tuple[int, ...], method_tag: str = "api") -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [method_tag], "parameters": params, "security": SECURE,
                          "responses": {status: ok, **_errors(*errors)}}
    if body is not None:
        op["requestBody"] = body
    return op


SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error", "detail", "path"], "properties": {
        "error": {"type": "string", "description": "machine-readable code"},
        "detail": {"type": "string", "description": "what is wrong, for a person"},
        "path": {"type": "string", "description": "where: body.<field>, query.<name>, header.<name>, or the request path"},
        "issues": {"type": "array", "items": _ref("PackIssue")}}},
    "SimilarCases": {"type": "object", "required": ["tenant_id", "exception_id", "items"], "properties": {
        "tenant_id": {"type": "string"}, "exception_id": {"type": "string"},
        "items": {"type": "array", "items": {"type": "object", "required": ["exception_id", "score", "why", "outcome"],
                  "properties": {"exception_id": {"type": "string"}, "score": {"type": "number"},
                                 "why": {"type": "array", "items": {"type": "string"}},
                                 "shared_terms": {"type": "array", "items": {"type": "string"}},
                                 "outcome": {"type": "object"}}}}}},
    "CopilotQuestion": {"type": "object", "required": ["question"], "additionalProperties": False, "properties": {
        "question": {"type": "string", "minLength": 1, "maxLength": 2000},
        "exception_id": {"type": "string", "maxLength": 2000},
        "session_id": {"type": "string", "maxLength": 2000}}},
    "CopilotAnswer": {"type": "object", "required": ["answer", "citations", "intent", "confidence", "source"],
                      "properties": {
        "answer": {"type": "string"},
        "citations": {"type": "array", "items": {"type": "object", "required": ["type", "id", "title", "snippet"],
                      "properties": {"type": {"enum": ["exception", "decision", "playbook", "query"]},
                                     "id": {"type": "string"}, "title": {"type": "string"},
                                     "snippet": {"type": "string"}}}},
        "intent": {"enum": ["summarize", "explain_decision", "similar_cases", "recommend_playbook",
                            "counts_and_trends", "draft_note"]},
        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "source": {"enum": ["llm", "deterministic"], "description": "deterministic: retrieval and templates"},
        "fallback_reason": {"type": "string", "description": "why the model's answer was not used"}}},
    "PackIssue": {"type": "object", "required": ["file", "path", "message"], "properties": {
        "file": {"type": "string"}, "path": {"type": "string"}, "message": {"type": "string"}}},
    "RawException": {
        "type": "object", "description": "A raw exception; snake_case or the seed's camelCase names. "
        "The tenant may be omitted (it is the path's tenant) and must match it when given.",
        "properties": {
            "tenant_id": {"type": "string"}, "tenantId": {"type": "string"},
            "exception_id": {"type": "string", "maxLength": 200}, "exceptionId": {"type": "string", "maxLength": 200},
            "source_system": {"type": "string"}, "sourceSystem": {"type": "string"},
            "exception_type": {"type": "string"}, "exceptionType": {"type": "string"},
            "occurred_at": {"type": "string", "format": "date-time"}, "timestamp": {"type": "string"},
            "payload": {"type": "object"}, "rawPayload": {"type": "object"},
            "context": {"type": "object"}},
        "additionalProperties": True},
    "IngestResult": {"type": "object", "required": ["tenant_id", "accepted", "errors"], "properties": {
        "tenant_id": {"type": "string"},
        "accepted": {"type": "array", "items": {"type": "object", "properties": {
            "index": {"type": "integer"}, "exception_id": {"type": "string"}}}},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "index": {"type": "integer"}, "error": {"type": "string"}, "detail": {"type": "string"},
            "path": {"type": "string"}}}}}},
    "ExceptionSummary": {"type": "object", "required": ["tenant_id", "exception_id", "status"], "properties": {
        "tenant_id": {"type": "string"}, "exception_id": {"type": "string"},
        "source_system": {"type": ["string", "null"]}, "exception_type": {"type": ["string", "null"]},
        "severity": {"type": ["string", "null"]}, "status": {"type": "string"}, "owner": {"type": ["string", "null"]},
        "playbook_id": {"type": ["string", "null"]}, "current_step": {"type": ["integer", "null"]},
        "sla_deadline": {"type": ["string", "null"], "format": "date-time"}, "version": {"type": "integer"},
        "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"}}},
    "ExceptionPage": {"type": "object", "required": ["items", "next_cursor"], "properties": {
        "tenant_id": {"type": "string"}, "items": {"type": "array", "items": _ref("ExceptionSummary")},
        "next_cursor": {"type": ["string", "null"], "description": "pass as ?cursor= for the next page"}}},
    "Event": {"type": "object", "properties": {
        "event_id": {"type": "string"}, "event_type": {"type": "string"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "actor": {"type": "object", "properties": {"type": {"type": "string"}, "id": {"type": "string"}}},
        "payload": {"type": "object"}}},
    "Decision": {"type": "object", "description": "A decision record (see ARCHITECTURE.md)", "properties": {
        "event_id": {"type": "string"}, "tenant_id": {"type": "string"}, "exception_id": {"type": "string"},
        "stage": {"type": "string"}, "decision": {"type": "string"}, "confidence": {"type": "number"},
        "evidence": {"type": "array"}, "next_step": {"type": "string"}, "status": {"type": "string"},
        "severity": {"type": ["string", "null"]}, "source": {"type": "string"},
        "decided_at": {"type": "string"}}, "additionalProperties": True},
    "DecisionRecord": {
        "type": "object", "description": "The data of one SSE `decision` event: one record per handled input "
        "(the exception's resulting state and the ordered stages that produced it), as on the decisions topic",
        "required": ["event_id", "tenant_id", "exception_id", "decided_at", "status", "source", "confidence", "stages"],
        "properties": {
            "event_id": {"type": "string"}, "tenant_id": {"type": "string"}, "exception_id": {"type": "string"},
            "decided_at": {"type": "string", "format": "date-time"}, "exception_type": {"type": ["string", "null"]},
            "severity": {"type": ["string", "null"]}, "status": {"type": "string"},
            "actionability": {"type": ["string", "null"]}, "approval_required": {"type": "boolean"},
            "playbook_id": {"type": ["string", "null"]}, "current_step": {"type": ["integer", "null"]},
            "source": {"type": "string", "enum": ["rules", "llm", "llm_fallback"]}, "confidence": {"type": "number"},
            "stages": {"type": "array", "items": {"type": "object", "required": ["stage", "decision"], "properties": {
                "stage": {"type": "string"}, "decision": {"type": "string"}, "confidence": {"type": "number"},
                "evidence": {"type": "array", "items": {"type": "string"}}, "next_step": {"type": "string"}}}}}},
    "ExceptionDetail": {"allOf": [_ref("ExceptionSummary"), {"type": "object", "properties": {
        "raw_payload": {}, "normalized_context": {},
        "timeline": {"type": "array", "items": _ref("Event")},
        "decisions": {"type": "array", "items": _ref("Decision")},
        "closest_resolved_case": {"description": "the most similar resolved case of the tenant, "
                                                 "when its score is at least 0.5 (else null)"}}}]},
    "Playbook": {"type": "object", "properties": {
        "tenant_id": {"type": "string"}, "exception_id": {"type": "string"}, "status": {"type": "string"},
        "playbook_id": {"type": ["string", "null"]}, "current_step": {"type": ["integer", "null"]},
        "completed": {"type": "boolean"}, "steps": {"type": "array", "items": {"type": "object"}},
        "events": {"type": "array", "items": _ref("Event")}}},
    "Answer": {"type": "object", "required": ["by"], "additionalProperties": False, "properties": {
        "by": {"type": "string", "minLength": 1, "maxLength": 2000}, "comment": {"type": ["string", "null"], "maxLength": 2000}}},
    "StepCompletion": {"type": "object", "required": ["by"], "additionalProperties": False, "properties": {
        "by": {"type": "string", "minLength": 1, "maxLength": 2000}, "comment": {"type": ["string", "null"], "maxLength": 2000},
        "output": {"type": ["object", "null"]}}},
    "Accepted": {"type": "object", "required": ["status"], "properties": {
        "status": {"const": "accepted"}, "command": {"type": "object"}}},
    "Approval": {"type": "object", "properties": {
        "approval_id": {"type": "string"}, "tenant_id": {"type": "string"}, "exception_id": {"type": "string"},
        "status": {"type": "string"}, "reason": {"type": ["string", "null"]},
        "requested_at": {"type": "string"}, "expires_at": {"type": ["string", "null"]},
        "decided_by": {"type": ["string", "null"]}, "decided_at": {"type": ["string", "null"]},
        "comment": {"type": ["string", "null"]}, "version": {"type": "integer"}}},
    "ToolExecution": {"type": "object", "properties": {
        "execution_id": {"type": "string"}, "exception_id": {"type": "string"}, "tool_name": {"type": "string"},
        "status": {"type": "string"},
        "request": {"description": "the arguments sent, secret-named fields masked as ***"},
        "response": {"description": "the tool's answer, secret-named fields masked as ***"},
        "error": {"type": ["string", "null"]}, "attempts": {"type": "integer"},
        "started_at": {"type": ["string", "null"]}, "finished_at": {"type": ["string", "null"]},
        "version": {"type": "integer"}}},
    "PackVersion": {"type": "object", "properties": {
        "id": {"type": "integer"}, "kind": {"enum": ["domain", "tenant"]}, "name": {"type": "string"},
        "version": {"type": "string"}, "status": {"type": "string"}, "created_by": {"type": ["string", "null"]},
        "created_at": {"type": "string"}, "activated_at": {"type": ["string", "null"]}}},
    "PackDiff": {"type": "object", "required": ["from", "to", "changes"], "properties": {
        "tenant_id": {"type": "string"}, "from": _ref("PackVersion"), "to": _ref("PackVersion"),
        "changes": {"type": "array", "items": {"type": "object", "required": ["op", "path"], "properties": {
            "op": {"enum": ["added", "removed", "changed"]},
            "path": {"type": "string", "description": "e.g. playbooks[2].steps[0].action"},
            "from": {}, "to": {}}}}}},
    "Bytes": {"type": "object", "properties": {
        "text": {"type": ["string", "null"]}, "encoding": {"enum": ["utf-8", "base64", None]},
        "size": {"type": "integer"}, "truncated": {"type": "boolean"}}},
    "DeadLetter": {"type": "object", "properties": {
        "id": {"type": "integer"}, "tenant_id": {"type": ["string", "null"]}, "source_topic": {"type": "string"},
        "source_partition": {"type": "integer"}, "source_offset": {"type": "integer"}, "stage": {"type": "string"},
        "error_class": {"type": "string"}, "error_message": {"type": "string"},
        "headers": {"type": "object", "description": "Kafka Connect error headers and sentinai.stage"},
        "key": _ref("Bytes"), "value": _ref("Bytes"), "value_size": {"type": ["integer", "null"]},
        "status": {"type": "string"},
        "created_at": {"type": "string"}, "replayed_at": {"type": ["string", "null"]}}},
    "PackUpload": {"description": "Domain and tenant packs, or one tenant pack (an object with tenantId)",
                   "oneOf": [
                       {"type": "object", "additionalProperties": False, "minProperties": 1, "properties": {
                           "domains": {"type": "array", "items": {"type": "object"}},
                           "tenants": {"type": "array", "items": {"type": "object"}}}},
                       {"type": "object", "required": ["tenantId"], "properties": {"tenantId": {"type": "string"}}}]},
    "Proposal": {"type": "object", "required": ["id", "status", "diff", "proposed_by"], "properties": {
        "id": {"type": "integer"}, "tenant_id": {"type": "string"}, "kind": {"enum": ["change", "rollback"]},
        "status": {"enum": ["proposed", "approved", "rejected"]}, "documents": {"type": "object"},
        "base": {"type": "object"}, "diff": {"type": "array", "items": {"type": "object"}},
        "proposed_by": {"type": "string"}, "decided_by": {"type": ["string", "null"]},
        "report_status": {"enum": ["pending", "done", "failed"]},
        "report": {"oneOf": [{"type": "null"}, _ref("WhatIfReport")]}}},
    "ProposalAnswer": {"type": "object", "required": ["tenant_id", "proposal"], "properties": {
        "tenant_id": {"type": "string"}, "proposal": _ref("Proposal")}},
    "WhatIfReport": {"type": "object", "required": ["compared", "changed", "changed_by_field"], "properties": {
        "compared": {"type": "integer"}, "changed": {"type": "integer"}, "skipped": {"type": "integer"},
        "changed_by_field": {"type": "object", "additionalProperties": {"type": "integer"}},
        "severity_matrix": {"type": "object"}, "playbook_matrix": {"type": "object"},
        "approval": {"type": "object", "properties": {"newly_required": {"type": "integer"},
                                                      "no_longer_required": {"type": "integer"}}},
        "changed_exceptions": {"type": "array", "items": {"type": "object"}}}},
    "Health": {"type": "object", "required": ["status", "broker", "database"], "properties": {
        "status": {"enum": ["ok", "degraded"]}, "broker": {"enum": ["ok", "unreachable"]},
        "database": {"enum": ["ok", "unreachable"]}, "decision_feed": {"type": "string"},
        "decision_feed_lag": {"type": "integer"}, "sse_subscribers": {"type": "integer"}}},
    "TenantStatus": {"type": "object", "properties": {
        "tenant_id": {"type": "string"}, "exceptions_total": {"type": "integer"},
        "by_status": {"type": "object", "additionalProperties": {"type": "integer"}},
        "by_severity": {"type": "object", "additionalProperties": {"type": "integer"}},
        "decisions_per_minute": {"type": "number"}, "decisions_series": {"type": "array", "items": {"type": "integer"}},
        "resolved": {"type": "integer"}, "auto_resolved": {"type": "integer"},
        "auto_resolution_rate": {"type": ["number", "null"]},
        "mean_time_to_resolve_seconds": {"type": ["number", "null"]}, "pending_approvals": {"type": "integer"},
        "backpressure": {"type": ["object", "null"]}, "quota_deferred_last_hour": {"type": "integer"},
        "dlq_new": {"type": "integer"}, "recent_dlq": {"type": "array", "items": {"type": "object"}},
        "recent_exceptions": {"type": "array", "items": {"type": "object"}}}},
}

RESPONSES = {f"E{code}": _json(_ref("Error"), text) for code, text in {
    400: "Bad input (bad JSON, unknown or mistyped field, bad parameter or cursor)",
    401: "No or invalid API key", 403: "The key's role is too low", 404: "Unknown tenant or resource",
    409: "Conflict with the current state", 413: "Body over the size limit", 415: "Body is not JSON",
    422: "Input failed validation", 503: "Broker unavailable"}.items()}

T = "/api/v1/tenants/{tenant}"
WRITE_ERRORS = (400, 401, 403, 404, 413, 415, 422, 503)

PATHS: dict[str, Any] = {
    "/": {"get": {"summary": "Status page (HTML)", "tags": ["ui"], "responses": {
        "200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}}},
    "/static/{name}": {"get": {"summary": "Status page assets", "tags": ["ui"], "parameters": [
        {"name": "name", "in": "path", "required": True, "schema": {"enum": [*CONSOLE_FILES]}}],
        "responses": {"200": {"description": "file", "content": {"text/javascript": {"schema": {"type": "string"}},
                                                                "text/css": {"schema": {"type": "string"}},
                                                                "text/html": {"schema": {"type": "string"}}}},
                      "404": {"$ref": "#/components/responses/E404"}}}},
    "/health": {"get": {"summary": "Liveness with broker and database state", "tags": ["ops"],
                        "responses": {"200": _json(_ref("Health"), "health")}}},
    "/health/ready": {"get": {"summary": "Readiness: 503 when the broker or the database is unreachable",
                              "tags": ["ops"], "responses": {"200": _json(_ref("Health"), "ready"),
                                                             "503": _json(_ref("Health"), "not ready")}}},
    "/metrics": {"get": {"summary": "Prometheus metrics (sentinai_*); a bearer token when SENTINAI_METRICS_TOKEN is set",
                         "tags": ["ops"], "responses": {
        "200": {"description": "text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}},
        "401": _json(_ref("Error"), "the metrics token is missing or wrong")}}},
    "/api/v1/openapi.json": {"get": {"summary": "This document", "tags": ["ops"],
                                     "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")}}},
    "/api/v1/whoami": {"get": _get("The key's tenant, role and visible tenants", _json({"type": "object", "properties": {
        "key_id": {"type": "string"}, "tenant_id": {"type": "string"}, "role": {"type": "string"},
        "tenants": {"type": "array", "items": {"type": "string"}}}}, "identity"), errors=(400, 401))},
    "/api/v1/status": {"get": _get("Status aggregates of every tenant the key sees", _json({"type": "object", "properties": {
        "generated_at": {"type": "string"}, "tenants": {"type": "array", "items": _ref("TenantStatus")}}}, "status"),
        errors=(400, 401))},
    "/api/v1/decisions/stream": {"get": _get(
        "SSE of every tenant's decisions (admin key for '*')",
        {"description": "text/event-stream: event `decision`, id = the record's event_id, data = a "
                        "DecisionRecord (#/components/schemas/DecisionRecord)",
         "content": {"text/event-stream": {"schema": {"type": "string"}}}},
        params=[{"name": "Last-Event-ID", "in": "header", "schema": {"type": "string", "maxLength": 200}},
                {"name": "last_event_id", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                HISTORY, {"name": "access_token", "in": "query", "schema": {"type": "string"}}],
        errors=(400, 401, 403), security=STREAM_SECURE)},
    f"{T}/status": {"get": _get("Status aggregates of one tenant", _json(_ref("TenantStatus"), "status"),
                                params=[TENANT])},
    f"{T}/exceptions": {
        "post": _post("Ingest one exception or a list; accepted ones go to the exceptions topic",
                      {"required": True, "content": {JSON: {"schema": {"oneOf": [
                          _ref("RawException"), {"type": "array", "minItems": 1, "maxItems": 1000,
                                                 "items": _ref("RawException")}]}}}},
                      "202", _json(_ref("IngestResult"), "at least one accepted; per-item errors listed"),
                      params=[TENANT], errors=WRITE_ERRORS),
        "get": _get("List exceptions, newest first", _json(_ref("ExceptionPage"), "one page"), params=[
            TENANT,
            {"name": "status", "in": "query", "description": "comma-separated", "schema": {"type": "string"}},
            {"name": "severity", "in": "query", "description": "comma-separated", "schema": {"type": "string"}},
            {"name": "type", "in": "query", "description": "exception types, comma-separated", "schema": {"type": "string"}},
            {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            LIMIT, {"name": "cursor", "in": "query", "schema": {"type": "string"}}])},
    f"{T}/exceptions/{{exception_id}}": {"get": _get(
        "One exception with its status, timeline and decisions", _json(_ref("ExceptionDetail"), "the record"),
        params=[TENANT, EXCEPTION_ID])},
    f"{T}/exceptions/{{exception_id}}/playbook": {"get": _get(
        "The exception's playbook and step states", _json(_ref("Playbook"), "playbook"),
        params=[TENANT, EXCEPTION_ID])},
    f"{T}/exceptions/{{exception_id}}/similar": {"get": _get(
        "The tenant's closest past exceptions to this one: score, why they matched, outcome",
        _json(_ref("SimilarCases"), "closest first"),
        params=[TENANT, EXCEPTION_ID, {"name": "limit", "in": "query",
                                       "schema": {"type": "integer", "minimum": 1, "maximum": 50}}])},
    f"{T}/copilot": {"post": _post(
        "Ask the read-only copilot about the tenant's exceptions; answers cite retrieved records",
        {"required": True, "content": {JSON: {"schema": _ref("CopilotQuestion")}}},
        "200", _json(_ref("CopilotAnswer"), "the answer"), params=[TENANT],
        errors=(400, 401, 403, 404, 413, 415, 422))},
    f"{T}/copilot/questions": {"get": _get(
        "The copilot's audit trail (admin): who asked what, when, and what was cited",
        _json({"type": "object", "properties": {"tenant_id": {"type": "string"},
                                                "items": {"type": "array", "items": {"type": "object"}}}},
              "newest first"),
        params=[TENANT, {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                LIMIT], errors=(400, 401, 403, 404))},
    f"{T}/exceptions/{{exception_id}}/tool-executions": {"get": _get(
        "The exception's tool executions, requests and responses with secrets masked",
        _json({"type": "object", "properties": {
            "tenant_id": {"type": "string"}, "exception_id": {"type": "string"},
            "items": {"type": "array", "items": _ref("ToolExecution")}}}, "tool executions"),
        params=[TENANT, EXCEPTION_ID])},
    f"{T}/exceptions/{{exception_id}}/playbook/steps/{{step}}/complete": {"post": _post(
        "Complete a playbook step (operator): a command to the steps topic",
        {"required": True, "content": {JSON: {"schema": _ref("StepCompletion")}}},
        "202", _json(_ref("Accepted"), "command produced"),
        params=[TENANT, EXCEPTION_ID, {"name": "step", "in": "path", "required": True,
                                       "schema": {"type": "integer", "minimum": 0, "maximum": 10000}}],
        errors=(*WRITE_ERRORS, 409))},
    f"{T}/decisions/stream": {"get": _get(
        "SSE of the tenant's decisions (fed from the decisions topic)",
        {"description": "text/event-stream: event `decision`, id = the record's event_id, data = a "
                        "DecisionRecord (#/components/schemas/DecisionRecord)",
         "content": {"text/event-stream": {"schema": {"type": "string"}}}},
        params=[TENANT, {"name": "Last-Event-ID", "in": "header", "schema": {"type": "string", "maxLength": 200}},
                {"name": "last_event_id", "in": "query", "schema": {"type": "string", "maxLength": 200}},
                HISTORY, {"name": "access_token", "in": "query", "schema": {"type": "string"}}],
        security=STREAM_SECURE)},
    f"{T}/approvals": {"get": _get("Approvals (filter ?status=pending; ?order=oldest for a queue)", _json({"type": "object", "properties": {
        "tenant_id": {"type": "string"}, "items": {"type": "array", "items": _ref("Approval")}}}, "approvals"),
        params=[TENANT, {"name": "status", "in": "query", "schema": {"type": "string", "minLength": 1, "maxLength": 200}},
                LIMIT, {"name": "order", "in": "query", "description": "by requested_at; default newest",
                        "schema": {"enum": ["newest", "oldest"]}}])},
    f"{T}/approvals/{{approval_id}}/approve": {"post": _post(
        "Approve (operator): a command to the approvals topic", ANSWER_BODY, "202", _json(_ref("Accepted"), "command produced"),
        params=[TENANT, {"name": "approval_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        errors=(*WRITE_ERRORS, 409))},
    f"{T}/approvals/{{approval_id}}/reject": {"post": _post(
        "Reject (operator): a command to the approvals topic", ANSWER_BODY, "202", _json(_ref("Accepted"), "command produced"),
        params=[TENANT, {"name": "approval_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        errors=(*WRITE_ERRORS, 409))},
    f"{T}/dlq": {"get": _get("Dead letters, newest first, with error headers (sizes, not bytes)", _json({"type": "object", "properties": {
        "tenant_id": {"type": "string"}, "items": {"type": "array", "items": _ref("DeadLetter")},
        "next_before_id": {"type": ["integer", "null"]}}}, "dead letters"),
        params=[TENANT, LIMIT, {"name": "before_id", "in": "query", "schema": {"type": "integer", "minimum": 1}}])},
    f"{T}/dlq/{{id}}": {"get": _get(
        "One dead letter with its key and value (value up to 1 MiB)", _json(_ref("DeadLetter"), "dead letter"),
        params=[TENANT, {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}])},
    f"{T}/dlq/{{id}}/replay": {"post": _post(
        "Re-publish a dead letter to its original topic (operator), once unless ?force=true; recorded as an "
        "event. A letter whose value was cut to fit the DLQ (header sentinai.value.truncated) is a 409",
        None, "202",
        _json({"type": "object", "properties": {"status": {"const": "accepted"}, "id": {"type": "integer"},
                                                "topic": {"type": "string"}, "event_id": {"type": "string"}}}, "replayed"),
        params=[TENANT, {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
                {"name": "force", "in": "query", "schema": {"type": "string", "enum": ["true", "false"]},
                 "description": "replay a letter that was replayed already (409 without it)"}],
        errors=(400, 401, 403, 404, 409, 503))},
    f"{T}/packs": {
        "get": _get("The tenant's pack versions", _json({"type": "object", "properties": {
            "tenant_id": {"type": "string"}, "versions": {"type": "array", "items": {"type": "object"}}}}, "versions"),
            params=[TENANT]),
        "put": {**_post("Validate, store and activate packs (admin)",
                        {"required": True, "content": {JSON: {"schema": _ref("PackUpload")}}}, "200",
                        _json({"type": "object", "properties": {"tenant_id": {"type": "string"},
                                                                "activated": {"type": "array", "items": {"type": "object"}}}},
                              "activated versions"), params=[TENANT], errors=(400, 401, 403, 404, 413, 415, 422)),
                "responses": {
                    "200": _json({"type": "object", "properties": {
                        "tenant_id": {"type": "string"}, "activated": {"type": "array", "items": {"type": "object"}}}},
                        "activated versions"),
                    "202": _json(_ref("ProposalAnswer"), "the tenant requires a second approver: a proposal"),
                    **_errors(400, 401, 403, 404, 413, 415, 422)}}},
    f"{T}/packs/proposals": {
        "post": _post("Propose a pack change (admin): stored, diffed, its what-if report made in the background",
                      {"required": True, "content": {JSON: {"schema": _ref("PackUpload")}}}, "202",
                      _json(_ref("ProposalAnswer"), "the proposal"), params=[TENANT],
                      errors=(400, 401, 403, 404, 413, 415, 422)),
        "get": _get("The tenant's pack proposals, newest first", _json({"type": "object", "properties": {
            "tenant_id": {"type": "string"}, "items": {"type": "array", "items": {"type": "object"}}}}, "proposals"),
            params=[TENANT, {"name": "status", "in": "query", "schema": {"type": "string", "minLength": 1,
                                                                          "maxLength": 200}}, LIMIT])},
    f"{T}/packs/proposals/{{proposal_id}}": {"get": _get(
        "One proposal: documents, diff, what-if report", _json(_ref("Proposal"), "the proposal"),
        params=[TENANT, PROPOSAL_ID])},
    f"{T}/packs/proposals/{{proposal_id}}/approve": {"post": _post(
        "Approve a proposal (admin, not its proposer): activates its versions", COMMENT_BODY, "200",
        _json(_ref("Proposal"), "approved"), params=[TENANT, PROPOSAL_ID],
        errors=(400, 401, 403, 404, 409, 413, 415, 422))},
    f"{T}/packs/proposals/{{proposal_id}}/reject": {"post": _post(
        "Reject a proposal (admin)", COMMENT_BODY, "200", _json(_ref("Proposal"), "rejected"),
        params=[TENANT, PROPOSAL_ID], errors=(400, 401, 403, 404, 409, 413, 415, 422))},
    f"{T}/packs/rollback": {"post": {**_post(
        "Activate an earlier version again (admin); a proposal when the tenant requires a second approver",
        {"required": True, "content": {JSON: {"schema": {"type": "object", "additionalProperties": False,
                                                         "properties": {"version_id": {"type": "integer"},
                                                                        "comment": {"type": "string"}}}}}},
        "200", _json({"type": "object"}, "activated"), params=[TENANT],
        errors=(400, 401, 403, 404, 409, 413, 415, 422)),
        "responses": {"200": _json({"type": "object"}, "activated"),
                      "202": _json(_ref("ProposalAnswer"), "a proposal"),
                      **_errors(400, 401, 403, 404, 409, 413, 415, 422)}}},
    f"{T}/packs/events": {"get": _get(
        "The packs' timeline, newest first: PackChangeProposed, PackChangeApproved, PackChangeRejected, "
        "PackVersionActivated", _json({"type": "object", "properties": {
            "tenant_id": {"type": "string"}, "items": {"type": "array", "items": {"type": "object"}}}}, "events"),
        params=[TENANT, {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 1}}])},
    f"{T}/whatif": {"post": _post(
        "Re-decide the tenant's stored exceptions with candidate packs and the active ones (operator)",
        {"required": True, "content": {JSON: {"schema": _ref("PackUpload")}}}, "200",
        _json(_ref("WhatIfReport"), "the report"),
        params=[TENANT, {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                {"name": "max_changed", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 10000}}],
        errors=(400, 401, 403, 404, 413, 415, 422))},
    f"{T}/exceptions/{{exception_id}}/simulate": {"post": _post(
        "The decision a stored exception would get now, with candidate packs (body) or the active ones (no body)",
        {"required": False, "content": {JSON: {"schema": _ref("PackUpload")}}}, "200",
        _json({"type": "object", "required": ["decision", "packs"], "properties": {
            "packs": {"enum": ["active", "candidate"]}, "decision": {"type": "object"},
            "active_decision": {"type": "object"}, "changed": {"type": "array", "items": {"type": "string"}}}},
            "the decision with every stage's evidence"),
        params=[TENANT, EXCEPTION_ID], errors=(400, 401, 403, 404, 409, 413, 415, 422))},
    f"{T}/packs/diff": {"get": _get(
        "What changed between two versions of one pack (the tenant's or its domain's)",
        _json(_ref("PackDiff"), "the changes, in document order"),
        params=[TENANT, {"name": "from", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 1}},
                {"name": "to", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 1}}],
        errors=(400, 401, 404, 422))},
}


@cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "SentinAI web API", "version": "1", "description":
                 "Tenant-scoped API of SentinAI. Auth: 'Authorization: Bearer <key>'. Errors are "
                 "{error, detail, path}. No key: 401; another tenant's resource: 404; role too low: 403."},
        "servers": [{"url": "/"}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS, "responses": RESPONSES,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "API key from `sentinai keys create`"},
                "access_token": {"type": "apiKey", "in": "query", "name": "access_token",
                                 "description": "The key, for EventSource clients (stream routes only)"}},
        },
    }


def openapi_document() -> dict[str, Any]:
    """A fresh copy of the document (callers may mutate it)."""
    return copy.deepcopy(_document())
