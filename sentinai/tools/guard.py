"""The SSRF guard: may this URL be called under this policy, and at which addresses."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from yarl import URL

from sentinai.tools.addresses import forbidden_reason
from sentinai.tools.policy import ToolPolicy
from sentinai.tools.resolver import HostResolver


class Refused(Exception):
    """The call must not go out; never retried. `requests_sent` counts hops already sent."""

    requests_sent = 0


class Unresolvable(Exception):
    """The host has no address right now; DNS failures can be transient, so this is retried."""


@dataclass(frozen=True, slots=True)
class VettedTarget:
    """A URL's host (as aiohttp will look it up) and the only addresses it may connect to."""

    host: str
    addresses: tuple[str, ...]


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def vet_url(url: URL, policy: ToolPolicy, resolve: HostResolver) -> VettedTarget:
    """Check scheme, origin and host allow-lists and every resolved address; raise `Refused`
    otherwise. The invoker calls it for the endpoint and again for every redirect hop.

    Every address of a host must pass: a name that resolves partly to a private address is
    refused as a whole, so the connection cannot be steered to the private one.
    """
    allowed_schemes = ("https",) if policy.https_only else ("https", "http")
    if url.scheme not in allowed_schemes:
        allowed = ", ".join(allowed_schemes)
        raise Refused(f"scheme {url.scheme or '(none)'} is not allowed (allowed: {allowed})")
    if url.user is not None or url.password is not None:
        raise Refused("URLs with credentials are not allowed")
    host = url.raw_host
    if not host:
        raise Refused("URL has no host")
    if not policy.origin_allowed(url):
        raise Refused(f"{url.scheme}://{host}:{url.port} is not on the deployment's allow list")
    match = policy.host_match(host)
    if match is None:
        raise Refused(f"host {host} is not on the tenant's allow list")
    port = url.port or (443 if url.scheme == "https" else 80)
    if _is_ip_literal(host):
        addresses = [host]
    else:
        try:
            addresses = await resolve(host, port)
        except OSError as error:
            raise Unresolvable(f"host {host} does not resolve: {error}") from None
    if not addresses:
        raise Unresolvable(f"host {host} does not resolve")
    allow_private = policy.allow_private and match == "exact"
    for address in addresses:
        reason = forbidden_reason(address, allow_private=allow_private)
        if reason is not None:
            raise Refused(f"host {host} resolves to a forbidden address: {reason}")
    return VettedTarget(host=host, addresses=tuple(addresses))
