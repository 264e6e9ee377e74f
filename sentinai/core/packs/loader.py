"""Reading packs from folders (YAML or JSON) or from parsed documents (the database)."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sentinai.core.packs.compiled import PackSet
from sentinai.core.packs.domain import DomainPack
from sentinai.core.packs.errors import PackIssue, PackValidationError, json_path, show
from sentinai.core.packs.limits import DEFAULT_LIMITS, PackLimits, document_checksum, limit_problems
from sentinai.core.packs.tenant import TenantPolicyPack
from sentinai.core.packs.validation import check_domain, check_secrets, check_tenant
from sentinai.core.packs.yaml_loader import load_yaml

PACK_SUFFIXES = (".yaml", ".yml", ".json")
Document = tuple[str, Any]
ModelT = TypeVar("ModelT", bound=BaseModel)

_MESSAGES = {"extra_forbidden": "unknown field", "missing": "required field is missing"}


def _issue(file: str, error: ErrorDetails) -> PackIssue:
    message = _MESSAGES.get(error["type"], error["msg"])
    value = error.get("input")
    if error["type"] != "missing" and not isinstance(value, dict | list):
        message = f"{message} (got {show(value)})"
    return PackIssue(file, json_path(error["loc"]), message)


class ModelMemo:
    """Packs validated before, by their document's checksum: a reload after one tenant's upload
    validates (and compiles the conditions of) that tenant's pack, not every tenant's again.
    Each build keeps only what it used, so replaced versions are let go."""

    def __init__(self) -> None:
        self._known: dict[str, BaseModel] = {}
        self._used: dict[str, BaseModel] = {}

    def key(self, model: type[BaseModel], document: Any) -> str:
        return f"{model.__name__}:{document_checksum(document)}"

    def get(self, key: str) -> BaseModel | None:
        found = self._known.get(key)
        if found is not None:
            self._used[key] = found
        return found

    def put(self, key: str, value: BaseModel) -> None:
        self._used[key] = value

    def settle(self) -> None:
        """The build is done: what it used is what is known."""
        self._known, self._used = self._used, {}


def _model(file: str, document: Any, model: type[ModelT], issues: list[PackIssue],
           limits: PackLimits, memo: ModelMemo | None = None) -> ModelT | None:
    if not isinstance(document, Mapping):
        issues.append(PackIssue(file, "", f"a pack must be an object, got {type(document).__name__}"))
        return None
    key = memo.key(model, document) if memo is not None else ""
    if memo is not None and (known := memo.get(key)) is not None:
        return known  # type: ignore[return-value]
    too_big = limit_problems(document, limits)
    if too_big:
        issues.extend(PackIssue(file, "", problem) for problem in too_big)
        return None
    try:
        validated = model.model_validate(document)
    except ValidationError as error:
        issues.extend(_issue(file, detail) for detail in error.errors(include_url=False))
        return None
    if memo is not None:
        memo.put(key, validated)
    return validated


GrantedSecrets = Callable[[str], Collection[str]]
"""tenant id -> the secret names the deployment grants it (`tools.secrets.SecretStore.granted`)."""


def _build(domain_docs: Iterable[Document], tenant_docs: Iterable[Document],
           granted_secrets: GrantedSecrets | None = None, limits: PackLimits = DEFAULT_LIMITS,
           issues: list[PackIssue] | None = None, memo: ModelMemo | None = None) -> PackSet:
    """The packs that validate. Strict (``issues`` not given): any issue raises. Otherwise the
    issues are added to ``issues``, and a pack with one is left out, with the tenants of a domain
    left out."""
    strict = issues is None
    issues = [] if issues is None else issues
    domains: dict[str, DomainPack] = {}
    origin: dict[str, str] = {}
    for file, document in domain_docs:
        domain = _model(file, document, DomainPack, issues, limits, memo)
        if domain is None:
            continue
        if domain.domain_name in domains:
            issues.append(
                PackIssue(
                    file,
                    "domainName",
                    f"{show(domain.domain_name)} is already defined in {origin[domain.domain_name]}",
                )
            )
            continue
        domain_issues = check_domain(file, domain)
        issues.extend(domain_issues)
        if domain_issues and not strict:
            continue
        domains[domain.domain_name] = domain
        origin[domain.domain_name] = file
    tenants: dict[str, TenantPolicyPack] = {}
    for file, document in tenant_docs:
        tenant = _model(file, document, TenantPolicyPack, issues, limits, memo)
        if tenant is None:
            continue
        if tenant.tenant_id in tenants:
            issues.append(
                PackIssue(
                    file,
                    "tenantId",
                    f"{show(tenant.tenant_id)} is already defined in {origin[tenant.tenant_id]}",
                )
            )
            continue
        tenant_issues = check_tenant(file, tenant, domains)
        if granted_secrets is not None:
            tenant_issues += check_secrets(file, tenant, granted_secrets(tenant.tenant_id))
        issues.extend(tenant_issues)
        if not tenant_issues:
            tenants[tenant.tenant_id] = tenant
            origin[tenant.tenant_id] = file
    if issues and strict:
        raise PackValidationError(issues)
    return PackSet(domains, tenants)


def _read(path: Path, issues: list[PackIssue], limits: PackLimits) -> Any:
    try:
        size = path.stat().st_size
        if size > limits.max_document_bytes:
            issues.append(PackIssue(str(path), "", f"the file is {size} bytes; the limit is "
                                                   f"{limits.max_document_bytes}"))
            return None
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            return json.loads(text)
        return load_yaml(text)
    except json.JSONDecodeError as error:
        issues.append(PackIssue(str(path), "", f"invalid JSON at line {error.lineno}: {error.msg}"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        issues.append(PackIssue(str(path), "", f"invalid YAML{where}: {problem}"))
    except (OSError, UnicodeDecodeError) as error:
        issues.append(PackIssue(str(path), "", f"cannot read: {error}"))
    return None


def _documents(folder: Path, issues: list[PackIssue], limits: PackLimits) -> list[Document]:
    if not folder.is_dir():
        return []
    documents: list[Document] = []
    for path in sorted(p for p in folder.iterdir() if p.suffix in PACK_SUFFIXES):
        before = len(issues)
        document = _read(path, issues, limits)
        if len(issues) == before:
            documents.append((str(path), document))
    return documents


def load_pack_dir(path: str | Path, *, granted_secrets: GrantedSecrets | None = None,
                  limits: PackLimits = DEFAULT_LIMITS) -> PackSet:
    """Load `domains/*` and `tenants/*` under a pack folder; raises `PackValidationError`.

    With `granted_secrets`, a tenant pack naming a secret not granted to its tenant is an error.
    """
    root = Path(path)
    if not root.is_dir():
        raise PackValidationError([PackIssue(str(root), "", "not a directory")])
    issues: list[PackIssue] = []
    domain_docs = _documents(root / "domains", issues, limits)
    tenant_docs = _documents(root / "tenants", issues, limits)
    if not domain_docs and not issues:
        issues.append(PackIssue(str(root / "domains"), "", "no domain packs found"))
    try:
        pack_set = _build(domain_docs, tenant_docs, granted_secrets, limits)
    except PackValidationError as error:
        raise PackValidationError(issues + error.issues) from None
    if issues:
        raise PackValidationError(issues)
    return pack_set


def build_pack_set(
    domain_docs: list[dict[str, Any]], tenant_docs: list[dict[str, Any]], *, source: str = "<db>",
    granted_secrets: GrantedSecrets | None = None, limits: PackLimits = DEFAULT_LIMITS,
) -> PackSet:
    """Validate packs already parsed (the database keeps them as JSONB) like `load_pack_dir`."""
    return _build(_labelled(domain_docs, "domains", "domainName", source),
                  _labelled(tenant_docs, "tenants", "tenantId", source), granted_secrets, limits)


def _labelled(documents: list[dict[str, Any]], kind: str, key: str, source: str) -> list[Document]:
    """Each parsed document with the name its issues give as their file: ``<source>/<kind>/<name>``."""
    def label(index: int, document: Any) -> str:
        name = document.get(key) if isinstance(document, Mapping) else None
        return f"{source}/{kind}/{name if isinstance(name, str) else index}"

    return [(label(i, d), d) for i, d in enumerate(documents)]


def build_valid_packs(
    domain_docs: list[dict[str, Any]], tenant_docs: list[dict[str, Any]], *, source: str = "<db>",
    limits: PackLimits = DEFAULT_LIMITS, memo: ModelMemo | None = None,
) -> tuple[PackSet, list[PackIssue]]:
    """The stored packs that validate, and the issues of those that do not (a pack stored before a
    bound was added, say): one tenant's invalid pack leaves that tenant out, not every tenant."""
    issues: list[PackIssue] = []
    packs = _build(_labelled(domain_docs, "domains", "domainName", source),
                   _labelled(tenant_docs, "tenants", "tenantId", source), None, limits, issues, memo)
    if memo is not None:
        memo.settle()
    return packs, issues


def read_pack_documents(path: str | Path, *, limits: PackLimits = DEFAULT_LIMITS
                        ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The documents of a pack folder (``domains/*``, ``tenants/*``) or of one pack file, unvalidated.

    A file is a tenant pack when it names a ``tenantId``, else a domain pack. Raises
    `PackValidationError` naming the file that cannot be read or is not an object.
    """
    root = Path(path)
    issues: list[PackIssue] = []
    if root.is_dir():
        documents = (_documents(root / "domains", issues, limits)
                     + _documents(root / "tenants", issues, limits))
    elif root.is_file():
        document = _read(root, issues, limits)
        documents = [] if issues else [(str(root), document)]
    else:
        issues.append(PackIssue(str(root), "", "no such file or directory"))
        documents = []
    for file, document in documents:
        if not isinstance(document, dict):
            issues.append(PackIssue(file, "", f"a pack must be an object, got {type(document).__name__}"))
    if not documents and not issues:
        issues.append(PackIssue(str(root), "", "no pack documents found"))
    if issues:
        raise PackValidationError(issues)
    return ([d for _, d in documents if "tenantId" not in d],
            [d for _, d in documents if "tenantId" in d])
