from sentinai.tables import tenant_state as ts


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


def test_buckets_are_replaced_without_touching_the_rest() -> None:
    state = ts.with_backpressure(None, "WARNING")
    assert ts.bucket(state, "tool_quota") is None and ts.bucket(None, "tool_quota") is None
    new = ts.with_bucket(state, "tool_quota", {"tokens": 3.0, "at": 5.0})
    assert ts.bucket(new, "tool_quota") == {"tokens": 3.0, "at": 5.0}
    assert ts.backpressure(new) == "WARNING" and "tool_quota" not in state
    throttled = ts.with_throttling(new, {"tokens": -1.0, "at": 6.0}, throttled=True)
    assert throttled["throttled"] and ts.bucket(throttled, "quota") == {"tokens": -1.0, "at": 6.0}
    assert ts.bucket(throttled, "tool_quota") == {"tokens": 3.0, "at": 5.0}
    assert ts.backpressure(None) == "NORMAL"


def test_a_debt_beyond_the_limit_is_refused_and_takes_no_token() -> None:
    bucket = None
    for _ in range(3):  # one token, then two messages owe theirs
        _, bucket, _ = ts.take_token(bucket, rate=1.0, burst=1.0, now_epoch=100.0, max_debt=2)
    assert bucket["tokens"] == -2.0
    ok, refused, wait = ts.take_token(bucket, rate=1.0, burst=1.0, now_epoch=100.0, max_debt=2)
    assert (ok, refused["tokens"], wait) == (False, -2.0, float("inf"))
