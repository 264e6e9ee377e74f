"""The worker's collector settings: collections rarer, cycles still freed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from sentinai import garbage_collection


def run_isolated(code: str) -> str:
    """Run ``code`` in a fresh interpreter: the settings are process-wide and must not leak into pytest's."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_collections_are_rarer_than_the_defaults_and_not_disabled() -> None:
    out = run_isolated("""
        import gc
        from sentinai import garbage_collection
        print(*gc.get_threshold())
        garbage_collection.tune_for_worker()
        print(gc.isenabled(), *gc.get_threshold())
    """)
    default, tuned = out.splitlines()
    defaults = [int(v) for v in default.split()]
    enabled, *thresholds = tuned.split()
    assert enabled == "True"
    assert [int(v) for v in thresholds] == [garbage_collection.YOUNG_THRESHOLD, garbage_collection.MIDDLE_THRESHOLD,
                                            garbage_collection.OLD_THRESHOLD]
    assert all(t > d for t, d in zip(map(int, thresholds), defaults, strict=True)), (defaults, thresholds)


def cycle_freed_after_allocations(setup: str) -> bool:
    """Whether a reference cycle is freed, with no explicit collect, once enough objects were allocated."""
    out = run_isolated(f"""
        import gc, weakref
        from sentinai import garbage_collection
        {setup}

        class Node:
            pass

        a, b = Node(), Node()
        a.other, b.other = b, a
        alive = weakref.ref(a)
        del a, b
        keep = [[] for _ in range(3 * garbage_collection.YOUNG_THRESHOLD)]
        print(alive() is None)
    """)
    return out == "True"


def test_a_cycle_made_after_tuning_is_still_freed_without_an_explicit_collect() -> None:
    assert cycle_freed_after_allocations("garbage_collection.tune_for_worker()")


def test_the_same_cycle_survives_when_the_collector_is_off() -> None:
    assert not cycle_freed_after_allocations("gc.disable()")
