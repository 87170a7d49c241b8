"""Helpers for CLI tests: a finished command and how to judge its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sidecar.cli.main import app

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CLI_TIMEOUT_S = 60


@dataclass
class Run:
    """A finished command: exit code and what it printed."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def inproc(*args: str | Path, db: Path | None, stdin: str | None = None) -> Run:
    """`session-sidecar <args> [--db db]` in this process via typer's CliRunner (fast;
    `-C` picks the folder)."""
    argv = [*map(str, args), *(["--db", str(db)] if db is not None else [])]
    result = CliRunner().invoke(app, argv, input=stdin or "")
    return Run(result.exit_code, result.stdout, result.stderr)


def assert_one_line_error(run: Run, *fragments: str) -> None:
    """Exit status 2, nothing on stdout, exactly one `error: ...` line on stderr."""
    assert run.code == 2, (run.code, run.stdout, run.stderr)
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in run.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def cli_env(home: Path) -> dict[str, str]:
    """The environment of a CLI process: private HOME, no system git config, no SIDECAR_DB."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GIT_", "SIDECAR_")) and k not in {"COLUMNS", "XDG_CONFIG_HOME"}
    }
    clean.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), clean.get("PYTHONPATH")])),
        XDG_DATA_HOME=str(home / "data"),
    )
    return clean


def cli(
    *args: str | Path,
    cwd: Path,
    env: dict[str, str],
    db: Path | None = None,
    stdin: str | None = None,
) -> Run:
    """Run `python -m sidecar <args> [--db db]` in `cwd` as a user does (stdin a pipe)."""
    argv = [sys.executable, "-m", "sidecar", *map(str, args)]
    if db is not None:
        argv += ["--db", str(db)]
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)
