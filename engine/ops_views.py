"""Operator endpoints behind the ops review page: the job log across accounts."""
from __future__ import annotations

from django.core.paginator import EmptyPage, Paginator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from engine import clock, public_urls, schemas
from engine.auth import ApiKeyOnly
from engine.errors import ApiError
from engine.models import Account, Job, StoredFile
from engine.views import V3View

PAGE_SIZE = 25


class OperatorOnly(ApiKeyOnly):
    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        if not request.user.is_operator:
            raise ApiError(403, "Only an operator account may read the job log of every account.")
        return True


def _outputs_with_urls(job: Job, live: dict[tuple[int, str], StoredFile]) -> list[dict]:
    outputs = []
    for path in job.outputs:
        stored = live.get((job.account_id, path))
        outputs.append({"path": path, "url": public_urls.public_url_sign(stored=stored)[0] if stored else None})
    return outputs


class JobListView(V3View):
    permission_classes = [OperatorOnly]

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=[s.value for s in Job.Status]),
                               OpenApiParameter("account", str), OpenApiParameter("page", int)],
                   responses=schemas.JobPage)
    def get(self, request):
        jobs = Job.objects.select_related("account")
        status = request.query_params.get("status")
        if status:
            if status not in Job.Status.values:
                raise ApiError(400, f"status must be one of {', '.join(Job.Status.values)}.")
            jobs = jobs.filter(status=status)
        if request.query_params.get("account"):
            jobs = jobs.filter(account__name=request.query_params["account"])
        paginator = Paginator(jobs, PAGE_SIZE)
        try:
            number = int(request.query_params.get("page", 1))
            page = paginator.page(number)
        except (ValueError, EmptyPage):
            raise ApiError(400, f"page must be a whole number from 1 to {paginator.num_pages}.")
        wanted = {(job.account_id, path) for job in page for path in job.outputs}
        live = {
            (f.account_id, f.path): f
            for f in StoredFile.objects.filter(
                account_id__in={a for a, _ in wanted}, path__in={p for _, p in wanted}, expires_at__gt=clock.now()
            )
        }
        results = [
            {
                "id": job.pk, "account": job.account.name, "tool": job.tool, "parameters": job.parameters,
                "status": job.status, "error": job.error, "http_status": job.http_status,
                "started_at": job.started_at.isoformat(), "duration_ms": job.duration_ms,
                "timings": job.timings, "input_path": job.input_path,
                "outputs": [{**o, "url": request.build_absolute_uri(o["url"]) if o["url"] else None}
                            for o in _outputs_with_urls(job, live)],
            }
            for job in page
        ]
        return Response({"count": paginator.count, "page": page.number, "pages": paginator.num_pages,
                         "results": results})


class AccountListView(V3View):
    permission_classes = [OperatorOnly]

    @extend_schema(responses=schemas.AccountList)
    def get(self, request):
        return Response({"results": [{"name": name} for name in Account.objects.order_by("name")
                                     .values_list("name", flat=True)]})
