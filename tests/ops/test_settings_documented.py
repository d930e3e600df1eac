"""Every setting is documented twice: in the README's configuration table and in .env.example."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def settings_read() -> set[str]:
    """Every variable bgcut_site/settings.py reads (env.str("NAME", ...), env.bool(...), env.db(...)...)."""
    return set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', (ROOT / "bgcut_site" / "settings.py").read_text()))


def test_every_setting_is_in_the_readme_table_and_in_the_example_env_file():
    names = settings_read()
    assert {"DJANGO_SECRET_KEY", "CACHE_URL", "BGCUT_NODES", "BGCUT_METRICS_TOKEN", "BGCUT_LOG_FORMAT"} <= names
    readme = (ROOT / "README.md").read_text().split("## Configuration", 1)[1]
    example = (ROOT / ".env.example").read_text()
    assert not [name for name in sorted(names) if f"`{name}`" not in readme]
    assert not [name for name in sorted(names) if not re.search(rf"^(# )?{name}=", example, re.M)]


def test_the_example_env_file_with_a_secret_is_a_working_configuration(tmp_path):
    values = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                  if line and not line.startswith("#"))
    values["DJANGO_SECRET_KEY"] = "example-" + "x" * 50
    env = {key: value for key, value in os.environ.items() if not key.startswith(("BGCUT_", "DJANGO_"))}
    env.update(values, BGCUT_VAR_DIR=str(tmp_path), BGCUT_MODELS_DIR=str(ROOT / "models"))
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
