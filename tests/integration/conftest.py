"""Fixtures of the integration tests beyond the session's (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.webhook_server import WebhookServer, running_webhook_server


@pytest.fixture
def server() -> Iterator[WebhookServer]:
    """A webhook receiver on a free port, recording every call."""
    with running_webhook_server() as running:
        yield running
