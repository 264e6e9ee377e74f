import json
import random

import pytest

from sentinai.core.engine import decide
from sentinai.core.normalize import RejectedInput, normalize
from sentinai.core.packs import PackSet
from sentinai.samples import sample_exception

from .conftest import NOW


def test_samples_are_valid_and_decidable(sample_packs: PackSet) -> None:
    rng = random.Random(11)
    tenants = set()
    for _ in range(300):
        raw = sample_exception(rng, sample_packs)
        assert isinstance(raw, dict)
        assert 600 < len(json.dumps(raw["payload"])) < 2000
        exception = normalize(raw, now=NOW, known_tenants=sample_packs.tenants)
        packs = sample_packs.for_tenant(exception.tenant_id)
        assert packs is not None
        outcome = decide(exception, packs, now=NOW)
        assert outcome.exception_type in packs.exception_types
        tenants.add(exception.tenant_id)
    assert tenants == set(sample_packs.tenants)


def test_sample_for_one_tenant(sample_packs: PackSet) -> None:
    raw = sample_exception(random.Random(1), sample_packs, "mercy-health")
    assert isinstance(raw, dict) and raw["tenant_id"] == "mercy-health"


def test_malformed_samples_are_rejected(sample_packs: PackSet) -> None:
    rng = random.Random(5)
    kinds = set()
    for _ in range(60):
        raw = sample_exception(rng, sample_packs, malformed=True)
        if isinstance(raw, bytes):
            with pytest.raises(ValueError):
                json.loads(raw)
            kinds.add("bytes")
            continue
        with pytest.raises(RejectedInput) as caught:
            normalize(raw, now=NOW, known_tenants=sample_packs.tenants)
        kinds.add(caught.value.path)
    assert kinds == {"bytes", "tenant_id", "payload"}
