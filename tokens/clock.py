"""The one time seam for tokens/ and editor/: tests patch `now`, nothing sleeps."""
from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return timezone.now()
