"""Runs the front end's pure-JS unit tests (tests/js/*.test.mjs) with node's built-in runner."""
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def test_the_front_end_unit_tests_pass_under_node():
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the JS unit tests need node >= 20")
    files = sorted(str(path) for path in HERE.glob("*.test.mjs"))
    assert files, "no JS unit tests found"
    # static/editor/*.js are ES modules without a package.json: let node detect that.
    done = subprocess.run(
        [node, "--experimental-detect-module", "--test", *files],
        cwd=HERE.parents[1], capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout
