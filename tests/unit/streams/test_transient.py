"""Only passing failures hold an input for another try; the rest go to the DLQ at once."""

from __future__ import annotations

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
)
from faust.exceptions import ProducerSendError

from sentinai.streams.transient import is_transient


def _wrapped(cause: BaseException) -> ProducerSendError:
    try:
        raise ProducerSendError(f"Error while sending: {cause!r}") from cause
    except ProducerSendError as err:
        return err


@pytest.mark.parametrize("error", [KafkaConnectionError(), KafkaTimeoutError(), NotLeaderForPartitionError(),
                                   ConnectionResetError(), TimeoutError(), _wrapped(KafkaConnectionError())])
def test_a_broker_away_or_a_timeout_is_tried_again(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", [OverflowError("Python int too large to convert to C int"), ValueError("x"),
                                   KeyError("k"), MessageSizeTooLargeError(), _wrapped(MessageSizeTooLargeError())])
def test_what_fails_the_same_way_every_time_is_not(error: BaseException) -> None:
    assert not is_transient(error)
