"""A pack's conditions hold a bounded number of comparisons: each one looks at a bounded part of
the exception (tests/unit/core/conditions/test_comparison_cost.py), and their number bounds what
a pack costs one exception on the worker every tenant shares."""

from __future__ import annotations

from typing import Any

import pytest

from sentinai.core.conditions import Condition
from sentinai.core.packs import PackValidationError, build_pack_set
from sentinai.core.packs.validation import MAX_PACK_COMPARISONS, MAX_PACK_DEEP_COMPARISONS

from ..conftest import mini_docs


def _playbooks(count: int, terms: int, term: str = "{i}.5 in payload.l") -> list[dict[str, Any]]:
    condition = " || ".join(term.format(i=i) for i in range(terms))
    return [{"id": f"pb-{n}", "name": "pb", "conditions": {"condition": condition},
             "steps": [{"name": "n", "action": "add_comment", "params": {"text": "x"}}]}
            for n in range(count)]


def test_a_condition_counts_its_comparisons() -> None:
    assert Condition("payload.a == 1").comparisons == 1
    assert Condition("!(payload.a in [1, 2]) && (payload.b contains 'x' || payload.c > 2)").comparisons == 3
    assert Condition("payload.a matches '^x' && payload.urgent").comparisons == 0


def test_comparisons_up_to_the_limit_load() -> None:
    per = 100
    domain, tenant = mini_docs(tenant={"customPlaybooks": _playbooks(MAX_PACK_COMPARISONS // per, per)})
    assert build_pack_set([domain], [tenant]).for_tenant("mini-co") is not None


def test_a_tenant_pack_over_the_limit_is_refused_with_its_count() -> None:
    per = 100
    domain, tenant = mini_docs(tenant={"customPlaybooks": _playbooks(MAX_PACK_COMPARISONS // per + 1, per)})
    with pytest.raises(PackValidationError) as caught:
        build_pack_set([domain], [tenant], source="packs")
    messages = [str(issue) for issue in caught.value.issues]
    total = (MAX_PACK_COMPARISONS // per + 1) * per
    assert messages == [f"packs/tenants/mini-co: the pack's conditions hold {total} comparisons in all; "
                        f"the limit is {MAX_PACK_COMPARISONS}"]


def test_a_domain_pack_over_the_limit_is_refused() -> None:
    domain, tenant = mini_docs({"playbooks": _playbooks(MAX_PACK_COMPARISONS // 100 + 1, 100)})
    with pytest.raises(PackValidationError) as caught:
        build_pack_set([domain], [tenant], source="packs")
    assert any("comparisons in all" in str(issue) for issue in caught.value.issues)


@pytest.mark.parametrize(("condition", "deep"), [
    ("payload.a == payload.b", 1),
    ("payload.id in payload.ids", 1),
    ("payload.l == [1, 2]", 1),
    ("payload.l in [[1], [2]]", 1),
    ("[1] in payload.l", 1),
    ("payload.id in ['a', 'b'] && ['a', 1] contains payload.x", 0),
    ("payload.l contains 1 || payload.n == 2 || payload.s != 'x'", 0),
    ("!(payload.a == payload.b) || (payload.c < payload.d) || payload.e != payload.f", 2),
])
def test_comparisons_that_may_walk_two_lists_are_counted(condition: str, deep: int) -> None:
    assert Condition(condition).deep_comparisons == deep


def test_a_pack_with_too_many_comparisons_between_two_paths_is_refused() -> None:
    deep = "payload.e{i} in payload.l"
    domain, tenant = mini_docs(tenant={"customPlaybooks": _playbooks(1, MAX_PACK_DEEP_COMPARISONS, deep)})
    assert build_pack_set([domain], [tenant]).for_tenant("mini-co") is not None
    domain, tenant = mini_docs(tenant={"customPlaybooks": _playbooks(1, MAX_PACK_DEEP_COMPARISONS + 1, deep)})
    with pytest.raises(PackValidationError) as caught:
        build_pack_set([domain], [tenant], source="packs")
    assert [str(issue) for issue in caught.value.issues] == [
        f"packs/tenants/mini-co: the pack's conditions hold {MAX_PACK_DEEP_COMPARISONS + 1} comparisons "
        f"between two paths or with a list literal in all; the limit is {MAX_PACK_DEEP_COMPARISONS}"]
