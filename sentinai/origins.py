"""The origins (scheme, host, port) tool calls may go to, as settings and tool policies name them.

Below the settings and the tools both: the deployment's allow-list is checked when the settings
are read, and every call is matched against it.
"""

from __future__ import annotations

from dataclasses import dataclass

from yarl import URL

DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True, slots=True)
class Origin:
    """scheme, host and port a call may go to; a host `*.suffix` matches any subdomain of it."""

    scheme: str
    host: str
    port: int

    def matches(self, url: URL) -> bool:
        host = normalize_host(url.raw_host or "")
        if (url.scheme, url.port) != (self.scheme, self.port):
            return False
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host


def parse_origin(entry: str) -> Origin:
    """`https://api.example.com`, `https://*.example.com:8443`: scheme, host and port (the
    scheme's default port when none is written). Raises `ValueError` with the reason."""
    text = entry.strip()
    scheme, separator, rest = text.partition("://")
    if not separator or scheme.lower() not in DEFAULT_PORTS:
        raise ValueError(f"origin {entry!r} must start with https:// or http://")
    wildcard = rest.startswith("*.")
    try:
        url = URL(f"{scheme}://{rest.removeprefix('*.')}")
    except ValueError as error:
        raise ValueError(f"origin {entry!r} is not a URL: {error}") from None
    if not url.raw_host or url.raw_path not in ("", "/") or url.query_string or url.user:
        raise ValueError(f"origin {entry!r} must be scheme://host[:port] only")
    host = url.raw_host.lower().rstrip(".")
    return Origin(scheme.lower(), f"*.{host}" if wildcard else host,
                  url.port or DEFAULT_PORTS[scheme.lower()])


def normalize_host(host: str) -> str:
    return host.strip().rstrip(".").lower()
