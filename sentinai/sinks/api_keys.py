"""API keys: a high-entropy token shown once, stored as its sha256, bound to a tenant and a role.

A key whose tenant is ``*`` may only be an admin key; it reaches every tenant.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Literal

import asyncpg

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
ALL_TENANTS = "*"
TOKEN_PREFIX = "snt_"
TENANT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,99}")


@dataclass(frozen=True)
class Principal:
    key_id: str
    tenant_id: str
    role: Role

    @property
    def all_tenants(self) -> bool:
        return self.tenant_id == ALL_TENANTS and self.role == "admin"

    def can_access(self, tenant_id: str) -> bool:
        return self.all_tenants or self.tenant_id == tenant_id

    def has_role(self, role: Role) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_api_key(pool: asyncpg.Pool, tenant_id: str, role: str) -> str:
    """Store a new key and return its plaintext (the only time it is ever seen)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if tenant_id == ALL_TENANTS:
        if role != "admin":
            raise ValueError("only an admin key may have tenant '*'")
    elif not TENANT_ID.fullmatch(tenant_id):
        raise ValueError(f"invalid tenant id {tenant_id!r}")
    key_id = secrets.token_hex(8)
    token = f"{TOKEN_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    await pool.execute(
        "INSERT INTO api_keys (key_id, key_hash, tenant_id, role) VALUES ($1, $2, $3, $4)",
        key_id, hash_token(token), tenant_id, role,
    )
    return token


async def authenticate(pool: asyncpg.Pool, token: str) -> Principal | None:
    """The principal of a live (not revoked) key, or None."""
    if not token or len(token) > 512:
        return None
    row = await pool.fetchrow(
        "SELECT key_id, tenant_id, role FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        hash_token(token),
    )
    if row is None:
        return None
    return Principal(key_id=row["key_id"], tenant_id=row["tenant_id"], role=row["role"])


async def key_is_live(pool: asyncpg.Pool, key_id: str) -> bool:
    """Whether the key ``key_id`` exists and is not revoked (an open stream asks again)."""
    return bool(await pool.fetchval(
        "SELECT count(*) FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL", key_id))


async def revoke_api_key(pool: asyncpg.Pool, key_id: str) -> bool:
    status = await pool.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", key_id)
    return status.endswith(" 1")
