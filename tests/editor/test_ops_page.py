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
    assert '<img src="/v3/public/signed-abc" alt="Output shop/shoe.png"' in html
    assert "(expired)" in html and "shop/gone.png" in html
    assert "The input is not an image: upload JPEG, PNG, WebP or AVIF." in html
    assert "812 ms" in html
    assert "&quot;input_file_path&quot;: &quot;shop/shoe.jpg&quot;" in html
    assert '<option value="zeta"' in html
    assert upstream["jobs"] == [{"api_key": CANARY_KEY, "status": "", "account": "", "page": 1}]
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


def test_filters_and_page_are_passed_upstream_and_kept_in_the_links(staff, upstream):
    upstream["page"] = page_of(ops_job(), page=2, pages=3, count=41)
    html = staff.get("/ops/", {"status": "failed", "account": "acme", "page": "2"}).content.decode()
    assert upstream["jobs"][-1] == {"api_key": CANARY_KEY, "status": "failed", "account": "acme", "page": 2}
    assert 'href="?status=failed&amp;account=acme&amp;page=1" rel="prev"' in html
    assert 'href="?status=failed&amp;account=acme&amp;page=3" rel="next"' in html
    assert '<option value="failed" selected>' in html
    assert '<option value="acme" selected>' in html


@pytest.mark.parametrize(("query", "expected"), [
    ({"status": "bogus", "page": "x"}, {"status": "", "page": 1}),
    ({"page": "-4"}, {"status": "", "page": 1}),
    ({"status": "running", "page": "7"}, {"status": "running", "page": 7}),
])
def test_unknown_filter_values_are_ignored(staff, upstream, query, expected):
    staff.get("/ops/", query)
    sent = upstream["jobs"][-1]
    assert (sent["status"], sent["page"]) == (expected["status"], expected["page"])


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
    assert "@media (max-width: 40rem)" in html
