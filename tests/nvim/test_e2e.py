"""End to end: a real Neovim, the plugin, the real sidecar server, a real git
repository. The branch is switched with git itself, as a user would."""

from __future__ import annotations

from pathlib import Path

import pynvim
import pytest

from .conftest import git, server_cmd
from .driver import Driver

pytestmark = [pytest.mark.editor, pytest.mark.timeout(120)]


@pytest.fixture
def driver(nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str]) -> Driver:
    """The plugin set up (native prompts) with a file of `repo` open."""
    d = Driver(nvim)
    d.setup(server_cmd(), db_path=isolated_env["SIDECAR_DB"], prompts="native")
    nvim.command(f"edit {repo / 'hello.txt'}")
    root = d.root()
    d.wait(
        f"(require('session_sidecar.state').roots[{root!r}] or {{}}).session ~= nil",
        20000,
        "the server to attach a session",
    )
    return d


def test_branch_switch_prompts_fresh_then_resume(driver: Driver, repo: Path) -> None:
    """`git switch -c feature` asks; "Start fresh" makes a feature session the
    panel shows; switching back offers resuming the first session, first."""
    root = driver.root()
    first = driver.state(root)["session"]
    assert first["boundary"]["branch"] == "main"

    driver.nvim.command("Sessions")
    assert driver.nvim.current.buffer.options["filetype"] == "sessionsidecar"
    driver.wait(driver.panel_has(root, "main (1)  (current)"), what="the main group")
    lines = driver.panel_lines(root)
    assert any(first["name"] in line and "* " in line for line in lines), lines

    git(repo, "switch", "-q", "-c", "feature")
    driver.wait("#_G.sidecar_test.prompts >= 1", 15000, "the drift prompt")
    prompt = driver.prompts()[0]
    assert prompt["kind"] == "session_sidecar.drift"
    assert "Start fresh" in prompt["titles"]
    assert "Continue here" in prompt["titles"]
    assert not any(t.startswith("Resume") for t in prompt["titles"]), prompt

    driver.wait(
        f"(require('session_sidecar.state').roots[{root!r}].session or {{}}).boundary"
        " and require('session_sidecar.state').roots"
        f"[{root!r}].session.boundary.branch == 'feature'",
        10000,
        "the fresh session on feature",
    )
    second = driver.state(root)["session"]
    assert second["id"] != first["id"]
    driver.wait(driver.panel_has(root, "feature (1)  (current)"), what="the feature group")
    lines = driver.panel_lines(root)
    feature_at = next(i for i, line in enumerate(lines) if line.startswith("feature (1)"))
    assert second["name"] in lines[feature_at + 1], lines
    assert any(line.startswith("main (1)") for line in lines[feature_at:]), lines

    driver.lua("_G.sidecar_test.pick = 'first'")
    git(repo, "switch", "-q", "main")
    driver.wait("#_G.sidecar_test.prompts >= 2", 15000, "the prompt on switching back")
    back = driver.prompts()[1]
    assert back["titles"][0] == f'Resume "{first["name"]}"', back
    assert "Start fresh" in back["titles"]
    driver.wait(
        f"(require('session_sidecar.state').roots[{root!r}].session or {{}}).id == {first['id']!r}",
        10000,
        "the first session resumed",
    )
    driver.wait(driver.panel_has(root, "main (1)  (current)"), what="main listed first again")
    assert driver.lua("return require('session_sidecar').statusline()") == f"main > {first['name']}"


def test_checkhealth_reports_ok(driver: Driver) -> None:
    """:checkhealth session_sidecar finds the server, its version, database and watcher."""
    driver.nvim.command("checkhealth session_sidecar")
    driver.wait("vim.bo.filetype == 'checkhealth'", 10000, "the health buffer")
    driver.wait(
        "vim.iter(vim.api.nvim_buf_get_lines(0, 0, -1, false))"
        ":any(function(l) return l:find('watcher mode', 1, true) ~= nil end)",
        15000,
        "the workspace section",
    )
    text = "\n".join(driver.nvim.current.buffer[:])
    assert "ERROR" not in text, text
    assert "server version:" in text, text
    assert "database:" in text, text
    assert "running" in text, text
