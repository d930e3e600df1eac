"""/ops/: staff only, the v3 job log through tokens.client with the server's key."""
import pytest
from django.test import Client

from tests.tokens.fakes import CANARY_KEY, ops_job
from tokens import client


@pytest.fixture
def upstream(monkeypatch, settings):
    """Patches the two client functions the page uses; records their arguments."""
    settings.BGCUT_API_KEY = CANARY_KEY
    settings.BGCUT_PUBLIC_API_BASE = ""
    state = {"jobs": [], "accounts": [], "error": None,
             "page": client.OpsJobPage(count=0, page=1, pages=1, results=())}

    def jobs(**kwargs):
        state["jobs"].append(kwargs)
        if state["error"]:
            raise state["error"]
        return state["page"]

    def accounts(**kwargs):
        state["accounts"].append(kwargs)
        return ["acme", "zeta"]

    monkeypatch.setattr(client, "ops_jobs_list", jobs)
    monkeypatch.setattr(client, "ops_accounts_list", accounts)
    return state


NO_FILTERS = {"tool": "", "status": "", "account": "", "within": "", "since": "", "until": "", "path": "",
              "page_size": ""}


def page_of(*raw_jobs, page=1, pages=1, count=None):
    return client.OpsJobPage(count=count if count is not None else len(raw_jobs), page=page, pages=pages,
                             results=tuple(client._job(job) for job in raw_jobs))


@pytest.fixture
def staff(django_user_model):
    browser = Client()
    browser.force_login(django_user_model.objects.create_user("root", password="pw-root-1234", is_staff=True))
    return browser


