"""The due index hands out a key once its moment has come, and keeps handing it out until it changes."""

from __future__ import annotations

from sentinai.jobs.due_index import DueIndex


def index() -> DueIndex:
    """Entries are {"at": moment or None, "p": partition}."""
    return DueIndex(moment=lambda v: v["at"], partition=lambda v: v["p"])


def test_a_key_is_due_from_its_moment_until_it_is_written_again() -> None:
    due = index()
    due.note("a", {"at": 10.0, "p": 0})
    due.note("b", {"at": 20.0, "p": 0})
    assert due.due(9.9) == []
    assert due.due(10.0) == ["a"]
    assert due.due(11.0) == ["a"]  # still due: nothing changed it
    due.note("a", {"at": 30.0, "p": 0})  # e.g. the act agent applied the command
    assert sorted(due.due(25.0)) == ["b"]
    assert sorted(due.due(30.0)) == ["a", "b"]


def test_a_moved_or_removed_moment_is_not_handed_out_at_the_old_one() -> None:
    due = index()
    due.note("a", {"at": 10.0, "p": 0})
    due.note("a", {"at": 50.0, "p": 0})
    due.note("b", {"at": 10.0, "p": 0})
    due.drop("b")
    due.note("c", {"at": 10.0, "p": 0})
    due.note("c", {"at": None, "p": 0})  # nothing waits on it any more
    assert due.due(40.0) == []
    assert due.due(50.0) == ["a"]


def test_the_same_moment_written_again_is_handed_out_once() -> None:
    due = index()
    for _ in range(3):
        due.note("a", {"at": 10.0, "p": 0})
    assert due.due(10.0) == ["a"]
    due.note("a", {"at": 10.0, "p": 0})  # written again, unchanged moment: due again, once
    assert due.due(10.0) == ["a"]


def test_a_rebuild_starts_again_from_the_table() -> None:
    due = index()
    due.note("gone", {"at": 1.0, "p": 0})
    due.rebuild([("a", {"at": 5.0, "p": 1}), ("b", {"at": None, "p": 1}), ("c", {"at": 7.0, "p": 2})])
    assert sorted(due.due(10.0)) == ["a", "c"]
    assert (due.held({1}), due.held({1, 2}), due.held({0})) == (2, 3, 0)


def test_entries_are_counted_per_partition_as_they_come_and_go() -> None:
    due = index()
    due.note("a", {"at": None, "p": 1})
    due.note("b", {"at": 5.0, "p": 1})
    due.note("b", {"at": 6.0, "p": 1})
    due.note("c", {"at": 5.0, "p": 2})
    due.drop("c")
    due.drop("never-held")
    assert (due.held({1}), due.held({2})) == (2, 0)


def test_many_rewrites_do_not_grow_the_heap_without_bound() -> None:
    due = index()
    for i in range(10_000):
        due.note("a", {"at": float(i), "p": 0})
    assert len(due._heap) < 2_000
    assert due.due(9_998.0) == []
    assert due.due(9_999.0) == ["a"]
