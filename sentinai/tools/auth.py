"""Credentials of a tool call, looked up by name at call time and never stored or logged."""

from __future__ import annotations

import base64
from collections.abc import Mapping

from sentinai.core.packs.common import ToolAuth


class MissingSecret(Exception):
    """The environment variable a tool's auth names is unset or empty (the name is not secret)."""


def auth_headers(auth: ToolAuth, environ: Mapping[str, str]) -> dict[str, str]:
    """The headers that authenticate a call; `auth.secret_ref` names an environment variable.

    bearer and oauth2 (a token issued out of band) send `Authorization: Bearer <value>`;
    api_key sends the value in `auth.header` (default `X-Api-Key`); basic sends
    `Authorization: Basic base64(<value>)` where the value is `user:password`.
    """
    if auth.type == "none" or auth.secret_ref is None:
        return {}
    secret = environ.get(auth.secret_ref)
    if not secret:
        raise MissingSecret(f"environment variable {auth.secret_ref} is not set")
    if auth.type == "api_key":
        return {auth.header or "X-Api-Key": secret}
    if auth.type == "basic":
        return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}
    return {"Authorization": f"Bearer {secret}"}
