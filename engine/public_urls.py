"""Signed, short-lived download URLs that need no header and never outlive their file."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from engine import clock
from engine.errors import ApiError
from engine.models import StoredFile

_SALT = "bgcut.v3.public-url"


def public_url_sign(*, stored: StoredFile) -> tuple[str, datetime]:
    """(relative URL, expiry) for this exact blob: the TTL or the file's expiry, whichever is first."""
    expires_at = min(clock.now() + timedelta(seconds=settings.BGCUT_PUBLIC_URL_TTL), stored.expires_at)
    token = signing.dumps({"f": stored.pk, "b": stored.blob, "e": expires_at.timestamp()}, salt=_SALT)
    return reverse("v3-public-file", kwargs={"token": token}), expires_at


def public_url_resolve(*, token: str) -> StoredFile:
    """The file a public URL names, or a 404 (tampered, expired, replaced or deleted alike)."""
    gone = ApiError(404, "This link has expired or its file no longer exists: ask for a new link.")
    try:
        payload = signing.loads(token, salt=_SALT)
        file_id, blob, expires_at = int(payload["f"]), str(payload["b"]), float(payload["e"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise gone
    now = clock.now()
    if now.timestamp() >= expires_at:
        raise gone
    stored = StoredFile.objects.filter(pk=file_id, blob=blob, expires_at__gt=now).first()
    if stored is None:
        raise gone
    return stored
