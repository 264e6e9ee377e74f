"""The OpenAPI document's paths: every route the web view serves, its parameters and its answers
(a test checks every route is here), and the error responses they share."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, get_args

from sentinai.api.openapi.schemas import ref
from sentinai.core.models import Severity, Status
from sentinai.core.run import ApprovalState

JSON = "application/json"
CONSOLE_FILES = ("app.js", "api.js", "dom.js", "records.js", "router.js", "actions.js", "overview.js",
                 "exceptions.js", "exception.js", "approvals.js", "deadletters.js", "packs.js", "style.css",
                 "index.html")
"""The console's files: ES modules (``app.js`` imports the others; no build step), CSS and HTML."""


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"$ref": f"#/components/responses/E{c}"} for c in codes}


TENANT = {"name": "tenant", "in": "path", "required": True, "description": "Tenant id",
          "schema": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._\\-]{0,99}$"}}
EXCEPTION_ID = {"name": "exception_id", "in": "path", "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
SECURE = [{"bearer": []}]
STREAM_SECURE = [{"bearer": []}, {"stream_cookie": []}, {"access_token": []}]
HISTORY = {"name": "history", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 1000},
           "description": "Open on up to this many of the latest decisions (from the feed's ring), "
                          "then the live stream; ignored when resuming with Last-Event-ID"}
LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}}
PROPOSAL_ID = {"name": "proposal_id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1}}
COMMENT_BODY = {"required": True, "content": {JSON: {"schema": {
    "type": "object", "required": ["comment"], "additionalProperties": False,
    "properties": {"comment": {"type": "string", "minLength": 1, "maxLength": 2000}}}}}}
ANSWER_BODY = {"required": True, "content": {JSON: {"schema": ref("Answer")}}}


def _comma_list(name: str, choices: Iterable[str]) -> dict[str, Any]:
    """A query parameter taking a comma-separated list of ``choices`` (any case; others are a 400)."""
    return {"name": name, "in": "query", "style": "form", "explode": False,
            "description": "comma-separated, in any case; another value is a 400 naming the allowed ones",
            "schema": {"type": "array", "minItems": 1, "maxItems": 20,
                       "items": {"enum": [str(choice) for choice in choices]}}}


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



RESPONSES = {f"E{code}": _json(ref("Error"), text) for code, text in {
    400: "Bad input (bad JSON, unknown or mistyped field, bad parameter or cursor)",
    401: "No or invalid API key", 403: "The key's role is too low", 404: "Unknown tenant or resource",
    409: "Conflict with the current state", 413: "Body over the size limit", 415: "Body is not JSON",
    422: "Input failed validation", 429: "Busy: try again later", 503: "Broker unavailable"}.items()}

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
                        "responses": {"200": _json(ref("Health"), "health")}}},
    "/health/ready": {"get": {"summary": "Readiness: 503 when the broker or the database is unreachable",
                              "tags": ["ops"], "responses": {"200": _json(ref("Health"), "ready"),
                                                             "503": _json(ref("Health"), "not ready")}}},
    "/metrics": {"get": {"summary": "Prometheus metrics (sentinai_*); a bearer token when SENTINAI_METRICS_TOKEN is set",
                         "tags": ["ops"], "responses": {
        "200": {"description": "text exposition format", "content": {"text/plain": {"schema": {"type": "string"}}}},
        "401": _json(ref("Error"), "the metrics token is missing or wrong")}}},
    "/api/v1/openapi.json": {"get": {"summary": "This document", "tags": ["ops"],
                                     "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")}}},
    "/api/v1/whoami": {"get": _get("The key's tenant, role and visible tenants", _json({"type": "object", "properties": {
        "key_id": {"type": "string"}, "tenant_id": {"type": "string"}, "role": {"type": "string"},
        "tenants": {"type": "array", "items": {"type": "string"}}}}, "identity"), errors=(400, 401))},
    "/api/v1/stream-session": {
        "post": _post("Set the stream cookie (HttpOnly, SameSite=Strict, path /api/v1/) to the request's key, "
                      "so that an EventSource opens the stream routes with no key in their URL", None,
                      "204", {"description": "the cookie is set (Set-Cookie: sentinai_stream=…)"},
                      params=[], errors=(400, 401)),
        "delete": {"summary": "Clear the stream cookie", "tags": ["api"], "parameters": [], "security": [],
                   "responses": {"204": {"description": "the cookie is cleared"}, **_errors(400)}}},
    "/api/v1/status": {"get": _get("Status aggregates of every tenant the key sees", _json({"type": "object", "properties": {
        "generated_at": {"type": "string"}, "tenants": {"type": "array", "items": ref("TenantStatus")}}}, "status"),
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
    f"{T}/status": {"get": _get("Status aggregates of one tenant", _json(ref("TenantStatus"), "status"),
                                params=[TENANT])},
    f"{T}/exceptions": {
        "post": _post("Ingest one exception or a list; accepted ones go to the exceptions topic",
                      {"required": True, "content": {JSON: {"schema": {"oneOf": [
                          ref("RawException"), {"type": "array", "minItems": 1, "maxItems": 1000,
                                                 "items": ref("RawException")}]}}}},
                      "202", _json(ref("IngestResult"), "at least one accepted; per-item errors listed"),
                      params=[TENANT], errors=WRITE_ERRORS),
        "get": _get("List exceptions, newest first", _json(ref("ExceptionPage"), "one page"), params=[
            TENANT,
            _comma_list("status", Status), _comma_list("severity", Severity),
            {"name": "type", "in": "query", "description": "exception types, comma-separated", "schema": {"type": "string"}},
            {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
            LIMIT, {"name": "cursor", "in": "query", "schema": {"type": "string"}}])},
    f"{T}/exceptions/{{exception_id}}": {"get": _get(
        "One exception with its status, timeline and decisions", _json(ref("ExceptionDetail"), "the record"),
        params=[TENANT, EXCEPTION_ID])},
    f"{T}/exceptions/{{exception_id}}/playbook": {"get": _get(
        "The exception's playbook and step states", _json(ref("Playbook"), "playbook"),
        params=[TENANT, EXCEPTION_ID])},
    f"{T}/exceptions/{{exception_id}}/similar": {"get": _get(
        "The tenant's closest past exceptions to this one: score, why they matched, outcome",
        _json(ref("SimilarCases"), "closest first"),
        params=[TENANT, EXCEPTION_ID, {"name": "limit", "in": "query",
                                       "schema": {"type": "integer", "minimum": 1, "maximum": 50}}])},
    f"{T}/copilot": {"post": _post(
        "Ask the read-only copilot about the tenant's exceptions; answers cite retrieved records",
        {"required": True, "content": {JSON: {"schema": ref("CopilotQuestion")}}},
        "200", _json(ref("CopilotAnswer"), "the answer"), params=[TENANT],
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
            "items": {"type": "array", "items": ref("ToolExecution")}}}, "tool executions"),
        params=[TENANT, EXCEPTION_ID])},
    f"{T}/exceptions/{{exception_id}}/playbook/steps/{{step}}/complete": {"post": _post(
        "Complete a playbook step (operator): a command to the steps topic",
        {"required": True, "content": {JSON: {"schema": ref("StepCompletion")}}},
        "202", _json(ref("Accepted"), "command produced"),
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
        "tenant_id": {"type": "string"}, "items": {"type": "array", "items": ref("Approval")}}}, "approvals"),
        params=[TENANT, {"name": "status", "in": "query", "description": "in any case (pending is PENDING)",
                         "schema": {"enum": [*get_args(ApprovalState)]}},
                LIMIT, {"name": "order", "in": "query", "description": "by requested_at; default newest",
                        "schema": {"enum": ["newest", "oldest"]}}])},
    f"{T}/approvals/{{approval_id}}/approve": {"post": _post(
        "Approve (operator): a command to the approvals topic", ANSWER_BODY, "202", _json(ref("Accepted"), "command produced"),
        params=[TENANT, {"name": "approval_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        errors=(*WRITE_ERRORS, 409))},
    f"{T}/approvals/{{approval_id}}/reject": {"post": _post(
        "Reject (operator): a command to the approvals topic", ANSWER_BODY, "202", _json(ref("Accepted"), "command produced"),
        params=[TENANT, {"name": "approval_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        errors=(*WRITE_ERRORS, 409))},
    f"{T}/dlq": {"get": _get("Dead letters, newest first, with error headers (sizes, not bytes)", _json({"type": "object", "properties": {
        "tenant_id": {"type": "string"}, "items": {"type": "array", "items": ref("DeadLetter")},
        "next_before_id": {"type": ["integer", "null"]}}}, "dead letters"),
        params=[TENANT, LIMIT, {"name": "before_id", "in": "query", "schema": {"type": "integer", "minimum": 1}}])},
    f"{T}/dlq/{{id}}": {"get": _get(
        "One dead letter with its key and value (value up to 1 MiB)", _json(ref("DeadLetter"), "dead letter"),
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
        "get": _get("A page of the tenant's pack versions, newest first, and the active ones", _json(
            {"type": "object", "properties": {
                "tenant_id": {"type": "string"}, "versions": {"type": "array", "items": {"type": "object"}},
                "next_before_id": {"type": ["integer", "null"]},
                "active": {"type": "array", "items": {"type": "object"}}}}, "versions"),
            params=[TENANT, {**LIMIT, "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                    {"name": "before_id", "in": "query", "schema": {"type": "integer", "minimum": 1}}]),
        "put": {**_post("Validate, store and activate packs (admin)",
                        {"required": True, "content": {JSON: {"schema": ref("PackUpload")}}}, "200",
                        _json({"type": "object", "properties": {"tenant_id": {"type": "string"},
                                                                "activated": {"type": "array", "items": {"type": "object"}}}},
                              "activated versions"), params=[TENANT], errors=(400, 401, 403, 404, 413, 415, 422, 429)),
                "responses": {
                    "200": _json({"type": "object", "properties": {
                        "tenant_id": {"type": "string"}, "activated": {"type": "array", "items": {"type": "object"}}}},
                        "activated versions"),
                    "202": _json(ref("ProposalAnswer"), "the tenant requires a second approver: a proposal"),
                    **_errors(400, 401, 403, 404, 413, 415, 422, 429)}}},
    f"{T}/packs/proposals": {
        "post": _post("Propose a pack change (admin): stored, diffed, its what-if report made in the background",
                      {"required": True, "content": {JSON: {"schema": ref("PackUpload")}}}, "202",
                      _json(ref("ProposalAnswer"), "the proposal"), params=[TENANT],
                      errors=(400, 401, 403, 404, 413, 415, 422, 429)),
        "get": _get("The tenant's pack proposals, newest first", _json({"type": "object", "properties": {
            "tenant_id": {"type": "string"}, "items": {"type": "array", "items": {"type": "object"}}}}, "proposals"),
            params=[TENANT, {"name": "status", "in": "query", "schema": {"type": "string", "minLength": 1,
                                                                          "maxLength": 200}}, LIMIT])},
    f"{T}/packs/proposals/{{proposal_id}}": {"get": _get(
        "One proposal: documents, diff, what-if report", _json(ref("Proposal"), "the proposal"),
        params=[TENANT, PROPOSAL_ID])},
    f"{T}/packs/proposals/{{proposal_id}}/approve": {"post": _post(
        "Approve a proposal (admin, not its proposer): activates its versions", COMMENT_BODY, "200",
        _json(ref("Proposal"), "approved"), params=[TENANT, PROPOSAL_ID],
        errors=(400, 401, 403, 404, 409, 413, 415, 422))},
    f"{T}/packs/proposals/{{proposal_id}}/reject": {"post": _post(
        "Reject a proposal (admin)", COMMENT_BODY, "200", _json(ref("Proposal"), "rejected"),
        params=[TENANT, PROPOSAL_ID], errors=(400, 401, 403, 404, 409, 413, 415, 422))},
    f"{T}/packs/rollback": {"post": {**_post(
        "Activate an earlier version again (admin); a proposal when the tenant requires a second approver",
        {"required": True, "content": {JSON: {"schema": {"type": "object", "additionalProperties": False,
                                                         "properties": {"version_id": {"type": "integer"},
                                                                        "comment": {"type": "string"}}}}}},
        "200", _json({"type": "object"}, "activated"), params=[TENANT],
        errors=(400, 401, 403, 404, 409, 413, 415, 422, 429)),
        "responses": {"200": _json({"type": "object"}, "activated"),
                      "202": _json(ref("ProposalAnswer"), "a proposal"),
                      **_errors(400, 401, 403, 404, 409, 413, 415, 422, 429)}}},
    f"{T}/packs/events": {"get": _get(
        "The packs' timeline, newest first: PackChangeProposed, PackChangeApproved, PackChangeRejected, "
        "PackVersionActivated", _json({"type": "object", "properties": {
            "tenant_id": {"type": "string"}, "items": {"type": "array", "items": {"type": "object"}}}}, "events"),
        params=[TENANT, {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 1}}])},
    f"{T}/whatif": {"post": _post(
        "Re-decide the tenant's stored exceptions with candidate packs and the active ones (operator)",
        {"required": True, "content": {JSON: {"schema": ref("PackUpload")}}}, "200",
        _json(ref("WhatIfReport"), "the report"),
        params=[TENANT, {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                {"name": "until", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                {"name": "max_changed", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 10000}}],
        errors=(400, 401, 403, 404, 413, 415, 422, 429))},
    f"{T}/exceptions/{{exception_id}}/simulate": {"post": _post(
        "The decision a stored exception would get now, with candidate packs (body) or the active ones (no body)",
        {"required": False, "content": {JSON: {"schema": ref("PackUpload")}}}, "200",
        _json({"type": "object", "required": ["decision", "packs"], "properties": {
            "packs": {"enum": ["active", "candidate"]}, "decision": {"type": "object"},
            "active_decision": {"type": "object"}, "changed": {"type": "array", "items": {"type": "string"}}}},
            "the decision with every stage's evidence"),
        params=[TENANT, EXCEPTION_ID], errors=(400, 401, 403, 404, 409, 413, 415, 422))},
    f"{T}/packs/diff": {"get": _get(
        "What changed between two versions of one pack (the tenant's or its domain's)",
        _json(ref("PackDiff"), "the changes, in document order"),
        params=[TENANT, {"name": "from", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 1}},
                {"name": "to", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 1}}],
        errors=(400, 401, 404, 422))},
}
