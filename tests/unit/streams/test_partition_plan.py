"""The pipeline's partition count from the topics that exist: follow the input topic, or refuse."""

from __future__ import annotations

import pytest

from sentinai.settings import SettingsError
from sentinai.streams.partition_plan import PartitionMismatch, plan_partitions

OWNED = ["s.events", "s.decisions", "app-exception-state-changelog"]


def plan(existing: dict[str, int], configured: int = 8, explicit: bool = False):  # type: ignore[no-untyped-def]
    return plan_partitions(existing, input_topic="s.exceptions", owned=OWNED, configured=configured,
                           explicit=explicit)


def test_nothing_exists_every_topic_gets_the_setting() -> None:
    result = plan({"other": 3})
    assert result.partitions == 8 and result.create == ("s.exceptions", *OWNED) and result.derived_from is None


@pytest.mark.parametrize("count", [1, 4])
def test_a_producer_created_the_input_topic_the_pipeline_follows_it(count: int) -> None:
    result = plan({"s.exceptions": count})
    assert result.partitions == count and result.create == tuple(OWNED) and result.derived_from == "s.exceptions"


def test_an_explicit_setting_that_agrees_creates_the_rest() -> None:
    assert plan({"s.exceptions": 4}, configured=4, explicit=True).create == tuple(OWNED)


def test_an_explicit_setting_against_the_input_topic_is_refused_with_the_fix() -> None:
    with pytest.raises(PartitionMismatch) as err:
        plan({"s.exceptions": 1}, configured=8, explicit=True)
    line = str(err.value)
    assert "\n" not in line and "s.exceptions=1" in line and "unset SENTINAI_TOPIC_PARTITIONS" in line
    assert isinstance(err.value, SettingsError)  # the command prints it and exits with code 2


def test_own_topics_left_from_another_count_are_refused_naming_them() -> None:
    with pytest.raises(PartitionMismatch) as err:
        plan({"s.exceptions": 4, "s.events": 4, "app-exception-state-changelog": 8})
    line = str(err.value)
    assert "app-exception-state-changelog=8" in line and "s.exceptions says 4" in line
    assert "recreate app-exception-state-changelog with 4 partitions" in line


def test_without_the_input_topic_the_existing_own_topics_decide() -> None:
    assert plan({"s.decisions": 4}).partitions == 4
