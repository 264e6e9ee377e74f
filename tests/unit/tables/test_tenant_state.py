from sentinai.tables import tenant_state as ts

SRC = ("in", 0, 10)


def test_decision_counts_once_per_source_offset() -> None:
    state = ts.record_decision(None, SRC, status="TRIAGED", severity="HIGH", exception_type="X", now_epoch=120)
    assert state is not None and state["decided"] == 1 and state["by_severity"] == {"HIGH": 1}
    assert ts.record_decision(state, SRC, status="TRIAGED", severity="HIGH", exception_type="X", now_epoch=121) is None
    assert ts.record_decision(state, ("in", 0, 9), status="TRIAGED", severity="HIGH", exception_type="X",
                              now_epoch=121) is None
    again = ts.record_decision(state, ("in", 0, 11), status="ESCALATED", severity="LOW", exception_type="Y",
                               now_epoch=121)
    assert again is not None and again["decided"] == 2 and again["by_status"] == {"TRIAGED": 1, "ESCALATED": 1}


def test_offsets_are_tracked_per_topic_partition() -> None:
    state = ts.record_duplicate(None, ("in", 0, 10))
    assert ts.record_duplicate(state, ("in", 1, 3)) is not None
    assert ts.record_duplicate(state, ("deferred", 0, 1)) is not None


def test_mutations_do_not_change_their_input() -> None:
    state = ts.record_duplicate(None, ("in", 0, 1))
    assert state is not None
    before = repr(state)
    ts.record_decision(state, ("in", 0, 2), status="S", severity="LOW", exception_type="T", now_epoch=1)
    assert repr(state) == before


def test_decisions_per_minute_rolls_over() -> None:
    state = None
    for offset, epoch in enumerate([60, 61, 62, 125]):
        state = ts.record_decision(state, ("in", 0, offset), status="S", severity="LOW", exception_type="T",
                                   now_epoch=epoch)
    assert state is not None
    assert state["decisions_last_minute"] == 3
    assert state["minute"] == [2, 1]


def test_token_bucket_allows_burst_then_reserves_later_slots() -> None:
    bucket = None
    results = []
    for _ in range(5):
        ok, bucket, wait = ts.take_token(bucket, rate=2.0, burst=3.0, now_epoch=100.0)
        results.append((ok, wait))
    assert results == [(True, 0.0), (True, 0.0), (True, 0.0), (False, 0.5), (False, 1.0)]
    ok, bucket, wait = ts.take_token(bucket, rate=2.0, burst=3.0, now_epoch=101.0)
    assert (ok, wait) == (False, 0.5)
    ok, _, _ = ts.take_token(bucket, rate=2.0, burst=3.0, now_epoch=102.0)
    assert ok


def test_backpressure_levels() -> None:
    levels = [ts.backpressure_level(n, warning=10, critical=20, overloaded=30) for n in (0, 10, 25, 31)]
    assert levels == ["NORMAL", "WARNING", "CRITICAL", "OVERLOADED"]


def test_buckets_are_replaced_without_touching_the_counts() -> None:
    state = ts.record_decision(None, SRC, status="TRIAGED", severity="HIGH", exception_type="X", now_epoch=1)
    assert ts.bucket(state, "tool_quota") is None and ts.bucket(None, "tool_quota") is None
    new = ts.with_bucket(state, "tool_quota", {"tokens": 3.0, "at": 5.0})
    assert ts.bucket(new, "tool_quota") == {"tokens": 3.0, "at": 5.0}
    assert new["decided"] == 1 and new["applied"] == state["applied"]
    assert "tool_quota" not in state
    assert ts.with_bucket(None, "llm_quota", {"tokens": 1.0, "at": 0.0})["decided"] == 0
