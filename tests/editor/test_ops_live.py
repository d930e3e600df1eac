"""/ops/ against the live embedded engine's job log (GET /v3/ops/jobs/ with an operator's key)."""
import io
import re
from html import unescape

import pytest
import requests
from django.core.management import call_command
from django.test import Client

from tests.images import image_bytes

pytestmark = pytest.mark.django_db(transaction=True)


def new_key(account, *flags):
    out = io.StringIO()
    call_command("create_api_key", account, *flags, stdout=out, stderr=io.StringIO())
    return out.getvalue().strip().splitlines()[-1]


def test_staff_see_a_real_job_with_a_loadable_thumbnail(live_server, settings, django_user_model):
    settings.BGCUT_API_BASE = live_server.url
    settings.BGCUT_PUBLIC_API_BASE = live_server.url
    settings.BGCUT_API_KEY = new_key("site", "--operator")
    customer = {"Authorization": f"Token {new_key('shopco')}"}
    api = live_server.url

    # A job that needs no model: the mask is given, so remove-bg only renders.
    for name, data in (("photo.png", image_bytes("PNG", size=(32, 24))),
                       ("mask.png", image_bytes("PNG", size=(32, 24), color=255, mode="L"))):
        uploaded = requests.post(f"{api}/v3/file-ops/upload/", headers=customer, timeout=30,
                                 files={"files": (name, data, "image/png")}, data={"upload_path": "ops"})
        assert uploaded.status_code == 200, uploaded.text
    done = requests.post(f"{api}/v3/tools/ai/remove-bg/process/", headers=customer, timeout=60, json={
        "input_file_path": "ops/photo.png", "mask_file_path": "ops/mask.png",
        "output_variants": [{"output_file_path": "ops/cut.png", "format": "png"}]})
    assert done.status_code == 200, done.text

    staff = Client()
    staff.force_login(django_user_model.objects.create_user("root", password="pw-root-1234", is_staff=True))
    page = staff.get("/ops/", {"account": "shopco"})
    assert page.status_code == 200, page.content
    html = page.content.decode()
    assert html.count('data-testid="ops-job"') == 1
    assert "remove-bg" in html and "ops/photo.png" in html and "ops/cut.png" in html
    (thumbnail,) = re.findall(r'<img src="([^"]+)" alt="Output ops/cut.png"', html)
    image = requests.get(unescape(thumbnail), timeout=30)  # signed: no Authorization header
    assert image.status_code == 200
    assert image.content.startswith(b"\x89PNG")
    (input_thumbnail,) = re.findall(r'<img src="([^"]+)" alt="Input ops/photo.png"', html)
    assert requests.get(unescape(input_thumbnail), timeout=30).content.startswith(b"\x89PNG")

    # The filters reach the engine's query: a path search and a tool that matches nothing.
    assert staff.get("/ops/", {"path": "OPS/CUT"}).content.decode().count('data-testid="ops-job"') == 1
    assert 'data-testid="ops-job"' not in staff.get("/ops/", {"tool": "ai-cut"}).content.decode()
    refused = staff.get("/ops/", {"page_size": "500"})
    assert refused.status_code == 400
    assert "page_size must be a whole number from 1 to 100." in refused.content.decode()

    assert "shopco" in staff.get("/ops/", {"status": "failed"}).content.decode()  # the account filter lists it
    assert 'data-testid="ops-job"' not in staff.get("/ops/", {"status": "failed"}).content.decode()
