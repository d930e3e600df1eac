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


# ---- Filters, search, AI Cut sessions, paging, validation ------------------------------------

from engine.jobs import job_record  # noqa: E402


@pytest.fixture
def operator(make_account, key_client):
    _, key = make_account("ops", is_operator=True)
    return key_client(key)


def log(account, tool="remove-bg", *, input_path="in/photo.jpg", output="out/cut.png", fail=False):
    """One call through the job log as a tool view makes it (AI Cut names its output in the parameters)."""
    parameters = {"output_path": output, "foreground_points": [[1, 1]]} if tool == "ai-cut" else {"quality": "high"}
    try:
        with job_record(account=account, tool=tool, parameters=parameters, input_path=input_path) as job:
            if fail:
                raise ApiError(415, "The input is not an image.")
            job.outputs = [output]
            job.timings = {"segment": 40, "store": 2}
    except ApiError:
        pass
    return job


def rows(operator, **query):
    response = operator.get("/v3/ops/jobs/", query)
    assert response.status_code == 200, response.content
    return response.json()


from engine.errors import ApiError  # noqa: E402


def test_consecutive_ai_cut_clicks_on_one_image_and_output_are_one_session_row(make_account, operator, clock):
    shop, _ = make_account("shop")
    for _ in range(3):
        log(shop, "ai-cut")
        clock.advance(seconds=20)
    log(shop, "remove-bg")  # another tool in between does not end the session
    clock.advance(seconds=20)
    last = log(shop, "ai-cut", fail=True)
    page = rows(operator)
    assert page["count"] == 2
    session_row = page["results"][0]
    assert session_row["id"] == last.pk and session_row["status"] == "failed"
    session = session_row["session"]
    assert (session["clicks"], session["failed"], len(session["jobs"])) == (4, 1, 4)
    assert [j["started_at"] for j in session["jobs"]] == sorted(j["started_at"] for j in session["jobs"])
    assert session["first_started_at"] == session["jobs"][0]["started_at"]
    assert session["total_ms"] == sum(j["duration_ms"] for j in session["jobs"])
    assert page["results"][1]["tool"] == "remove-bg" and page["results"][1]["session"] is None


def test_a_pause_another_output_image_or_account_starts_a_new_session(make_account, operator, clock):
    shop, _ = make_account("shop")
    other, _ = make_account("other")
    log(shop, "ai-cut")
    clock.advance(minutes=14)
    log(shop, "ai-cut")  # within the gap of the previous click: same session
    clock.advance(minutes=16)
    log(shop, "ai-cut")  # a pause longer than the gap
    log(shop, "ai-cut", output="out/other.jpg")
    log(shop, "ai-cut", input_path="in/second.jpg")
    log(other, "ai-cut")
    page = rows(operator, tool="ai-cut")
    assert sorted(r["session"]["clicks"] for r in page["results"]) == [1, 1, 1, 1, 2]


def test_filters_select_by_tool_status_account_and_time(make_account, operator, clock):
    shop, _ = make_account("shop")
    other, _ = make_account("other")
    log(shop, fail=True)
    clock.advance(hours=2)
    log(other)
    log(shop, "ai-cut")
    assert {r["tool"] for r in rows(operator, tool="ai-cut")["results"]} == {"ai-cut"}
    assert [r["status"] for r in rows(operator, status="failed")["results"]] == ["failed"]
    assert {r["account"] for r in rows(operator, account="other")["results"]} == {"other"}
    assert rows(operator, account="nobody")["count"] == 0
    assert rows(operator, within="1h")["count"] == 2
    assert rows(operator, since="2026-11-24T13:00:00Z")["count"] == 2
    assert rows(operator, until="2026-11-24T13:00")["count"] == 1  # no offset: UTC
    assert rows(operator, since="2026-11-24T11:00:00+00:00", until="2026-11-24T12:00:01Z")["count"] == 1
    assert rows(operator, tool="", status="", account="")["count"] == 3  # a form's empty fields filter nothing


def test_path_search_finds_input_or_output_paths_containing_the_text_in_any_case(make_account, operator):
    shop, _ = make_account("shop")
    log(shop, input_path="catalog/Shoe-red.jpg", output="exports/shoe.png")
    log(shop, input_path="catalog/bag.jpg", output="exports/BAG-cutout.webp")
    log(shop, input_path="misc/x.jpg", output="misc/y.png", fail=True)
    assert [r["input_path"] for r in rows(operator, path="shoe-RED")["results"]] == ["catalog/Shoe-red.jpg"]
    assert [r["input_path"] for r in rows(operator, path="bag-cut")["results"]] == ["catalog/bag.jpg"]
    assert rows(operator, path="exports/")["count"] == 2
    assert rows(operator, path="catalog")["count"] == 2
    assert rows(operator, path="nothing")["count"] == 0


