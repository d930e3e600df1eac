"""Credit balances: taken before a tool runs, given back if it fails."""
from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal

from django.db.models import F

from engine.errors import ApiError
from engine.metrics import credits_charged_add
from engine.models import Account


def credits_take(*, account: Account, amount: Decimal) -> None:
    """Take `amount` atomically, or raise a 402 and take nothing."""
    taken = Account.objects.filter(pk=account.pk, credits__gte=amount).update(credits=F("credits") - amount)
    if not taken:
        available = Account.objects.values_list("credits", flat=True).get(pk=account.pk)
        raise ApiError(402, f"Insufficient credits. Required: {amount:.2f}, available: {available:.2f}")


def credits_give_back(*, account: Account, amount: Decimal) -> None:
    Account.objects.filter(pk=account.pk).update(credits=F("credits") + amount)


@contextmanager
def credits_hold(*, account: Account, amount: float | Decimal):
    """Charge for the block's work; a failed block is not charged."""
    amount = Decimal(str(amount)).quantize(Decimal("0.01"))
    credits_take(account=account, amount=amount)
    try:
        yield
    except BaseException:
        credits_give_back(account=account, amount=amount)
        raise
    credits_charged_add(amount)
