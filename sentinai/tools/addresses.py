"""Which IP addresses a tool call may connect to (the SSRF rules)."""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
"""Cloud instance-metadata endpoints (AWS, GCP, Azure, ...): they hand out credentials."""


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
    if ip.is_private:
        return None if allow_private else f"{ip} is a private address"
    if ip.is_reserved or not ip.is_global:
        return f"{ip} is a reserved address"
    return None
