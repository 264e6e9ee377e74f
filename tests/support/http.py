"""A small synchronous JSON HTTP client for tests that drive real servers (standard library only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass
class Reply:
    status: int
    body: Any


def call(method: str, url: str, *, headers: dict[str, str] | None = None, json_body: Any = None,
         params: dict[str, str] | None = None, timeout: float = 10.0) -> Reply:
    if params:
        url = f"{url}?{urllib.parse.urlencode(params)}"
    data = None if json_body is None else json.dumps(json_body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        **(headers or {}), **({"Content-Type": "application/json"} if data is not None else {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return Reply(response.status, json.loads(response.read() or b"null"))
    except urllib.error.HTTPError as err:
        return Reply(err.code, json.loads(err.read() or b"null"))
