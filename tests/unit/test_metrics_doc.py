"""docs/metrics.md lists exactly the metrics each process defines, under the process that serves them."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest
from prometheus_client import Counter
from prometheus_client.metrics import MetricWrapperBase

from sentinai import metrics as worker_metrics
from sentinai.api import metrics as web_metrics

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def exposed(module: ModuleType) -> set[str]:
    """The names the module's metrics have in the exposition (a counter's with ``_total``)."""
    return {f"{m._name}_total" if isinstance(m, Counter) else m._name
            for m in vars(module).values() if isinstance(m, MetricWrapperBase)}


def documented(section: str) -> set[str]:
    """The metric of each table row under the ``## <section>`` heading of docs/metrics.md."""
    text = DOC.read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(sentinai_[a-z_]+)` \|", body, flags=re.MULTILINE))


@pytest.mark.parametrize(("section", "module"), [("The worker", worker_metrics), ("The web view", web_metrics)])
def test_every_metric_is_documented_under_its_process_and_nothing_else(section: str, module: ModuleType) -> None:
    assert documented(section) == exposed(module)
