"""The extension's pure modules (tree grouping, labels, status text, drift
buttons, transcript, server command) through node's built-in test runner,
compiled with tsc from the current sources."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "editor-clients" / "vscode"
SETUP = "bash editor-clients/vscode/scripts/setup-code-server.sh"


def test_extension_unit_tests_pass() -> None:
    """`npm test` (tsc, then `node --test out/test/unit/`) passes and runs tests."""
    if not shutil.which("node") or not (EXTENSION / "node_modules" / "typescript").is_dir():
        message = f"node or the extension's node_modules is missing; run `{SETUP}` first"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    proc = subprocess.run(
        ["npm", "test", "--silent"],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    passed = re.search(r"^# pass (\d+)$", output, re.MULTILINE)
    failed = re.search(r"^# fail (\d+)$", output, re.MULTILINE)
    assert passed and failed, output[-3000:]
    assert int(failed.group(1)) == 0, output[-6000:]
    assert int(passed.group(1)) >= 40, f"only {passed.group(1)} unit tests ran:\n{output[-3000:]}"