def test_anonymous_visitors_are_sent_to_sign_in(client, db, upstream):
    response = client.get("/ops/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/ops/"
    assert upstream["jobs"] == []


def test_a_signed_in_user_who_is_not_staff_gets_403(django_user_model, upstream):
    browser = Client()
    browser.force_login(django_user_model.objects.create_user("alice", password="pw-alice-123"))
    response = browser.get("/ops/")
    assert response.status_code == 403
    assert "Staff only" in response.content.decode()
    assert upstream["jobs"] == []


def test_staff_see_jobs_with_thumbnails_errors_and_parameters(staff, upstream):
    upstream["page"] = page_of(
        ops_job(),
        ops_job(id="job-2", status="failed", error="The input is not an image: upload JPEG, PNG, WebP or AVIF.",
                outputs=[{"path": "shop/gone.png", "url": None}]),
    )
    response = staff.get("/ops/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="ops-job"') == 2
    assert '<img src="/v3/public/signed-abc" alt="Output shop/shoe.png" loading="lazy"' in html
    assert 'aria-label="Output shop/gone.png: expired or deleted">Expired</span>' in html
    assert "The input is not an image: upload JPEG, PNG, WebP or AVIF." in html
    assert "812 ms" in html
    assert "&quot;input_file_path&quot;: &quot;shop/shoe.jpg&quot;" in html
    assert '<option value="zeta"' in html
    assert upstream["jobs"] == [{"api_key": CANARY_KEY, "query": {**NO_FILTERS, "page": 1}}]
    assert upstream["accounts"] == [{"api_key": CANARY_KEY}]


def test_relative_thumbnail_urls_point_at_the_public_api_base(staff, upstream, settings):
    settings.BGCUT_PUBLIC_API_BASE = "https://api.example"
    upstream["page"] = page_of(ops_job())
    html = staff.get("/ops/").content.decode()
    assert 'src="https://api.example/v3/public/signed-abc"' in html


@pytest.mark.parametrize(("public_base", "url", "shown"), [
    ("", "http://internal:8000/v3/public/sig", "/v3/public/sig"),
    ("https://api.example", "http://internal:8000/v3/public/sig", "https://api.example/v3/public/sig"),
    ("https://api.example", "https://cdn.example/v3/public/sig", "https://cdn.example/v3/public/sig"),
])
def test_absolute_thumbnail_urls_from_the_internal_base_are_rewritten_for_browsers(
        staff, upstream, settings, public_base, url, shown):
    settings.BGCUT_API_BASE = "http://internal:8000"
    settings.BGCUT_PUBLIC_API_BASE = public_base
    upstream["page"] = page_of(ops_job(outputs=[{"path": "shop/shoe.png", "url": url}]))
    assert f'<img src="{shown}"' in staff.get("/ops/").content.decode()


def test_filters_and_page_are_passed_upstream_and_kept_in_the_form_and_the_links(staff, upstream):
    upstream["page"] = page_of(ops_job(), page=2, pages=3, count=41)
    query = {"tool": "ai-cut", "status": "failed", "account": "acme", "since": "2026-11-24T10:00",
             "until": "2026-11-25T10:00", "path": "shop/", "page_size": "50", "page": "2"}
    html = staff.get("/ops/", query).content.decode()
    assert upstream["jobs"][-1]["query"] == {**NO_FILTERS, **query, "page": 2}
    assert ('href="?tool=ai-cut&amp;status=failed&amp;account=acme&amp;since=2026-11-24T10%3A00&amp;'
            'until=2026-11-25T10%3A00&amp;path=shop%2F&amp;page_size=50&amp;page=1" rel="prev"') in html
    assert 'page_size=50&amp;page=3" rel="next"' in html
    for selected in ('<option value="failed" selected>', '<option value="acme" selected>',
                     '<option value="ai-cut" selected>', '<option value="50" selected>'):
        assert selected in html
    assert 'name="since" type="datetime-local" value="2026-11-24T10:00"' in html
    assert 'name="path" type="search" value="shop/"' in html
    assert "Clear filters" in html


def test_a_time_preset_is_passed_upstream_and_selected(staff, upstream):
    html = staff.get("/ops/", {"within": "24h"}).content.decode()
    assert upstream["jobs"][-1]["query"]["within"] == "24h"
    assert '<option value="24h" selected>Last 24 hours</option>' in html


def test_filters_the_engine_refuses_are_shown_in_its_words_with_the_form(staff, upstream):
    upstream["error"] = client.UpstreamFailed("until must be later than since.", status=400)
    response = staff.get("/ops/", {"since": "2026-11-25T10:00", "until": "2026-11-24T10:00"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "These filters cannot be used: until must be later than since." in html
    assert 'value="2026-11-25T10:00"' in html


def test_filter_values_are_trimmed_and_bounded_before_they_go_upstream(staff, upstream):
    staff.get("/ops/", {"path": "  shoe  ", "account": "x" * 500, "page": "-4", "colour": "red"})
    sent = upstream["jobs"][-1]["query"]
    assert (sent["path"], len(sent["account"]), sent["page"]) == ("shoe", 200, 1)
    assert "colour" not in sent


def test_an_ai_cut_session_is_one_row_with_its_clicks_in_its_detail(staff, upstream):
    clicks = [ops_job(id=n, tool="ai-cut", started_at=f"2026-11-24T03:00:{n:02d}Z", duration_ms=40 + n,
                      parameters={"output_path": "shop/cut.jpg", "foreground_points": [[1, 2]] * n,
                                  "background_points": [[5, 5]]},
                      timings={"segment": 38, "store": 2}, outputs=[{"path": "shop/cut.jpg", "url": "/v3/public/s"}])
              for n in (1, 2, 3)]
    clicks[1] = {**clicks[1], "status": "failed", "error": "The model timed out.", "http_status": 504}
    session = {"clicks": 3, "failed": 1, "total_ms": 126, "first_started_at": "2026-11-24T03:00:01Z", "jobs": clicks}
    upstream["page"] = page_of({**clicks[2], "session": session}, ops_job(id=9))
    html = staff.get("/ops/").content.decode()
    assert html.count('data-testid="ops-job"') == 2
    assert html.count('data-testid="session-click"') == 3
    assert "session · 3 clicks" in html and "(1 click failed)" in html
    assert "126 ms" in html and "over 2 s" in html
    assert "3 include, 1 exclude" in html and "segment 38 ms · store 2 ms" in html
    assert "The model timed out." in html
    assert 'aria-controls="detail-3"' in html and 'id="detail-3" hidden' in html


def test_a_job_detail_reads_parameters_timings_and_error_as_words(staff, upstream):
    upstream["page"] = page_of(ops_job(
        status="failed", error="The input is not an image.", http_status=415, timings={"decode": 10, "alpha": 200},
        parameters={"quality": "high", "mask_file_path": None,
                    "variants": [{"output_file_path": "shop/a.png", "format": "png", "autocrop": False}]}))
    html = staff.get("/ops/").content.decode()
    assert "<dt>variants 1</dt><dd>output file path: shop/a.png, format: png, autocrop: no</dd>" in html
    assert "<dt>mask file path</dt><dd>–</dd>" in html and "<dt>quality</dt><dd>high</dd>" in html
    assert 'style="width: 5%"' in html and 'style="width: 100%"' in html and "200 ms" in html
    assert "Failed (HTTP 415):</strong> The input is not an image." in html


def test_an_empty_log_says_so(staff, upstream):
    assert "No jobs yet." in staff.get("/ops/").content.decode()


@pytest.mark.parametrize(("failure", "words"), [
    (client.ApiKeyRejected("no"), "operator account"),
    (client.UpstreamUnreachable("down"), "BGCUT_API_BASE"),
    (client.UpstreamTimeout("slow"), "did not answer in time"),
    (client.UpstreamRateLimited("busy", retry_after=5), "reload in 5 seconds"),
])
def test_an_unavailable_job_log_is_explained_in_words(staff, upstream, failure, words):
    upstream["error"] = failure
    response = staff.get("/ops/")
    assert response.status_code == 502
    assert words in response.content.decode()


def test_the_ops_page_fits_a_phone(staff, upstream):
    upstream["page"] = page_of(ops_job())
    html = staff.get("/ops/").content.decode()
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "ops/ops.css" in html and "ops/ops.js" in html
