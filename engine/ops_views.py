"""Operator endpoints behind the ops review page: the job log across accounts."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from engine import clock, public_urls, schemas
from engine import serializers as bodies
from engine.auth import ApiKeyOnly
from engine.errors import ApiError
from engine.job_log import JobRow, job_rows_page
from engine.models import Account, Job, StoredFile
from engine.views import V3View


class OperatorOnly(ApiKeyOnly):
    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if not request.user.is_operator:
            raise ApiError(403, "Only an operator account may read the job log of every account.")
        return True


def _live_files(jobs: list[Job]) -> dict[tuple[int, str], StoredFile]:
    """The inputs and outputs of `jobs` that still exist, by (account, path): only those get a URL."""
    wanted = {(job.account_id, path) for job in jobs for path in [job.input_path, *job.outputs] if path}
    return {
        (f.account_id, f.path): f
        for f in StoredFile.objects.filter(
            account_id__in={a for a, _ in wanted}, path__in={p for _, p in wanted}, expires_at__gt=clock.now()
        )
        if (f.account_id, f.path) in wanted
    }


class JobListView(V3View):
    permission_classes = [OperatorOnly]

    @extend_schema(parameters=[bodies.OpsJobQuerySerializer], responses=schemas.JobPage)
    def get(self, request):
        query = bodies.request_validate(bodies.OpsJobQuerySerializer, request.query_params)
        page = job_rows_page(query=query)
        live = _live_files([job for row in page.rows for job in row.clicks])

        def url(job: Job, path: str) -> str | None:
            stored = live.get((job.account_id, path))
            return request.build_absolute_uri(public_urls.public_url_sign(stored=stored)[0]) if stored else None

        def entry(job: Job) -> dict:
            return {
                "id": job.pk, "account": job.account.name, "tool": job.tool, "parameters": job.parameters,
                "status": job.status, "error": job.error, "http_status": job.http_status,
                "started_at": job.started_at.isoformat(), "duration_ms": job.duration_ms,
                "timings": job.timings, "input_path": job.input_path,
                "input_url": url(job, job.input_path) if job.input_path else None,
                "outputs": [{"path": path, "url": url(job, path)} for path in job.outputs],
            }

        def row(item: JobRow) -> dict:
            session = None
            if item.is_session:
                session = {"clicks": item.jobs, "failed": item.failed, "total_ms": item.total_ms,
                           "first_started_at": item.first_started_at.isoformat(),
                           "jobs": [entry(job) for job in item.clicks]}
            return {**entry(item.last), "session": session}

        return Response({"count": page.count, "page": page.page, "pages": page.pages, "page_size": page.page_size,
                         "results": [row(item) for item in page.rows]})


class AccountListView(V3View):
    permission_classes = [OperatorOnly]

    @extend_schema(responses=schemas.AccountList)
    def get(self, request):
        return Response({"results": [{"name": name} for name in Account.objects.order_by("name")
                                     .values_list("name", flat=True)]})
