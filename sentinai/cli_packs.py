"""`sentinai packs validate|test` and `sentinai decide`: functions that print and return exit codes.

Argument parsing lives in `sentinai.cli`; these take plain values so tests call them directly.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sentinai.core.engine import decide as decide_exception
from sentinai.core.normalize import RejectedInput, normalize
from sentinai.core.packs import (
    DomainPack,
    PackSet,
    PackTestSuite,
    PackValidationError,
    TenantPacks,
    TenantPolicyPack,
    load_pack_dir,
)
from sentinai.core.packs.common import Expected
from sentinai.settings import Settings
from sentinai.streams import records

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def _load(directory: str, settings: Settings | None = None) -> PackSet | None:
    """The packs of a folder; with `settings`, within the deployment's grants and limits."""
    try:
        if settings is None:
            return load_pack_dir(directory)
        from sentinai.tools.secrets import SecretStore

        return load_pack_dir(directory, granted_secrets=SecretStore.from_settings(settings).granted,
                             limits=settings.pack_limits())
    except PackValidationError as error:
        for issue in error.issues:
            print(issue, file=sys.stderr)
        count = len(error.issues)
        print(f"{count} error{'s' if count != 1 else ''} in {directory}", file=sys.stderr)
        return None


def validate(directory: str, settings: Settings | None = None) -> int:
    """Exit 0 with a summary, or print every error and exit 1."""
    pack_set = _load(directory, settings)
    if pack_set is None:
        return EXIT_FAILED
    types = sum(len(d.exception_types) for d in pack_set.domains.values())
    playbooks = sum(len(d.playbooks) for d in pack_set.domains.values()) + sum(
        len(t.custom_playbooks) for t in pack_set.tenants.values()
    )
    print(
        f"OK: {len(pack_set.domains)} domain packs ({types} exception types), "
        f"{len(pack_set.tenants)} tenant packs, {playbooks} playbooks in {directory}"
    )
    return EXIT_OK


def _mismatches(outcome_fields: dict[str, Any], expected: Expected) -> list[str]:
    wanted = expected.model_dump(mode="json", include=expected.model_fields_set)
    return [
        f"{name}: expected {value!r}, got {outcome_fields.get(name)!r}"
        for name, value in wanted.items()
        if outcome_fields.get(name) != value
    ]


def _run_case(packs: TenantPacks, raw: dict[str, Any], expected: Expected) -> list[str]:
    raw = {"tenant_id": packs.tenant.tenant_id, **raw}
    now = datetime.now(UTC)
    try:
        exception = normalize(raw, now=now)
    except RejectedInput as error:
        return [f"input rejected: {error}"]
    outcome = decide_exception(exception, packs, now=now)
    fields = outcome.model_dump(mode="json", exclude={"exception", "decisions"})
    fields["actionability"] = outcome.decisions[-1].actionability
    return _mismatches(fields, expected)


def _run_suites(label: str, packs: TenantPacks, suites: list[PackTestSuite]) -> tuple[int, int]:
    passed = failed = 0
    for suite in suites:
        for index, case in enumerate(suite.cases):
            name = case.name or f"case {index + 1}"
            problems = _run_case(packs, case.input, case.expected)
            print(f"{'FAIL' if problems else 'PASS'}  {label} › {suite.name} › {name}")
            for problem in problems:
                print(f"      {problem}")
            passed += not problems
            failed += bool(problems)
    return passed, failed


def _domain_default(domain: DomainPack) -> TenantPacks:
    """Domain suites run with an empty tenant policy, i.e. the domain's behaviour alone."""
    tenant = TenantPolicyPack(tenant_id="default", domain_name=domain.domain_name, version="0")
    return TenantPacks(domain, tenant)


def run_tests(directory: str) -> int:
    """Run every pack's testSuites through the core; exit 1 if any case fails."""
    pack_set = _load(directory)
    if pack_set is None:
        return EXIT_FAILED
    passed = failed = 0
    for name, domain in sorted(pack_set.domains.items()):
        ok, bad = _run_suites(f"domain {name}", _domain_default(domain), domain.test_suites)
        passed, failed = passed + ok, failed + bad
    for tenant_id in sorted(pack_set.tenants):
        packs = pack_set.for_tenant(tenant_id)
        assert packs is not None
        ok, bad = _run_suites(f"tenant {tenant_id}", packs, packs.tenant.test_suites)
        passed, failed = passed + ok, failed + bad
    print(f"{passed} passed, {failed} failed")
    return EXIT_FAILED if failed else EXIT_OK


def _read_source(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    return Path(source).read_bytes()


def _bad_input(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def decide(tenant: str, source: str, packs_dir: str) -> int:
    """Print the decision record the stream would publish for one exception (its stages, and
    the state after the playbook steps that run at once) as one JSON document."""
    try:
        data = _read_source(source)
    except OSError as error:
        return _bad_input(f"cannot read {source}: {error.strerror or error}")
    try:
        raw = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return _bad_input(f"input is not valid JSON: {error}")
    if not isinstance(raw, dict):
        return _bad_input(f"input must be a JSON object, got {type(raw).__name__}")
    given = raw.get("tenant_id", raw.get("tenantId"))
    if given is not None and given != tenant:
        return _bad_input(f"input is for tenant {given!r}, not {tenant!r}")
    pack_set = _load(packs_dir)
    if pack_set is None:
        return EXIT_FAILED
    packs = pack_set.for_tenant(tenant)
    if packs is None:
        known = ", ".join(sorted(pack_set.tenants)) or "none"
        return _bad_input(f"unknown tenant {tenant!r} (known: {known})")
    now = datetime.now(UTC)
    try:
        exception = normalize({**raw, "tenant_id": tenant}, now=now, raw_size=len(data))
    except RejectedInput as error:
        return _bad_input(f"input rejected: {error}")
    outcome = decide_exception(exception, packs, now=now)
    record = records.first_record(exception, outcome, records.decided(exception, outcome, packs, now=now), now=now)
    print(json.dumps(record.as_json(), indent=2))
    return EXIT_OK
