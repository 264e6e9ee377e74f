"""`sentinai packs rollback`: activate an earlier version of a tenant's packs again.

When the tenant requires a second approver, the rollback is a proposal (with its what-if report)
that an admin approves through the API. The actor recorded is ``cli:<login name>``.
"""

from __future__ import annotations

import getpass
import sys

from sentinai.core.packs import PackValidationError
from sentinai.settings import Settings

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_NOT_FOUND = 2


async def rollback(settings: Settings, tenant: str, version_id: int | None, comment: str | None) -> int:
    from sentinai.sinks.pack_proposals import create_proposal, tenant_requires_approval
    from sentinai.sinks.pack_store import rollback_target, store_packs
    from sentinai.sinks.pool import open_pool
    from sentinai.whatif import active_and_candidate, make_proposal_report

    actor = f"cli:{getpass.getuser()}"
    async with open_pool(settings.require_database(), max_size=2) as pool:
        try:
            kind, document = await rollback_target(pool, tenant, version_id)
        except LookupError as err:
            print(f"error: {err}", file=sys.stderr)
            return EXIT_NOT_FOUND
        domains, tenants = ([document], []) if kind == "domain" else ([], [document])
        try:
            await active_and_candidate(pool, tenant, domains, tenants)
        except PackValidationError as err:
            for issue in err.issues:
                print(issue, file=sys.stderr)
            return EXIT_INVALID
        if await tenant_requires_approval(pool, tenant):
            proposal = await create_proposal(pool, tenant, domains, tenants, proposed_by=actor,
                                             kind="rollback", comment=comment)
            await make_proposal_report(pool, tenant, proposal["id"],
                                       window_days=settings.whatif_window_days)
            print(f"{tenant} requires a second approver: proposal {proposal['id']} "
                  f"(POST /api/v1/tenants/{tenant}/packs/proposals/{proposal['id']}/approve)")
            return EXIT_OK
        activated = await store_packs(pool, domains, tenants, created_by=actor)
    for version in activated:
        print(f"activated {version['kind']} pack {version['name']} version {version['version']} "
              f"(id {version['id']})")
    if not activated:
        print("nothing to do: that version is the active one")
    return EXIT_OK
