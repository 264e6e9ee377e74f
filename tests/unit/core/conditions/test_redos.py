"""One tenant's regular expression cannot stall the shared worker (issue 16).

`^(a+)+$` against 28 × "a" + "!" held a backtracking engine for ~10 s, doubling with each extra
character. On RE2 the same decision costs what any other decision costs: these tests decide a
tenant whose playbook carries that pattern, on that input and on a far longer one, next to
another tenant's ordinary exception, and compare their costs measured in the same run.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from sentinai.core.conditions import ConditionSyntaxError, parse
from sentinai.core.engine import decide
from sentinai.core.normalize import normalize
from sentinai.core.packs import PackSet, build_pack_set

from ..conftest import NOW, mini_docs

EVIL = "payload.account matches '^(a+)+$'"


def _packs() -> PackSet:
    domain, evil = mini_docs(tenant={"tenantId": "evil-co", "customPlaybooks": [{
        "id": "redos", "name": "redos", "conditions": EVIL,
        "steps": [{"name": "n", "action": "add_comment", "params": {"text": "x"}}]}]})
    _, calm = mini_docs(tenant={"tenantId": "calm-co"})
    return build_pack_set([domain], [evil, calm])


def _cost(packs: PackSet, tenant: str, payload: dict[str, Any], runs: int = 20) -> float:
    """The median time of one decision (normalize + decide) of `tenant` on `payload`."""
    compiled = packs.for_tenant(tenant)
    assert compiled is not None
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        decide(normalize({"tenant_id": tenant, "exception_type": "ALPHA", "payload": payload},
                         now=NOW), compiled, now=NOW)
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def _playbook(packs: PackSet, account: str) -> str | None:
    compiled = packs.for_tenant("evil-co")
    assert compiled is not None
    raw = {"tenant_id": "evil-co", "exception_type": "ALPHA", "payload": {"account": account}}
    return decide(normalize(raw, now=NOW), compiled, now=NOW).playbook_id


def test_the_redos_condition_is_evaluated_by_the_decision() -> None:
    packs = _packs()
    assert _playbook(packs, "aaaa") == "redos"
    assert _playbook(packs, "a" * 28 + "!") == "alpha-basic"


def test_the_redos_condition_costs_what_an_ordinary_decision_costs() -> None:
    packs = _packs()
    ordinary = _cost(packs, "calm-co", {"account": "ACC-1"})
    attack = _cost(packs, "evil-co", {"account": "a" * 28 + "!"})
    # a backtracking engine: ~10 s here, about 10^5 times an ordinary decision
    assert attack < 20 * ordinary, (attack, ordinary)


def test_the_redos_condition_on_a_long_input_still_finishes() -> None:
    packs = _packs()
    ordinary = _cost(packs, "calm-co", {"account": "ACC-1"}, runs=5)
    attack = _cost(packs, "evil-co", {"account": "a" * 100_000 + "!"}, runs=5)
    # linear in the input: 100 000 characters cost a bounded multiple of an ordinary decision
    assert attack < 2_000 * ordinary, (attack, ordinary)


@pytest.mark.parametrize("pattern", [r"^(a+)\\1$", "(?=a)b", "(?<!a)b", r"(?P<x>a)(?P=x)"])
def test_patterns_that_need_backtracking_are_syntax_errors(pattern: str) -> None:
    with pytest.raises(ConditionSyntaxError, match="RE2"):
        parse(f"payload.a matches '{pattern}'")
