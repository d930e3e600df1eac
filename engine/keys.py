"""API keys: created with a secret shown once, stored as a digest, revocable."""
from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import transaction

from engine import clock
from engine.models import Account, ApiKey

KEY_PREFIX = "bgc_"


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def account_get_or_create(*, name: str, operator: bool | None = None) -> Account:
    account, created = Account.objects.get_or_create(
        name=name, defaults={"credits": settings.BGCUT_DEFAULT_CREDITS, "is_operator": bool(operator)}
    )
    if not created and operator is not None and account.is_operator != operator:
        account.is_operator = operator
        account.save(update_fields=["is_operator"])
    return account


@transaction.atomic
def api_key_create(*, account: Account) -> tuple[ApiKey, str]:
    """Return the stored key and the raw secret, which is never stored or shown again."""
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(account=account, prefix=raw[:10], digest=_digest(raw))
    return key, raw


def api_key_find(*, raw_key: str) -> ApiKey | None:
    """The active key with this secret, or None."""
    key = ApiKey.objects.select_related("account").filter(digest=_digest(raw_key)).first()
    return key if key is not None and key.is_active else None


def api_key_revoke(*, key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at"])
