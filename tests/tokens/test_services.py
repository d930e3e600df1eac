"""Rate parsing and the fixed-window limiter."""
from datetime import datetime, timedelta, timezone

import pytest

from tokens import services

NOW = datetime(2026, 11, 24, 4, 0, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize(("text", "limit", "period"), [
    ("30/min", 30, 60), ("5/s", 5, 1), (" 100 / hour ", 100, 3600), ("1/day", 1, 86400),
])
def test_it_parses_a_rate(text, limit, period):
    assert services.rate_parse(text=text) == services.Rate(limit=limit, period_s=period)


@pytest.mark.parametrize("text", ["", "30", "x/min", "30/fortnight", "0/min", "-1/min"])
def test_it_refuses_a_malformed_rate(text):
    with pytest.raises(ValueError):
        services.rate_parse(text=text)


def test_it_counts_per_subject_and_scope_and_resets_with_the_window(monkeypatch):
    state = {"now": NOW}
    monkeypatch.setattr("tokens.clock.now", lambda: state["now"])
    rate = services.Rate(limit=2, period_s=60)
    hits = [services.rate_check(scope="mint", subject="user:1", rate=rate) for _ in range(3)]
    assert hits == [None, None, 50]
    assert services.rate_check(scope="mint", subject="user:2", rate=rate) is None
    assert services.rate_check(scope="embed-ticket", subject="user:1", rate=rate) is None
    state["now"] = NOW + timedelta(seconds=50)
    assert services.rate_check(scope="mint", subject="user:1", rate=rate) is None
