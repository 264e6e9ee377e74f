"""Domain Packs and Tenant Policy Packs: models, loading, cross-validation, compilation."""

from sentinai.core.packs.common import (
    GuardrailLists,
    GuardrailOverrides,
    Guardrails,
    OnFailure,
    PackTestCase,
    PackTestSuite,
    Playbook,
    PlaybookStep,
    StepAction,
    Tool,
)
from sentinai.core.packs.compiled import CompiledPlaybook, PackSet, TenantPacks
from sentinai.core.packs.domain import DomainPack, ExceptionType, SeverityRule
from sentinai.core.packs.errors import PackIssue, PackValidationError
from sentinai.core.packs.loader import build_pack_set, load_pack_dir, read_pack_documents
from sentinai.core.packs.tenant import TenantPolicyPack

__all__ = [
    "CompiledPlaybook",
    "DomainPack",
    "ExceptionType",
    "GuardrailLists",
    "GuardrailOverrides",
    "Guardrails",
    "OnFailure",
    "PackIssue",
    "PackSet",
    "PackTestCase",
    "PackTestSuite",
    "PackValidationError",
    "Playbook",
    "PlaybookStep",
    "SeverityRule",
    "StepAction",
    "TenantPacks",
    "TenantPolicyPack",
    "Tool",
    "build_pack_set",
    "load_pack_dir",
    "read_pack_documents",
]
