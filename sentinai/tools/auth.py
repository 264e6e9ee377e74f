"""The headers that carry a tool call's credential (the value comes from `secrets.SecretStore`)."""

from __future__ import annotations

import base64

from sentinai.core.packs.common import ToolAuth
from sentinai.core.packs.headers import credential_header_problem


class ForbiddenHeader(Exception):
    """The pack names a header that must not carry a credential (checked again at call time)."""


def auth_headers(auth: ToolAuth, secret: str) -> dict[str, str]:
    """bearer and oauth2 (a token issued out of band) send `Authorization: Bearer <secret>`;
    api_key sends the secret in `auth.header` (default `X-Api-Key`); basic sends
    `Authorization: Basic base64(<secret>)` where the secret is `user:password`.
    """
    if auth.type == "none":
        return {}
    if auth.type == "api_key":
        header = auth.header or "X-Api-Key"
        problem = credential_header_problem(header)
        if problem is not None:
            raise ForbiddenHeader(problem)
        return {header: secret}
    if auth.type == "basic":
        return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}
    return {"Authorization": f"Bearer {secret}"}
