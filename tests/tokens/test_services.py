"""The mint rate check, counted by lib.ratelimit under the tokens clock."""
from datetime import datetime, timedelta, timezone

import pytest

from tokens import services

NOW = datetime(2026, 11, 24, 4, 0, 10, tzinfo=timezone.utc)


def test_it_counts_per_subject_and_scope_and_resets_with_the_window(monkeypatch):
    state = {"now": NOW}
    monkeypatch.setattr("tokens.clock.now", lambda: state["now"])
    rate = services.Rate(limit=2, period_s=60)
    hits = [services.rate_check(scope="mint", subject="user:1", rate=rate) for _ in range(3)]
    assert hits == [None, None, 50]
    assert services.rate_check(scope="mint", subject="user:2", rate=rate) is None
    assert services.rate_check(scope="signin-user", subject="user:1", rate=rate) is None
    state["now"] = NOW + timedelta(seconds=50)
    assert services.rate_check(scope="mint", subject="user:1", rate=rate) is None
