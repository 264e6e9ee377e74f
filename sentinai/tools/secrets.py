"""The secrets a deployment grants to each tenant; a tool's `secretRef` resolves only among them.

Two sources, both the deployment's (a tenant pack can only *name* a granted secret):

* `SENTINAI_SECRETS_DIR/<tenant>/<name>`: one file per secret (a Kubernetes secret volume or a
  Vault agent template mounted per tenant); the value is the file's text without a final newline.
* `SENTINAI_TENANT_SECRETS`: JSON `{"<tenant>": {"<name>": "<ENV_VAR>"}}`; the value is the
  worker's environment variable that the operator mapped.

Values are read at call time (a rotated file or variable takes effect on the next call) and
never stored, logged or put in an event.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sentinai.core.packs.common import SECRET_NAME
from sentinai.settings import Settings

_TENANT = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")


class SecretUnavailable(Exception):
    """A call cannot be authenticated: the secret is not granted, or granted but empty."""


@dataclass(frozen=True)
class SecretStore:
    directory: Path | None = None
    tenant_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> SecretStore:
        return cls(settings.secrets_dir, settings.tenant_secrets,
                   os.environ if environ is None else environ)

    def _tenant_dir(self, tenant_id: str) -> Path | None:
        if self.directory is None or not _TENANT.fullmatch(tenant_id):
            return None
        return self.directory / tenant_id

    def granted(self, tenant_id: str) -> frozenset[str]:
        """The names the tenant's packs may use as `secretRef`."""
        names = set(self.tenant_env.get(tenant_id, {}))
        folder = self._tenant_dir(tenant_id)
        if folder is not None and folder.is_dir():
            names.update(p.name for p in folder.iterdir()
                         if SECRET_NAME.fullmatch(p.name) and p.is_file())
        return frozenset(names)

    def value(self, tenant_id: str, name: str) -> str:
        """The secret's value; raises `SecretUnavailable` naming the secret, never its value."""
        variable = self.tenant_env.get(tenant_id, {}).get(name)
        if variable is not None:
            secret = self.environ.get(variable, "")
            if not secret:
                raise SecretUnavailable(
                    f"secret {name} of tenant {tenant_id}: environment variable {variable} is not set")
            return secret
        folder = self._tenant_dir(tenant_id)
        path = folder / name if folder is not None and SECRET_NAME.fullmatch(name) else None
        if path is None or not path.is_file():
            raise SecretUnavailable(f"secret {name} is not granted to tenant {tenant_id}")
        secret = path.read_text(encoding="utf-8").removesuffix("\n")
        if not secret:
            raise SecretUnavailable(f"secret {name} of tenant {tenant_id}: file {path} is empty")
        return secret
