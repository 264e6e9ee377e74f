"""The intake quota writes the tenant table only when throttling starts or ends."""

from sentinai.agents.quota import IntakeQuota


class CountingTable(dict):
    """A dict that counts writes, as a faust table would send changelog messages."""

    writes = 0

    def __setitem__(self, key: str, value: object) -> None:
        self.writes += 1
        super().__setitem__(key, value)


def test_the_table_is_written_when_throttling_starts_and_ends_not_per_token() -> None:
    table = CountingTable()
    quota = IntakeQuota(table)
    allowed = [quota.take("t", rate=1.0, burst=5.0, now_epoch=100.0)[0] for _ in range(7)]
    assert allowed == [True] * 5 + [False] * 2
    assert table.writes == 1 and table["t"]["throttled"] is True
    assert quota.take("t", rate=1.0, burst=5.0, now_epoch=110.0)[0] is True
    assert table.writes == 2 and table["t"]["throttled"] is False


def test_after_a_rebalance_the_bucket_comes_from_the_table() -> None:
    table = CountingTable()
    quota = IntakeQuota(table)
    for _ in range(3):
        quota.take("t", rate=1.0, burst=2.0, now_epoch=100.0)
    quota.forget()
    other = IntakeQuota(table)  # a worker taking the partition over reads what this one wrote
    allowed, bucket, wait = other.take("t", rate=1.0, burst=2.0, now_epoch=100.0)
    assert not allowed and wait > 0 and bucket["tokens"] < 0
