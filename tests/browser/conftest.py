"""Browser tests: a real gunicorn server (embedded engine, u2netp for every quality), Debian's
Chromium driven by Playwright, and a second origin that frames the embed page.

The server runs in a subprocess with its own database and storage under a temporary folder,
so these tests share nothing with pytest-django's test database.
"""
from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _manage(*args: str, env: dict) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _wait_for(url: str, *, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer at {url} within {timeout} s")


@dataclass(frozen=True)
class Server:
    base: str
    api_key: str
    parent_origin: str
    parent_port: int
    parent_dir: Path

    def file_bytes(self, path: str) -> bytes:
        """A stored file fetched the way a customer's backend would: with the API key."""
        response = requests.get(f"{self.base}/v3/files/{path}", headers={"Authorization": f"Token {self.api_key}"}, timeout=30)
        response.raise_for_status()
        return response.content


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    if not (ROOT / "models" / "u2netp.onnx").exists():
        pytest.fail("models/u2netp.onnx is missing: run `make models` first")
    var = tmp_path_factory.mktemp("bgcut-var")
    port = _free_port()
    parent_port = _free_port()
    base = f"http://127.0.0.1:{port}"
    # localhost and 127.0.0.1 are different origins (and sites): a real cross-origin parent.
    parent_origin = f"http://localhost:{parent_port}"
    u2netp = {"models": ["u2netp"]}
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY") or "browser-tests-only-" + "x" * 40,
        "DJANGO_DEBUG": "false",
        "BGCUT_VAR_DIR": str(var),
        "DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}",
        "CACHE_URL": "locmemcache://browser",
        "BGCUT_STORAGE_ROOT": str(var / "storage"),
        "BGCUT_QUALITY_PLANS": json.dumps({"high": u2netp, "medium": u2netp, "low": u2netp}),
        "BGCUT_AICUT_PRIOR_MODEL": "u2netp",
        "BGCUT_ONNX_THREADS": "2",
        "BGCUT_API_BASE": base,
        "BGCUT_PUBLIC_API_BASE": "",
        "BGCUT_MINT_TTL": str(MINT_TTL_S),
        "BGCUT_MINT_RATE": "1000/min",
        "BGCUT_RATE_LIMIT": "2000/min",
        "BGCUT_EMBED_ALLOWED_ORIGINS": parent_origin,
        "BGCUT_SWEEP_INTERVAL": "0",
        "BGCUT_INFERENCE_QUEUE": "8",
        "BGCUT_LOG_LEVEL": "WARNING",
    }
    env.pop("BGCUT_API_KEY", None)
    (var / "storage" / "tmp").mkdir(parents=True)  # Django checks FILE_UPLOAD_TEMP_DIR exists
    _manage("migrate", "--noinput", "-v", "0", env=env)
    api_key = _manage("create_api_key", "site", "--operator", env=env).strip().splitlines()[-1].strip()
    _manage("create_demo_user", "--username", USER[0], "--password", USER[1],
            "--staff-username", STAFF[0], "--staff-password", STAFF[1], env=env)
    env["BGCUT_API_KEY"] = api_key
    log = open(var / "server.log", "w")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "bgcut_site.wsgi", "--config", "gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "8", "--timeout", "120", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    parent_dir = tmp_path_factory.mktemp("parent-site")
    handler = partial(_QuietHandler, directory=str(parent_dir))
    parent = ThreadingHTTPServer(("127.0.0.1", parent_port), handler)
    threading.Thread(target=parent.serve_forever, daemon=True).start()
    try:
        _wait_for(f"{base}/accounts/login/", process=process)
        yield Server(base=base, api_key=api_key, parent_origin=parent_origin, parent_port=parent_port,
                     parent_dir=parent_dir)
    finally:
        parent.shutdown()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        failed_log = (var / "server.log").read_text()
        if failed_log.strip():
            sys.stderr.write("---- server log ----\n" + failed_log[-4000:])


class _QuietHandler(SimpleHTTPRequestHandler):
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
