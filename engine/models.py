"""The engine's records: accounts, their API keys, their files, and the job log."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models


class Account(models.Model):
    name = models.SlugField(max_length=64, unique=True)
    credits = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    # None means the BGCUT_QUOTA_BYTES default.
    quota_bytes = models.BigIntegerField(null=True, blank=True)
    # Operators may read every account's job log (the ops review page).
    is_operator = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name

    @property
    def effective_quota_bytes(self) -> int:
        return self.quota_bytes if self.quota_bytes is not None else settings.BGCUT_QUOTA_BYTES


class ApiKey(models.Model):
    """A secret shown once; only its SHA-256 is stored (the key has 256 bits of entropy)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(max_length=16, help_text="The first characters, to tell keys apart.")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.account})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class StoredFile(models.Model):
    """A path in an account's space, pointing at an immutable blob in the blob store.

    Replacing a path writes a new blob and swaps the row, so readers never see a mix.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="files")
    path = models.CharField(max_length=1024)
    blob = models.CharField(max_length=64, unique=True)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=64)
    width = models.PositiveIntegerField(null=True)
    height = models.PositiveIntegerField(null=True)
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "path"], name="one_file_per_path")]

    def __str__(self) -> str:
        return f"{self.account}:{self.path}"


class Job(models.Model):
    """One tool call, for the ops review page."""

    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        FAILED = "failed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="jobs")
    tool = models.CharField(max_length=32)
    parameters = models.JSONField(default=dict)
    input_path = models.CharField(max_length=1024, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING, db_index=True)
    outputs = models.JSONField(default=list)
    error = models.TextField(blank=True)
    http_status = models.PositiveSmallIntegerField(null=True)
    started_at = models.DateTimeField(db_index=True)
    duration_ms = models.PositiveIntegerField(null=True)
    timings = models.JSONField(default=dict, help_text="Milliseconds per stage.")
    # What this call took from the balance; given back once, when the job leaves "running" failed.
    credits_charged = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    # AI Cut clicks on one image and output form a session (engine.jobs.job_session_of): the id of its
    # first click; null on that first click and on every other tool's job (their row is their own id).
    session = models.PositiveBigIntegerField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            # The previous click of a session: same account, tool and input, the latest first.
            models.Index(fields=["account", "tool", "input_path", "started_at"], name="job_session_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.tool} {self.status} ({self.account})"
