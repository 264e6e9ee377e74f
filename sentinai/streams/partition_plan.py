"""How many partitions the pipeline's topics get, from the topics that already exist.

Producers may create the input topic before any worker runs (brokers auto-create topics on the
first produce: one partition on Apache Kafka by default, four on the embedded broker). Every
pipeline topic must have the input topic's partition count (they are co-partitioned, and faust
refuses tables whose changelog differs from their source topic), so, as Kafka Streams derives its
internal topics from its source topics, the topics the pipeline owns follow the input topic
unless ``SENTINAI_TOPIC_PARTITIONS`` was set. What exists already and disagrees cannot be
repaired here (adding partitions moves keys; removing them is impossible): the worker refuses
to start, with one line naming the topics, their counts and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sentinai.settings import SettingsError


class PartitionMismatch(SettingsError):
    """Existing pipeline topics whose partition counts cannot be reconciled; one line (the
    command prints it and exits with code 2, as for a bad setting)."""


@dataclass(frozen=True)
class PartitionPlan:
    partitions: int
    create: tuple[str, ...]  # topics to create, with ``partitions`` partitions each
    derived_from: str | None  # the existing topic the count was taken from (None: the setting)


def plan_partitions(existing: Mapping[str, int], *, input_topic: str, owned: Sequence[str],
                    configured: int, explicit: bool) -> PartitionPlan:
    """The partition count of the pipeline and the topics to create, or :class:`PartitionMismatch`.

    ``existing`` maps every topic on the broker to its partition count; ``owned`` are the topics
    the pipeline creates (outputs, commands, table changelogs); ``explicit`` says whether
    ``configured`` was set by the deployment (else it is the default).
    """
    pipeline = [input_topic, *owned]
    present = {name: existing[name] for name in pipeline if name in existing}
    derived_from: str | None = None
    if explicit:
        partitions = configured
    elif input_topic in present:
        partitions, derived_from = present[input_topic], input_topic
    elif present:
        derived_from = next(name for name in pipeline if name in present)
        partitions = present[derived_from]
    else:
        partitions = configured
    wrong = {name: count for name, count in present.items() if count != partitions}
    if wrong:
        raise PartitionMismatch(_mismatch_line(present, wrong, partitions, input_topic=input_topic,
                                               explicit=explicit))
    return PartitionPlan(partitions=partitions, create=tuple(n for n in pipeline if n not in present),
                         derived_from=derived_from)


def _mismatch_line(present: Mapping[str, int], wrong: Mapping[str, int], partitions: int, *,
                   input_topic: str, explicit: bool) -> str:
    counts = ", ".join(f"{name}={count}" for name, count in present.items())
    source = "SENTINAI_TOPIC_PARTITIONS" if explicit else (
        input_topic if input_topic in present else next(iter(present)))
    if explicit and input_topic in wrong:
        fix = (f"unset SENTINAI_TOPIC_PARTITIONS to follow {input_topic} ({present[input_topic]}), "
               f"or recreate {input_topic} with {partitions} partitions")
    else:
        fix = (f"recreate {', '.join(wrong)} with {partitions} partitions, or delete them and the "
               f"worker creates them (a deleted changelog's table state is lost)")
    return (f"pipeline topics disagree on their partition count ({counts}); {source} says {partitions}: "
            f"{fix}")
