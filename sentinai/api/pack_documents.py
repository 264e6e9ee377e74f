"""Candidate pack documents in a request body: their shape, who may send them, their validity.

Shared by every route that takes packs (PUT packs, proposals, what-if, simulate). A body is either
``{"domains": [...], "tenants": [...]}`` or one tenant pack (with ``tenantId``). The documents are
validated by the core against the active set, the new ones replacing the active ones with the same
``domainName`` / ``tenantId``, in the web view's validator process (`sentinai.api.pack_validator`):
the given packs and those a given domain pack concerns, not every tenant's. Every issue comes back
in one 422 with its file and path.

A tenant's candidates are validated one at a time: a second while one is validated (or waits for
the validator, which takes one validation at a time for the whole web view) is a 429 ``busy``, so
that one tenant cannot queue the others' uploads out. A validation that could not finish (its
child hung or died) is a 503 ``validator_unavailable``.

A route that changes packs (``change=True``: PUT, a proposal, a rollback) takes one of the tenant's
pack changes an hour (`sentinai.api.pack_change_rate`) once the body passed those refusals, just
before it is validated: a 422 for the wrong tenant, a 403 or a 429 ``busy`` costs none.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sentinai.api.errors import ApiError
from sentinai.api.pack_change_rate import charge_pack_change
from sentinai.api.pack_validator import ValidatorUnavailable, validate_packs
from sentinai.api.state import POOL, SETTINGS, VALIDATING
from sentinai.core.packs import PackValidationError
from sentinai.core.whatif import merge_documents
from sentinai.sinks.api_keys import Principal
from sentinai.sinks.pack_store import active_pack_documents

Documents = list[dict[str, Any]]


def _split(body: Any) -> tuple[Documents, Documents]:
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", f"expected a JSON object, got {type(body).__name__}", "body")
    if "tenantId" in body:
        return [], [body]
    unknown = sorted(set(body) - {"domains", "tenants"})
    if unknown or not body:
        raise ApiError(400, "unknown_field" if unknown else "invalid_body",
                       "expected {\"domains\": [...], \"tenants\": [...]} or one tenant pack (with tenantId)",
                       f"body.{unknown[0]}" if unknown else "body")
    parts: list[Documents] = []
    for name in ("domains", "tenants"):
        docs = body.get(name, [])
        if not isinstance(docs, list):
            raise ApiError(422, "invalid_field", f"{name} must be a list of pack documents", f"body.{name}")
        for i, doc in enumerate(docs):
            if not isinstance(doc, dict):
                raise ApiError(422, "invalid_field", f"{name}[{i}] must be a JSON object", f"body.{name}[{i}]")
        parts.append(docs)
    if not parts[0] and not parts[1]:
        raise ApiError(422, "invalid_body", "no pack documents given", "body")
    return parts[0], parts[1]


def _affected(all_domains: Documents, all_tenants: Documents, domains: Documents,
              tenants: Documents) -> tuple[Documents, Documents]:
    """What the change can make invalid: the given tenant packs, every tenant pack of a given
    domain, and the domains of those. Another tenant's active pack is not this upload's concern
    (it was valid when it was stored; one stored before a bound was added is its tenant's to fix),
    and compiling every tenant on each upload cost seconds."""
    changed_domains = {d.get("domainName") for d in domains}
    given = {t.get("tenantId") for t in tenants}
    checked_tenants = [t for t in all_tenants if t.get("tenantId") in given or t.get("domainName") in changed_domains]
    needed = changed_domains | {t.get("domainName") for t in checked_tenants}
    return [d for d in all_domains if d.get("domainName") in needed], checked_tenants


def invalid_packs(err: PackValidationError) -> ApiError:
    """A 422 listing every issue with its file and JSON path."""
    issues = [{"file": i.file, "path": i.path, "message": i.message} for i in err.issues]
    first = issues[0] if issues else {"path": "", "message": str(err)}
    return ApiError(422, "invalid_pack", f"{len(issues)} pack issue(s); first: {first['message']}",
                    first["path"] or "body", extra={"issues": issues})


async def candidate_documents(request: web.Request, who: Principal, tenant: str, body: Any, *,
                              change: bool) -> tuple[Documents, Documents]:
    """The (domain, tenant) documents of ``body``, checked for ``tenant`` and validated (in the
    validator's child process, within the deployment's limits and the tenants' granted secrets)."""
    single = isinstance(body, dict) and "tenantId" in body
    domains, tenants = _split(body)
    for i, doc in enumerate(tenants):
        if doc.get("tenantId") != tenant:
            raise ApiError(422, "tenant_mismatch",
                           f"tenant pack names tenant {str(doc.get('tenantId'))[:100]!r}, not {tenant!r}",
                           "body.tenantId" if single else f"body.tenants[{i}].tenantId")
    if domains and not who.all_tenants:
        raise ApiError(403, "forbidden", "domain packs are shared by tenants: only an admin key for '*' may change them",
                       "body.domains")
    validating = request.app[VALIDATING]
    if tenant in validating:
        raise ApiError(429, "busy", f"candidate packs of tenant {tenant!r} are being validated; one validation "
                       "runs at a time per tenant: send again when it is answered")
    if change:
        charge_pack_change(request, who, tenant)
    validating.add(tenant)
    try:
        await _validate(request, tenant, domains, tenants)
    finally:
        validating.discard(tenant)
    return domains, tenants


async def _validate(request: web.Request, tenant: str, domains: Documents, tenants: Documents) -> None:
    from sentinai.tools.secrets import SecretStore

    settings = request.app[SETTINGS]
    active_domains, active_tenants = await active_pack_documents(request.app[POOL])
    checked_domains, checked_tenants = _affected(merge_documents(active_domains, domains, "domainName"),
                                                 merge_documents(active_tenants, tenants, "tenantId"),
                                                 domains, tenants)
    secrets = SecretStore.from_settings(settings)
    granted = {str(d.get("tenantId")): secrets.granted(str(d.get("tenantId"))) for d in checked_tenants}
    try:
        await validate_packs(request.app, checked_domains, checked_tenants, granted, settings.pack_limits())
    except PackValidationError as err:
        raise invalid_packs(err) from None
    except ValidatorUnavailable as err:
        raise ApiError(503, "validator_unavailable", f"the packs could not be validated: {err}; "
                       "send them again (a pack that keeps this up is too costly to compile)", "body") from None
