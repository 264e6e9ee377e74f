"""The OpenAPI document's component schemas: the bodies the web API reads and writes."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, Any]:
    """A reference to the component schema ``name``."""
    return {"$ref": f"#/components/schemas/{name}"}


SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error", "detail", "path"], "properties": {
        "error": {"type": "string", "description": "machine-readable code"},
        "detail": {"type": "string", "description": "what is wrong, for a person"},
        "path": {"type": "string", "description": "where: body.<field>, query.<name>, header.<name>, or the request path"},
        "issues": {"type": "array", "items": ref("PackIssue")}}},
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
        "fallback_reason": {"type": "string", "description": "why the model's answer was not used, "
                            "or why the model was not asked: `llm_quota: …` when the call could "
                            "exceed the tenant's llmTokensPerMinute"}}},
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
        "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"},
        "first_seen_at": {"type": ["string", "null"], "format": "date-time",
                          "description": "when a worker first saw this occurrence of the exception id (an id sent "
                                         "again after its dedup window is a new occurrence, which replaces the row); "
                                         "null for rows written before occurrences"}}},
    "ExceptionPage": {"type": "object", "required": ["items", "next_cursor"], "properties": {
        "tenant_id": {"type": "string"}, "items": {"type": "array", "items": ref("ExceptionSummary")},
        "next_cursor": {"type": ["string", "null"], "description": "pass as ?cursor= for the next page"}}},
    "Event": {"type": "object", "properties": {
        "event_id": {"type": "string"}, "event_type": {"type": "string"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "actor": {"type": "object", "properties": {"type": {"type": "string"}, "id": {"type": "string"}}},
        "payload": {"type": "object"}}},
    "Decision": {"type": "object", "description": "A decision record (see ARCHITECTURE.md)", "properties": {
        "event_id": {"type": "string"}, "tenant_id": {"type": "string"}, "exception_id": {"type": "string"},
        "stage": {"type": "string"}, "confidence": {"type": "number"},
        "decision": {"type": ["object", "string"], "description": "the stage's record (stage, decision, "
                     "confidence, evidence, next_step), whose fields are also at the top; the verdict's "
                     "text for events of the first release"},
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
    "ExceptionDetail": {"allOf": [ref("ExceptionSummary"), {"type": "object", "properties": {
        "raw_payload": {}, "normalized_context": {},
        "timeline": {"type": "array", "items": ref("Event")},
        "decisions": {"type": "array", "items": ref("Decision")},
        "closest_resolved_case": {"description": "the most similar resolved case of the tenant, "
                                                 "when its score is at least 0.5 (else null)"}}}]},
    "Playbook": {"type": "object", "properties": {
        "tenant_id": {"type": "string"}, "exception_id": {"type": "string"}, "status": {"type": "string"},
        "playbook_id": {"type": ["string", "null"]}, "current_step": {"type": ["integer", "null"]},
        "completed": {"type": "boolean"}, "steps": {"type": "array", "items": {"type": "object"}},
        "events": {"type": "array", "items": ref("Event")}}},
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
        "tenant_id": {"type": "string"}, "from": ref("PackVersion"), "to": ref("PackVersion"),
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
        "key": ref("Bytes"), "value": ref("Bytes"), "value_size": {"type": ["integer", "null"]},
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
        "report": {"oneOf": [{"type": "null"}, ref("WhatIfReport")]}}},
    "ProposalAnswer": {"type": "object", "required": ["tenant_id", "proposal"], "properties": {
        "tenant_id": {"type": "string"}, "proposal": ref("Proposal")}},
    "WhatIfReport": {"type": "object", "required": ["compared", "changed", "changed_by_field"], "properties": {
        "compared": {"type": "integer"}, "changed": {"type": "integer"}, "skipped": {"type": "integer"},
        "changed_by_field": {"type": "object", "additionalProperties": {"type": "integer"}},
        "severity_matrix": {"type": "object"}, "playbook_matrix": {"type": "object"},
        "approval": {"type": "object", "properties": {"newly_required": {"type": "integer"},
                                                      "no_longer_required": {"type": "integer"}}},
        "changed_exceptions": {"type": "array", "items": {"type": "object"}}}},
    "Health": {"type": "object", "required": ["status", "broker", "database"], "properties": {
        "status": {"enum": ["ok", "degraded"]}, "broker": {"enum": ["ok", "unreachable"]},
        "database": {"enum": ["ok", "unreachable"]},
        "workers": {"type": ["integer", "null"], "minimum": 0,
                    "description": "workers running (heartbeat within 30 s); null when the database cannot be asked"},
        "decision_feed": {"type": "string"},
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
