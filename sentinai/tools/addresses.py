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


_EMBEDDING_96 = tuple(ipaddress.ip_network(n) for n in (
    "::ffff:0:0/96",  # IPv4-mapped
    "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
    "::/96",  # IPv4-compatible (deprecated; :: and ::1 themselves are judged as they are)
    "64:ff9b::/96",  # NAT64, the well-known prefix: a NAT64 gateway connects to the IPv4 address
))
"""IPv6 forms whose last 32 bits are an IPv4 address that a connection may end up reaching."""

NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
"""The NAT64 local-use prefix (RFC 8215): the IPv4 address sits where the network chose, so it
cannot be read back; refused."""


def _carried_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, translated, compatible, NAT64, 6to4,
    Teredo's client), or None."""
    if ip in _EMBEDDING_96[2] and int(ip) <= 1:
        return None  # :: and ::1
    if any(ip in network for network in _EMBEDDING_96):
        return ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def forbidden_reason(address: str, *, allow_private: bool) -> str | None:
    """Why a tool call must not connect to `address`, or None when it may.

    An IPv6 address that carries an IPv4 address (`::ffff:127.0.0.1`, `::7f00:1`,
    `64:ff9b::a9fe:a9fe`, `2002:7f00:1::`, Teredo) is judged by that IPv4 address: a NAT64 gateway
    or a 6to4 relay would connect to it.
    """
    try:
        ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address!r} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL:
            return f"{ip} is a NAT64 local-use address"
        ip = _carried_ipv4(ip) or ip
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
