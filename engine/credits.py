"""Credit balances: exact decimals, changed under a row lock so no two calls spend the same credit."""
from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from engine.errors import ApiError
from engine.metrics import credits_charged_add
from engine.models import Account

CENT = Decimal("0.01")


def credits_amount(value: Decimal | int | str | float) -> Decimal:
    """A number of credits as an exact two-place decimal; a float goes through its shortest repr
    (0.1 -> "0.1"), never its binary value (0.1000000000000000055...)."""
    return Decimal(str(value) if isinstance(value, float) else value).quantize(CENT)


def credits_take(*, account_id: int, amount: Decimal) -> None:
    """Take `amount` atomically, or raise a 402 and take nothing."""
    amount = credits_amount(amount)
    with transaction.atomic():
        # The arithmetic happens here in Decimal: SQLite would do it in binary floating point,
        # where 0.30 - 0.10 - 0.10 < 0.10.
        available = Account.objects.select_for_update().values_list("credits", flat=True).get(pk=account_id)
        if available < amount:
            raise ApiError(402, f"Insufficient credits. Required: {amount:.2f}, available: {available:.2f}")
        Account.objects.filter(pk=account_id).update(credits=available - amount)


def credits_give_back(*, account_id: int, amount: Decimal) -> None:
    amount = credits_amount(amount)
    with transaction.atomic():
        available = Account.objects.select_for_update().values_list("credits", flat=True).get(pk=account_id)
        Account.objects.filter(pk=account_id).update(credits=available + amount)
