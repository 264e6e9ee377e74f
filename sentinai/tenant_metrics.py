"""Prometheus exposition with tenant labels for known tenants only.

A `tenant` label value comes from input (a Kafka key, a JSON field), so an attacker who can send
input could otherwise list itself in `/metrics` and grow the label set without bound. Only
tenants with an active pack are *known*: samples of any other tenant are left out of the
exposition, and their series are dropped from the process's metrics, so memory stays bounded too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

TENANT_LABEL = "tenant"
KnownTenants = Callable[[], Collection[str]]


def _tenant_metrics(registry: CollectorRegistry) -> Iterator[MetricWrapperBase]:
    for collector in list(registry._collector_to_names):  # the registry keeps no public list
        if isinstance(collector, MetricWrapperBase) and TENANT_LABEL in collector._labelnames:
            yield collector


def forget_unknown_tenants(known: Collection[str], registry: CollectorRegistry = REGISTRY) -> int:
    """Remove every series whose tenant is not known; returns how many were removed."""
    removed = 0
    for metric in _tenant_metrics(registry):
        position = metric._labelnames.index(TENANT_LABEL)
        for values in list(metric._metrics):
            if values[position] not in known:
                metric.remove(*values)
                removed += 1
    return removed


class KnownTenantsOnly(Collector):
    """Collects `source`, leaving out samples labelled with a tenant that `known()` omits."""

    def __init__(self, known: KnownTenants, source: CollectorRegistry = REGISTRY) -> None:
        self._known = known
        self._source = source

    def collect(self) -> Iterator[Metric]:
        known = frozenset(self._known())
        forget_unknown_tenants(known, self._source)
        for family in self._source.collect():
            kept = [s for s in family.samples
                    if TENANT_LABEL not in s.labels or s.labels[TENANT_LABEL] in known]
            if len(kept) != len(family.samples):
                family.samples = kept
            yield family


def filtered_registry(known: KnownTenants, source: CollectorRegistry = REGISTRY) -> CollectorRegistry:
    """A registry to serve (`generate_latest`, `start_http_server`) in place of `source`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(KnownTenantsOnly(known, source))
    return registry


def exposition(known: Collection[str], source: CollectorRegistry = REGISTRY) -> bytes:
    """The text exposition of `source` with only the `known` tenants' series."""
    return generate_latest(filtered_registry(lambda: known, source))
