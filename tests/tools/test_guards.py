"""Pure parts of the tool guard: addresses, host allow-lists, redaction, breaker, auth."""

from __future__ import annotations

import pytest

from sentinai.core.packs.common import SECRET_NAME, ToolAuth
from sentinai.core.packs.headers import credential_header_problem
from sentinai.core.redaction import redact_secrets
from sentinai.sinks.api_keys import TENANT_ID
from sentinai.tools.addresses import forbidden_reason
from sentinai.tools.auth import auth_headers
from sentinai.tools.breaker import CircuitBreaker
from sentinai.tools.policy import ToolPolicy

ADDRESSES = [
    # address, allow_private, expected reason (None: allowed)
    ("93.184.216.34", False, None),
    ("2606:4700::1111", False, None),
    ("127.0.0.1", False, "127.0.0.1 is a loopback address"),
    ("127.0.0.1", True, None),
    ("::1", False, "::1 is a loopback address"),
    ("::ffff:127.0.0.1", False, "127.0.0.1 is a loopback address"),
    ("10.1.2.3", False, "10.1.2.3 is a private address"),
    ("192.168.0.10", True, None),
    ("fd12:3456::1", False, "fd12:3456::1 is a private address"),
    ("169.254.169.254", True, "169.254.169.254 is a cloud metadata address"),
    ("fd00:ec2::254", True, "fd00:ec2::254 is a cloud metadata address"),
    ("169.254.1.1", True, "169.254.1.1 is a link-local address"),
    ("fe80::1", True, "fe80::1 is a link-local address"),
    ("224.0.0.1", True, "224.0.0.1 is a multicast address"),
    ("0.0.0.0", True, "0.0.0.0 is an unspecified address"),
    ("240.0.0.1", True, "240.0.0.1 is a reserved address"),
    ("100.64.0.1", False, "100.64.0.1 is a reserved address"),
    ("not-an-ip", False, "'not-an-ip' is not an IP address"),
    # IPv6 forms that carry an IPv4 address are judged by it (a NAT64 gateway or 6to4 relay connects there)
    ("::7f00:1", False, "127.0.0.1 is a loopback address"),  # IPv4-compatible: ::127.0.0.1
    ("::ffff:0:a00:1", False, "10.0.0.1 is a private address"),  # IPv4-translated
    ("64:ff9b::a9fe:a9fe", True, "169.254.169.254 is a cloud metadata address"),  # NAT64
    ("64:ff9b::5db8:d822", False, None),  # NAT64 of a public address: allowed
    ("2002:7f00:1::", False, "127.0.0.1 is a loopback address"),  # 6to4
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", False, "127.0.0.1 is a loopback address"),  # Teredo client
    ("64:ff9b:1::a00:1", True, "64:ff9b:1::a00:1 is a NAT64 local-use address"),
]


@pytest.mark.parametrize(("address", "allow_private", "expected"), ADDRESSES)
def test_forbidden_addresses(address: str, allow_private: bool, expected: str | None) -> None:
    assert forbidden_reason(address, allow_private=allow_private) == expected


HOSTS = [
    ("api.example.com", "exact"),
    ("API.Example.com.", "exact"),
    ("a.tools.example.net", "wildcard"),
    ("deep.a.tools.example.net", "wildcard"),
    ("tools.example.net", None),
    ("eviltools.example.net", None),
    ("example.com", None),
]


@pytest.mark.parametrize(("host", "expected"), HOSTS)
def test_host_allow_list(host: str, expected: str | None) -> None:
    policy = ToolPolicy(allowed_hosts=("api.example.com", "*.tools.example.net"))
    assert policy.host_match(host) == expected


def test_policy_defaults_and_for_endpoints() -> None:
    policy = ToolPolicy.for_endpoints(
        ["https://OMS.example.com/a", "https://oms.example.com/b", "https://ssi.example.net/x"]
    )
    assert policy.allowed_hosts == ("oms.example.com", "ssi.example.net")
    assert (policy.https_only, policy.allow_private, policy.max_response_bytes) == (
        True, False, 1024 * 1024)
    with pytest.raises(ValueError):
        ToolPolicy(max_response_bytes=0)


def test_redact_secrets_masks_by_key_at_any_depth() -> None:
    data = {
        "Password": "p", "client_secret": "s", "accessToken": "t", "api_key": "k",
        "X-Api-Key": "k2", "apikey": "k3", "Authorization": "Bearer x", "credentials": {"a": 1},
        "amount": 5, "nested": [{"refresh_token": "r", "ok": "v"}, ("x", {"SECRET": 1})],
    }
    assert redact_secrets(data) == {
        "Password": "***", "client_secret": "***", "accessToken": "***", "api_key": "***",
        "X-Api-Key": "***", "apikey": "***", "Authorization": "***", "credentials": "***",
        "amount": 5, "nested": [{"refresh_token": "***", "ok": "v"}, ["x", {"SECRET": "***"}]],
    }
    assert data["Password"] == "p"
    assert redact_secrets("token") == "token"


AUTH = [
    ({"type": "none"}, {}),
    ({"type": "bearer", "secretRef": "S"}, {"Authorization": "Bearer v:w"}),
    ({"type": "oauth2", "secretRef": "S"}, {"Authorization": "Bearer v:w"}),
    ({"type": "api_key", "secretRef": "S"}, {"X-Api-Key": "v:w"}),
    ({"type": "api_key", "secretRef": "S", "header": "X-Key"}, {"X-Key": "v:w"}),
    ({"type": "basic", "secretRef": "S"}, {"Authorization": "Basic djp3"}),
]


@pytest.mark.parametrize(("auth", "headers"), AUTH)
def test_auth_headers(auth: dict[str, str], headers: dict[str, str]) -> None:
    assert auth_headers(ToolAuth.model_validate(auth), "v:w") == headers


def test_breaker_states() -> None:
    now = [0.0]
    breaker = CircuitBreaker(threshold=2, reset_seconds=10, clock=lambda: now[0])
    key = ("t", "tool")
    breaker.record(key, healthy=False)
    assert breaker.allow(key) and not breaker.is_open(key)
    breaker.record(key, healthy=False)
    assert breaker.is_open(key) and not breaker.allow(key)
    now[0] = 10.0
    assert breaker.allow(key)  # the half-open trial
    assert not breaker.allow(key)  # only one trial at a time
    breaker.release(key)
    assert breaker.allow(key)
    breaker.record(key, healthy=True)
    assert not breaker.is_open(key) and breaker.allow(key)
    assert breaker.allow(("t", "other"))
    with pytest.raises(ValueError):
        CircuitBreaker(threshold=0)


@pytest.mark.parametrize("name", ["Host\n", "X-Api-Key\n", "X-Api-Key\r\n"])
def test_a_header_name_with_a_line_break_is_refused(name: str) -> None:
    # `$` also matches before a final newline: "Host\n" passed as a token, and then not as Host
    assert credential_header_problem(name) == f"{name[:80]!r} is not a valid header name"


def test_names_are_checked_whole() -> None:
    assert TENANT_ID.fullmatch("acme") and not TENANT_ID.fullmatch("acme\n")
    assert SECRET_NAME.fullmatch("db_password") and not SECRET_NAME.fullmatch("db_password\n")
