"""Which IP addresses a tool call may connect to (the SSRF rules)."""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
"""Cloud instance-metadata endpoints (AWS, GCP, Azure, ...): they hand out credentials."""

PRIVATE_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
"""Networks of on-premises hosts (RFC 1918, IPv6 unique local): what `allow_private` opens.
Other non-global ranges (benchmarking, documentation, 240/4, CGNAT, ...) stay refused."""


def forbidden_reason(address: str, *, allow_private: bool) -> str | None:
    """Why a tool call must not connect to `address`, or None when it may.

    IPv4-mapped and 6to4-style IPv6 forms are judged by the IPv4 address they carry, so
    `::ffff:127.0.0.1` is loopback too.
    """
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return f"{ip} is a cloud metadata address"
    if ip.is_link_local:
        return f"{ip} is a link-local address"
    if ip.is_multicast:
        return f"{ip} is a multicast address"
    if ip.is_unspecified:
        return f"{ip} is an unspecified address"
    if ip.is_loopback:
        return None if allow_private else f"{ip} is a loopback address"
    if any(ip in network for network in PRIVATE_NETWORKS):
        return None if allow_private else f"{ip} is a private address"
    if not ip.is_global:
        return f"{ip} is a reserved address"
    return None
