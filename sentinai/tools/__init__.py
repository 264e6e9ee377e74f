"""Governed outbound tool calls: schema-checked, SSRF-guarded, bounded, retried and redacted.

Import from the modules: `invoker.ToolInvoker` (the one entry point that does I/O),
`policy.ToolPolicy`, `result.ToolResult` and `redaction.redact_secrets`. This package file stays
empty so that the pure core can use `redaction` without importing aiohttp.
"""
