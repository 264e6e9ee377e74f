from sentinai.tables.tool_calls import outcome, partition, record, stale, stale_at


def test_an_entry_keeps_the_outcome_with_its_tenant_partition_and_time() -> None:
    entry = record({"status": "succeeded"}, tenant_id="acme", partition=3, now_epoch=1000.0)
    assert outcome(entry) == {"status": "succeeded"}
    assert (entry["tenant_id"], entry["partition"]) == ("acme", 3)
    assert not stale(entry, now_epoch=1059.0, keep_seconds=60)
    assert stale(entry, now_epoch=1060.0, keep_seconds=60)
    assert (stale_at(entry, keep_seconds=60), partition(entry)) == (1060.0, 3)


def test_entries_from_before_they_carried_a_time_are_read_but_never_judged_stale() -> None:
    legacy = {"status": "succeeded", "http_status": 200}
    assert outcome(legacy) == legacy
    assert not stale(legacy, now_epoch=10**10, keep_seconds=60)  # no partition known: left alone
    assert outcome(None) is None and not stale(None, now_epoch=0, keep_seconds=0)
    assert stale_at(legacy, keep_seconds=60) is None and partition(legacy) is None
