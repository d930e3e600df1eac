"""The operators' job log: filtered jobs, grouped into rows (an AI Cut session is one row), a page at a time."""
from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import EmptyPage, Paginator
from django.db.models import BigIntegerField, Count, F, Max, Min, Q, QuerySet, Sum, TextField, Window
from django.db.models.functions import Cast, Coalesce, RowNumber

from engine.errors import ApiError
from engine.jobs import SESSION_TOOL
from engine.models import Job
from engine.serializers import JobQuery

# A session's row lists its latest clicks, at most this many (its count says how many there were).
MAX_CLICKS_LISTED = 100


@dataclass(frozen=True)
class JobRow:
    """One row of the log: a single job, or an AI Cut session (`clicks` oldest first, `jobs` its count)."""

    key: int
    clicks: tuple[Job, ...]
    jobs: int
    failed: int
    total_ms: int
    first_started_at: object
    is_session: bool

    @property
    def last(self) -> Job:
        return self.clicks[-1]


@dataclass(frozen=True)
class RowPage:
    count: int
    page: int
    pages: int
    page_size: int
    rows: tuple[JobRow, ...]


def jobs_filter(*, query: JobQuery) -> QuerySet:
    jobs = Job.objects.all()
    if query.tool:
        jobs = jobs.filter(tool=query.tool)
    if query.status:
        jobs = jobs.filter(status=query.status)
    if query.account:
        jobs = jobs.filter(account__name=query.account)
    if query.since:
        jobs = jobs.filter(started_at__gte=query.since)
    if query.until:
        jobs = jobs.filter(started_at__lt=query.until)
    if query.path:
        # Paths are JSON strings without escapes (engine.paths), so the text of `outputs` holds them as they are.
        jobs = jobs.annotate(outputs_text=Cast("outputs", TextField())).filter(
            Q(input_path__icontains=query.path) | Q(outputs_text__icontains=query.path))
    # Every job is in a row: its session's, or its own.
    return jobs.annotate(row=Coalesce("session", "id", output_field=BigIntegerField()))


def job_rows_page(*, query: JobQuery) -> RowPage:
    """The page of rows `query` asks for, newest activity first; a page past the last is a 400."""
    jobs = jobs_filter(query=query)
    rows = (jobs.values("row").annotate(last_at=Max("started_at"), first_at=Min("started_at"), jobs=Count("id"),
                                        failed=Count("id", filter=Q(status=Job.Status.FAILED)),
                                        total_ms=Sum("duration_ms"))
            .order_by("-last_at", "-row"))
    paginator = Paginator(rows, query.page_size)
    try:
        page = paginator.page(query.page)
    except EmptyPage:
        raise ApiError(400, f"page must be a whole number from 1 to {paginator.num_pages}.") from None
    summaries = list(page)
    latest = (jobs.filter(row__in=[r["row"] for r in summaries])
              .annotate(recency=Window(RowNumber(), partition_by=F("row"), order_by=[F("started_at").desc(), F("id").desc()]))
              .filter(recency__lte=MAX_CLICKS_LISTED).select_related("account").order_by("started_at", "id"))
    clicks: dict[int, list[Job]] = {}
    for job in latest:
        clicks.setdefault(job.row, []).append(job)
    return RowPage(
        count=paginator.count, page=page.number, pages=paginator.num_pages, page_size=query.page_size,
        rows=tuple(
            JobRow(key=r["row"], clicks=tuple(clicks[r["row"]]), jobs=r["jobs"], failed=r["failed"],
                   total_ms=r["total_ms"] or 0, first_started_at=r["first_at"],
                   is_session=clicks[r["row"]][-1].tool == SESSION_TOOL)
            for r in summaries
        ),
    )
