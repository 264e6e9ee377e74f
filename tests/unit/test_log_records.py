"""A value from outside cannot forge a log line: its control characters are escaped."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from sentinai import log_records

FORGED = "LOGI-1\n[2026-12-07 14:50:00,000] [14528] [CRITICAL] database password rotated\r\x1b[2K"


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    factory = logging.getLogRecordFactory()
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    logger = logging.getLogger("tests.log_records")
    logger.addHandler(handler)
    logger.propagate = False
    log_records.install()
    log_records.install()  # twice changes nothing
    try:
        yield logger, out
    finally:
        logging.setLogRecordFactory(factory)
        logger.removeHandler(handler)


def test_arguments_are_one_line_and_templates_and_tracebacks_keep_theirs(
        logged: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = logged
    logger.warning("notification for %s failed: %r", FORGED, FORGED)
    logger.warning("by name: %(id)s", {"id": FORGED})
    logger.warning("a message of ours\nover two lines, %d argument", 1)
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("handled %s", "x")
    lines = out.getvalue().splitlines()
    assert lines[0] == ("[WARNING] notification for LOGI-1\\n[2026-12-07 14:50:00,000] [14528] [CRITICAL] database "
                        "password rotated\\r\\x1b[2K failed: 'LOGI-1\\\\n[2026-12-07 14:50:00,000] [14528] [CRITICAL] "
                        "database password rotated\\\\r\\\\x1b[2K'")
    assert lines[1].startswith("[WARNING] by name: LOGI-1\\n[2026") and "CRITICAL" in lines[1]
    assert lines[2:4] == ["[WARNING] a message of ours", "over two lines, 1 argument"]
    assert lines[4] == "[ERROR] handled x" and lines[5] == "Traceback (most recent call last):"
    assert not any(line.startswith("[2026") for line in lines)
