from sentinai.core.models import Severity, severity_rank


def test_severities_are_ordered() -> None:
    ranks = [severity_rank(s) for s in ("LOW", "MEDIUM", "HIGH", "CRITICAL")]
    assert ranks == [0, 1, 2, 3]
    assert Severity.CRITICAL.rank > Severity.HIGH.rank > Severity.MEDIUM.rank > Severity.LOW.rank
