"""Helpers for CLI tests: a finished command and how to judge its output."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sidecar.cli.main import app


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
