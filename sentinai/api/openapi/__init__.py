"""The OpenAPI 3.1 document of the web view, written as data: its paths (``paths``; a test checks
every route is there) and its component schemas (``schemas``)."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from sentinai.api.openapi.paths import CONSOLE_FILES, PATHS, RESPONSES
from sentinai.api.openapi.schemas import SCHEMAS

__all__ = ["CONSOLE_FILES", "openapi_document"]


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
                "stream_cookie": {"type": "apiKey", "in": "cookie", "name": "sentinai_stream",
                                  "description": "The key, set by POST /api/v1/stream-session (stream routes only)"},
                "access_token": {"type": "apiKey", "in": "query", "name": "access_token",
                                 "description": "The key, for EventSource clients (stream routes only)"}},
        },
    }


def openapi_document() -> dict[str, Any]:
    """A fresh copy of the document (callers may mutate it)."""
    return copy.deepcopy(_document())
