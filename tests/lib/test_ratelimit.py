"""The one rate parser and fixed-window counter shared by /v3/, /mint-token/ and sign-in."""
import pytest

from lib.ratelimit import Rate, rate_hit, rate_parse, rate_peek


@pytest.mark.parametrize(("text", "limit", "period"), [
    ("30/min", 30, 60), ("5/s", 5, 1), (" 100 / hour ", 100, 3600), ("1/day", 1, 86400),
    ("300/minute", 300, 60), ("2/seconds", 2, 1),
])
def test_it_parses_every_spelling_of_a_period(text, limit, period):
    assert rate_parse(text) == Rate(limit=limit, period_s=period)


@pytest.mark.parametrize("text", ["", "30", "x/min", "30/fortnight", "0/min", "-1/min"])
def test_it_refuses_a_malformed_rate(text):
    with pytest.raises(ValueError):
        rate_parse(text)


def test_a_window_counts_down_then_refuses_until_it_resets():
    rate = Rate(limit=2, period_s=60)
    first, second, third = (rate_hit(scope="t", subject="a", rate=rate, now=1000.0) for _ in range(3))
    assert (first.allowed, second.allowed, third.allowed) == (True, True, False)
    assert (first.remaining, second.remaining, third.remaining) == (1, 0, 0)
    assert third.reset_at == 1020 and third.retry_after == 20
    assert rate_hit(scope="t", subject="a", rate=rate, now=1020.0).allowed


def test_a_peek_reports_the_window_without_counting():
    rate = Rate(limit=2, period_s=60)
    assert rate_peek(scope="p", subject="a", rate=rate, now=1000.0).remaining == 2
    rate_hit(scope="p", subject="a", rate=rate, now=1000.0)
    peeked = [rate_peek(scope="p", subject="a", rate=rate, now=1001.0) for _ in range(3)]
    assert [(p.allowed, p.remaining) for p in peeked] == [(True, 1)] * 3
    rate_hit(scope="p", subject="a", rate=rate, now=1002.0)
    full = rate_peek(scope="p", subject="a", rate=rate, now=1005.0)
    assert (full.allowed, full.remaining, full.retry_after) == (False, 0, 15)
    assert rate_peek(scope="p", subject="a", rate=rate, now=1020.0).allowed
