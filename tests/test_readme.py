"""The README's promises: its curl examples run as written, and production settings pass check --deploy."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Try the API", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.mark.model
@pytest.mark.django_db(transaction=True)
def test_every_curl_example_in_the_readme_works(live_server, tmp_path, u2netp_everywhere):
    from engine.keys import account_get_or_create, api_key_create

    _, key = api_key_create(account=account_get_or_create(name="demo"))
    (tmp_path / ".env").write_text(f"DJANGO_SECRET_KEY=x\nBGCUT_API_KEY={key}\n")
    script = readme_example().replace("API=http://127.0.0.1:8000", f"API={live_server.url}")
    # Every curl must succeed: an HTTP error status fails the script.
    prelude = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; echo; }\n'
    result = subprocess.run(["bash", "-c", prelude + script], cwd=tmp_path, capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"file_paths":["demo/photo.jpg"]' in result.stdout.replace(" ", "")
    assert '"deleted_count":' in result.stdout
    assert (tmp_path / "full.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_production_settings_pass_check_deploy(tmp_path):
    env = {**os.environ, "DJANGO_SECURE": "true", "DJANGO_DEBUG": "false",
           "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "x" * 40, "BGCUT_VAR_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
