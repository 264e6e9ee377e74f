"""The deployment's network policy for tool calls and webhooks; a tenant's policy only narrows it.

Settings decide whether a call may ever use plain http or reach a loopback or private address
(default: never) and may name the only origins calls may go to. A tenant's `toolPolicy` can ask
for less, never for more: `narrow` gives the policy a call is vetted with, at every redirect hop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sentinai.origins import Origin, parse_origin
from sentinai.settings import Settings
from sentinai.tools.policy import ToolPolicy


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """What the deployment allows; the defaults allow public https hosts only."""

    allow_private: bool = False
    allow_http: bool = False
    allowed_origins: tuple[Origin, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> NetworkPolicy:
        return cls(allow_private=settings.tools_allow_private, allow_http=settings.tools_allow_http,
                   allowed_origins=tuple(parse_origin(o) for o in settings.tools_allowed_origins))

    def narrow(self, tenant: ToolPolicy) -> ToolPolicy:
        """The tenant's policy within the deployment's: the stricter of the two on every point."""
        return replace(
            tenant,
            https_only=tenant.https_only or not self.allow_http,
            allow_private=tenant.allow_private and self.allow_private,
            origins=self.allowed_origins or tenant.origins,
        )
