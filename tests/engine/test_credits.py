"""Credits are exact decimals: charged once per call, given back once when a call fails."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from engine.credits import credits_take
from engine.errors import ApiError
from engine.jobs import job_record
from engine.models import Account, Job
from tests.engine.test_tools import fake_store  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_thirty_cents_buys_exactly_three_clicks_at_ten_cents(make_account, settings):
    settings.BGCUT_DEFAULT_CREDITS = Decimal("0.30")
    account, _ = make_account("thrifty")
    for _ in range(3):
        credits_take(account_id=account.pk, amount=Decimal("0.10"))
    with pytest.raises(ApiError) as refused:
        credits_take(account_id=account.pk, amount=Decimal("0.10"))
    assert refused.value.status == 402
    assert Account.objects.get(pk=account.pk).credits == Decimal("0.00")


def test_credit_settings_are_decimals_read_from_their_text(settings):
    from django.conf import settings as live

    assert isinstance(live.BGCUT_DEFAULT_CREDITS, Decimal)
    assert live.BGCUT_CREDIT_COST_AI_CUT == Decimal("0.10")
    assert isinstance(live.BGCUT_CREDIT_COST_REMOVE_BG, Decimal)


def test_a_failed_call_is_refunded_once_and_the_job_records_the_charge(make_account):
    account, _ = make_account("acme", credits=Decimal("1.00"))
    with pytest.raises(RuntimeError):
        with job_record(account=account, tool="remove-bg", parameters={}, cost=Decimal("0.40")) as job:
            assert Account.objects.get(pk=account.pk).credits == Decimal("0.60")
            raise RuntimeError("boom")
    job = Job.objects.get(pk=job.pk)
    assert (job.status, job.credits_charged) == ("failed", Decimal("0.40"))
    assert Account.objects.get(pk=account.pk).credits == Decimal("1.00")


def test_a_job_the_sweeper_gave_up_is_not_refunded_again_when_it_fails_late(make_account, clock):
    from engine.jobs import jobs_fail_abandoned

    account, _ = make_account("acme", credits=Decimal("1.00"))
    with pytest.raises(RuntimeError):
        with job_record(account=account, tool="remove-bg", parameters={}, cost=Decimal("0.40")):
            clock.advance(hours=1)
            assert jobs_fail_abandoned(started_before=clock()) == (1, Decimal("0.40"))
            raise RuntimeError("the request fails after all")
    assert Account.objects.get(pk=account.pk).credits == Decimal("1.00"), "refunded once, not twice"
    assert jobs_fail_abandoned(started_before=clock()) == (0, Decimal(0))


def test_thirty_cents_buys_three_ai_cut_clicks_through_the_api(make_account, key_client, settings, fake_store):
    from tests.engine.test_tools import AI_CUT, put

    settings.BGCUT_DEFAULT_CREDITS = Decimal("0.30")
    settings.BGCUT_CREDIT_COST_AI_CUT = Decimal("0.10")
    _, raw = make_account("thrifty")
    client = key_client(raw)
    put(client)
    body = {"input_file_path": "p/p.jpg", "foreground_points": [{"x": 160, "y": 120}]}
    statuses = [client.post(AI_CUT, {**body, "output_file_path": f"p/s{n}.jpg"}, format="json").status_code
                for n in range(4)]
    assert statuses == [200, 200, 200, 402]


@pytest.mark.django_db
def test_the_sqlite_ledger_logs_ahead_and_syncs_every_commit():
    """Write-ahead logging syncs once per commit (the rollback journal's three cost 18 ms each, four times a
    click); synchronous=FULL still makes every committed charge survive a power cut."""
    if connection.vendor != "sqlite":
        pytest.skip("a SQLite setting")
    with connection.cursor() as cursor:
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        synchronous = cursor.execute("PRAGMA synchronous").fetchone()[0]
    assert (mode, synchronous) == ("wal", 2)  # 2 is FULL
