"""The help file is valid: :helptags accepts it and its links resolve."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .conftest import HERE, MINIMAL_INIT, nvim_binary


def test_help_file_tags_and_links(tmp_path: Path) -> None:
    """doc/session_sidecar.txt has the documented tags and no dangling links."""
    done = subprocess.run(
        [
            nvim_binary(),
            "--headless",
            "-n",
            "-i",
            "NONE",
            "-u",
            str(MINIMAL_INIT),
            "-l",
            str(HERE / "lua" / "helpdoc_test.lua"),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "all checks passed" in done.stdout + done.stderr