def test_pages_hold_page_size_rows_and_a_session_counts_as_one(make_account, operator, clock):
    shop, _ = make_account("shop")
    for n in range(5):
        log(shop, input_path=f"in/{n}.jpg")
        clock.advance(seconds=1)
    for _ in range(4):
        log(shop, "ai-cut")
        clock.advance(seconds=1)
    first = rows(operator, page_size=2)
    assert (first["count"], first["pages"], first["page_size"], len(first["results"])) == (6, 3, 2, 2)
    assert first["results"][0]["session"]["clicks"] == 4
    last = rows(operator, page_size=2, page=3)
    assert [r["input_path"] for r in last["results"]] == ["in/1.jpg", "in/0.jpg"]
    assert rows(operator)["page_size"] == 25


@pytest.mark.parametrize(("query", "words"), [
    ({"page_size": "0"}, "page_size must be a whole number from 1 to 100."),
    ({"page_size": "101"}, "page_size must be a whole number from 1 to 100."),
    ({"page": "0"}, "page must be a whole number from 1."),
    ({"page": "2"}, "page must be a whole number from 1 to 1."),
    ({"tool": "paint"}, "tool must be one of remove-bg, ai-cut."),
    ({"status": "weird"}, "status must be one of running, ok, failed."),
    ({"since": "yesterday"}, "since must be a date and time like 2026-11-30T13:00:00Z"),
    ({"within": "2h"}, "within must be one of 1h, 24h, 7d, 30d."),
    ({"within": "1h", "since": "2026-11-24T10:00Z"}, "within cannot be sent with since or until"),
    ({"since": "2026-11-24T10:00Z", "until": "2026-11-24T10:00Z"}, "until must be later than since."),
    ({"path": "../x"}, None),
    ({"path": "a" * 201}, "path must be 1 to 200 path characters"),
    ({"account": "no spaces"}, "account must be an account name"),
    ({"colour": "red"}, "colour is an unknown field"),
])
def test_a_bad_query_is_a_400_that_names_the_parameter(operator, query, words):
    response = operator.get("/v3/ops/jobs/", query)
    if words is None:  # ".." is only characters of paths: searching for it is allowed
        assert response.status_code == 200
        return
    assert response.status_code == 400
    assert response.json()["detail"].startswith(words), response.json()


def test_inputs_get_a_signed_url_while_they_exist(make_account, key_client, operator, clock):
    from tests.images import image_bytes, upload_file

    shop, shop_key = make_account("shop")
    key_client(shop_key).post("/v3/file-ops/upload/", {"files": [upload_file("a.jpg", image_bytes())],
                                                       "upload_path": "in"}, format="multipart")
    log(shop, input_path="in/a.jpg", output="out/never-written.png")
    log(shop, input_path="in/missing.jpg")
    by_input = {r["input_path"]: r for r in rows(operator)["results"]}
    assert by_input["in/a.jpg"]["input_url"].startswith("http://testserver/v3/public/")
    assert by_input["in/a.jpg"]["outputs"] == [{"path": "out/never-written.png", "url": None}]
    assert by_input["in/missing.jpg"]["input_url"] is None
    clock.advance(hours=3)
    assert {r["input_url"] for r in rows(operator)["results"]} == {None}


def test_the_schema_shows_the_query_parameters_and_their_bounds(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    parameters = {p["name"]: p for p in schema["paths"]["/v3/ops/jobs/"]["get"]["parameters"]}
    assert {"tool", "status", "account", "since", "until", "within", "path", "page", "page_size"} <= set(parameters)
    assert parameters["page_size"]["schema"]["maximum"] == 100
    assert parameters["tool"]["schema"]["enum"] == ["remove-bg", "ai-cut"]
    row = schema["components"]["schemas"]["JobRow"]["properties"]
    assert "session" in row and "input_url" in row


@pytest.mark.django_db(transaction=True)
def test_the_migration_groups_ai_cut_jobs_logged_before_sessions_existed():
    from datetime import datetime, timedelta, timezone

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate([("engine", "0002_job_credits_charged")])
    old = executor.loader.project_state([("engine", "0002_job_credits_charged")]).apps
    account = old.get_model("engine", "Account").objects.create(name="before")
    OldJob = old.get_model("engine", "Job")
    start = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)

    def click(minutes, output="o/cut.jpg", tool="ai-cut"):
        return OldJob.objects.create(account=account, tool=tool, input_path="i/a.jpg", started_at=start + timedelta(
            minutes=minutes), parameters={"output_path": output} if tool == "ai-cut" else {}).pk

    first, second, third = click(0), click(10), click(24)  # each within 15 minutes of the one before
    after_pause, other_output, remove_bg = click(40), click(41, output="o/b.jpg"), click(42, tool="remove-bg")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    sessions = dict(Job.objects.values_list("id", "session"))
    assert (sessions[first], sessions[second], sessions[third]) == (None, first, first)
    assert (sessions[after_pause], sessions[other_output], sessions[remove_bg]) == (None, None, None)
