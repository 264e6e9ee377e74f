"""Which HTTP header may carry a tool's credential (`auth.header` of an api_key tool).

A pack that could name any header could rewrite the request itself: `Host` steers it to another
virtual host, `Content-Length` or `Transfer-Encoding` desynchronise it, hop-by-hop headers change
what a proxy does, `Cookie` rides on a session. Only an ordinary end-to-end header name is allowed.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}")
"""RFC 9110 field-name characters (a token), at most 64 of them."""

FORBIDDEN_HEADERS = frozenset({
    "host", "content-length", "content-type", "content-encoding", "transfer-encoding", "te",
    "trailer", "connection", "keep-alive", "upgrade", "expect", "cookie", "set-cookie", "via",
    "forwarded", "idempotency-key", "accept", "user-agent", "proxy-authorization",
    "proxy-authenticate", "proxy-connection", "max-forwards", "range", "origin", "referer",
})
FORBIDDEN_PREFIXES = ("proxy-", "sec-", "x-forwarded-", "x-real-ip", ":")


def credential_header_problem(name: str) -> str | None:
    """Why `name` cannot carry a credential, or None when it can."""
    if not _TOKEN.fullmatch(name):
        return f"{name[:80]!r} is not a valid header name"
    lowered = name.lower()
    if lowered in FORBIDDEN_HEADERS or lowered.startswith(FORBIDDEN_PREFIXES):
        return f"{name!r} cannot carry a credential (it controls the request itself)"
    return None
