"""The worker's collector settings: collections rarer, cycles still freed."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_isolated(code: str) -> str:
    """Run ``code`` in a fresh interpreter: the settings are process-wide and must not leak into pytest's."""
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_collections_are_rarer_and_not_disabled() -> None:
    out = run_isolated("""
        import gc
        from sentinai import garbage_collection
        garbage_collection.tune_for_worker()
        print(gc.isenabled(), gc.get_threshold())
    """)
    assert out == "True (20000, 20, 20)"


def test_a_cycle_made_after_tuning_is_still_freed_without_an_explicit_collect() -> None:
    out = run_isolated("""
        import gc, weakref
        from sentinai import garbage_collection
        garbage_collection.tune_for_worker()

        class Node:
            pass

        a, b = Node(), Node()
        a.other, b.other = b, a
        alive = weakref.ref(a)
        del a, b
        keep = [[] for _ in range(3 * garbage_collection.YOUNG_THRESHOLD)]
        print(alive() is None)
    """)
    assert out == "True"
