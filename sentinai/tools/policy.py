"""A tenant's rules for where its tools may connect."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from yarl import URL

from sentinai.origins import Origin, normalize_host

ONE_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ToolPolicy:
    """Per-tenant limits of outbound tool calls.

    `allowed_hosts` entries are exact host names (or IP literals) or `*.suffix`, which matches
    any subdomain of `suffix` but not `suffix` itself. `allow_private` lets a host that the list
    names *exactly* resolve to loopback or private addresses (for on-premises tools and for
    tests); a wildcard match never may, and link-local, multicast, reserved and cloud-metadata
    addresses are refused whatever the policy says. `origins`, when given (the deployment's
    allow-list), must also match the URL's scheme, host and port.
    """

    allowed_hosts: tuple[str, ...] = ()
    https_only: bool = True
    allow_private: bool = False
    max_response_bytes: int = ONE_MIB
    origins: tuple[Origin, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "allowed_hosts", tuple(normalize_host(h) for h in self.allowed_hosts)
        )
        if self.max_response_bytes <= 0:
            raise ValueError("max_response_bytes must be positive")

    @classmethod
    def for_endpoints(cls, endpoints: Iterable[str], **options: object) -> ToolPolicy:
        """A policy that allows exactly the hosts of the given tool endpoints.

        The endpoints of a tenant's packs were reviewed when the packs were; allowing just
        their hosts is the narrowest list that still lets every declared tool run.
        """
        hosts = sorted({normalize_host(URL(e).host or "") for e in endpoints} - {""})
        return cls(allowed_hosts=tuple(hosts), **options)  # type: ignore[arg-type]

    def host_match(self, host: str) -> str | None:
        """`"exact"`, `"wildcard"` or None (not allowed) for a host name or IP literal."""
        name = normalize_host(host)
        if name in self.allowed_hosts:
            return "exact"
        for entry in self.allowed_hosts:
            if entry.startswith("*.") and name.endswith(entry[1:]):
                return "wildcard"
        return None

    def origin_allowed(self, url: URL) -> bool:
        return not self.origins or any(origin.matches(url) for origin in self.origins)
