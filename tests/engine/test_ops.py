"""The operator job-log endpoints."""
import pytest

from engine import clock
from engine.models import Job

pytestmark = pytest.mark.django_db


def test_only_an_operator_key_may_read_the_job_log(make_account, key_client):
    _, plain = make_account("plain")
    assert key_client(plain).get("/v3/ops/jobs/").status_code == 403


def test_it_lists_jobs_filtered_and_paginated_with_urls_while_files_exist(make_account, key_client):
    from tests.images import image_bytes, upload_file

    operator, op_key = make_account("ops", is_operator=True)
    customer, customer_key = make_account("customer")
    key_client(customer_key).post("/v3/file-ops/upload/", {"files": [upload_file("a.jpg", image_bytes())],
                                                          "upload_path": "o"}, format="multipart")
    for n in range(30):
        Job.objects.create(account=customer, tool="remove-bg", status="ok" if n % 2 else "failed",
                           started_at=clock.now(), outputs=["o/a.jpg", "o/gone.png"])
    client = key_client(op_key)
    page = client.get("/v3/ops/jobs/", {"status": "ok", "account": "customer"}).json()
    assert (page["count"], page["pages"], len(page["results"])) == (15, 1, 15)
    outputs = page["results"][0]["outputs"]
    assert outputs[0]["url"].startswith("http://") and outputs[1]["url"] is None
    assert client.get("/v3/ops/jobs/", {"page": 2}).json()["page"] == 2
    assert client.get("/v3/ops/jobs/", {"page": 9}).status_code == 400
    assert client.get("/v3/ops/jobs/", {"status": "weird"}).status_code == 400
    assert {"name": "customer"} in client.get("/v3/ops/accounts/").json()["results"]
