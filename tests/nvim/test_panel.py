"""The :Sessions panel's keys and the :Sessions* commands, against the real
server in a real Neovim."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pynvim
import pytest

from .conftest import panel_driver
from .driver import Driver

pytestmark = [pytest.mark.editor, pytest.mark.timeout(120)]


@pytest.fixture
def driver(nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str]) -> Driver:
    """The plugin set up, a file of `repo` open, the panel open and listed."""
    return panel_driver(nvim, repo, isolated_env)


def active(d: Driver) -> dict:
    """The active session as the plugin knows it."""
    return dict(d.state(d.root())["session"])


def refreshed(d: Driver) -> None:
    """Wait until the panel has been re-listed after the last key."""
    d.wait(
        "(function() local p = require('session_sidecar.panel').panels[vim.b.session_sidecar_root]"
        " return p ~= nil and not p.pending end)()",
        5000,
    )


def test_help_and_scope_keys(driver: Driver) -> None:
    """`?` toggles the key help; `s` cycles repository -> all -> branch -> worktree."""
    root = driver.root()
    assert "[scope: repository]" in driver.panel_lines(root)[0]
    driver.press("?")
    shown = "\n".join(driver.panel_lines(root))
    keys = driver.lua(
        "return vim.tbl_map(function(k) return { type(k.lhs) == 'table' and k.lhs[1] or k.lhs,"
        " k.label } end, require('session_sidecar.panel').keys)"
    )
    assert len(keys) >= 18, keys
    for lhs, label in keys:
        assert re.search(rf"(^|  ){re.escape(lhs)} +{re.escape(label)}(  |$)", shown, re.M), (
            lhs,
            label,
            shown,
        )
        mapped = driver.lua("return vim.fn.maparg(..., 'n', false, true).buffer == 1", lhs)
        assert mapped, f"{lhs} is in the help but not mapped in the panel"
    driver.press("?")
    assert "  press ? for help" in driver.panel_lines(root)
    for scope in ["all", "branch", "worktree", "repository"]:
        driver.press("s")
        driver.wait(driver.panel_has(root, f"[scope: {scope}]"), 5000, f"scope {scope}")
        driver.wait(driver.panel_has(root, "main (1)"), 5000, f"the session listed in {scope}")


def test_rename_fork_end_delete(driver: Driver) -> None:
    """R renames, f forks, e ends, d deletes after confirming (and not when cancelled)."""
    root = driver.root()
    first = active(driver)
    driver.cursor_to(first["name"])
    driver.lua("_G.sidecar_test.input = 'renamed by test'")
    driver.press("R")
    driver.wait(driver.panel_has(root, "renamed by test"), 5000, "the new name")

    driver.cursor_to("renamed by test")
    driver.press("f")
    driver.wait(driver.panel_has(root, "main (2)"), 5000, "the fork listed")

    fork = next(s for s in driver.panel_sessions(root) if s["id"] != first["id"])
    assert fork.get("parentId") == first["id"], fork
    driver.cursor_to_session(root, fork["id"])
    driver.press("e")
    driver.wait(driver.panel_has(root, "ended"), 5000, "the fork ended")

    driver.lua("_G.sidecar_test.pick = 'Cancel'")
    driver.cursor_to("ended")
    driver.press("d")
    confirm = driver.prompts()[-1]
    assert confirm["kind"] == "session_sidecar.confirm"
    assert confirm["titles"] == ["Delete", "Cancel"]
    refreshed(driver)
    assert any("main (2)" in line for line in driver.panel_lines(root))

    driver.lua("_G.sidecar_test.pick = 'Delete'")
    driver.cursor_to("ended")
    driver.press("d")
    driver.wait(driver.panel_has(root, "main (1)"), 5000, "the fork deleted")
    assert not any("ended" in line for line in driver.panel_lines(root))


def test_export_and_checkpoint(driver: Driver, tmp_path: Path) -> None:
    """x exports the session under the cursor to a Markdown file; c checkpoints it."""
    first = active(driver)
    target = tmp_path / "export.md"
    driver.cursor_to(first["name"])
    driver.lua("_G.sidecar_test.input = ...", str(target))
    driver.press("x")
    driver.wait(f"vim.uv.fs_stat({json.dumps(str(target))}) ~= nil", 5000, "the export file")
    assert first["name"] in target.read_text()

    driver.lua("_G.sidecar_test.input = 'before risk'")
    driver.cursor_to(first["name"])
    driver.press("c")
    driver.wait(
        "(function() local r = require('session_sidecar.client').request_sync("
        f"{driver.root()!r}, 'sidecar/sessions/show', {{ sessionId = {first['id']!r} }}, 3000)"
        " for _, c in ipairs((r or {}).checkpoints or {}) do"
        " if c.name == 'before risk' then return true end end return false end)()",
        8000,
        "the checkpoint",
    )


def test_enter_opens_transcript_that_follows_new_events(driver: Driver) -> None:
    """<CR> shows the session as Markdown; appended events appear without a refresh key."""
    root = driver.root()
    first = active(driver)
    driver.cursor_to(first["name"])
    driver.press("<CR>")
    driver.wait("vim.bo.filetype == 'markdown'", 5000, "the transcript buffer")
    driver.wait(
        f"vim.api.nvim_buf_get_lines(0, 0, 1, false)[1] == {json.dumps('# ' + first['name'])}",
        5000,
        "the transcript title",
    )
    driver.lua(
        "require('session_sidecar').request('sidecar/events/append', {"
        " sessionId = ..., events = { { kind = 'prompt', actor = 'user',"
        " payload = { text = 'please fix the login bug' } } } }, nil, vim.b.session_sidecar_root)",
        first["id"],
    )
    driver.wait(
        "vim.tbl_contains(vim.api.nvim_buf_get_lines(0, 0, -1, false), 'please fix the login bug')",
        8000,
        "the appended prompt in the transcript",
    )
    # The panel line's event count follows too.
    shown = driver.lua(
        "return require('session_sidecar.client').request_sync(..., 'sidecar/sessions/show',"
        " { sessionId = select(2, ...) }, 3000)",
        root,
        first["id"],
    )
    count = shown["session"]["eventCount"]
    assert count >= 1
    driver.wait(driver.panel_has(root, f"{count} ev"), 5000, f"{count} events in the panel")


def test_commands_fresh_resume_fork(driver: Driver) -> None:
    """:SessionsFresh starts a session, :SessionsResume picks one, :SessionsFork forks."""
    root = driver.root()
    first = active(driver)
    driver.nvim.command("wincmd p")
    driver.nvim.command("SessionsFresh second try")
    driver.wait(
        f"(require('session_sidecar.state').roots[{root!r}].session or {{}}).name == 'second try'",
        8000,
        "the fresh session",
    )
    driver.wait(driver.panel_has(root, "main (2)"), 5000, "two sessions listed")

    driver.lua("_G.sidecar_test.pick = nil")
    driver.lua(f"_G.sidecar_test.pick_prefix = {first['name']!r}")
    driver.lua(
        "local orig = vim.ui.select vim.ui.select = function(items, opts, cb)"
        " for i, it in ipairs(items) do local t = opts.format_item(it)"
        " if vim.startswith(t, _G.sidecar_test.pick_prefix) then"
        " table.insert(_G.sidecar_test.prompts, { kind = opts.kind, titles = { t } })"
        " return cb(it, i) end end cb(nil) end"
    )
    driver.nvim.command("SessionsResume")
    driver.wait(
        f"(require('session_sidecar.state').roots[{root!r}].session or {{}}).id == {first['id']!r}",
        8000,
        "the first session resumed",
    )
    assert driver.prompts()[-1]["kind"] == "session_sidecar.session"

    driver.nvim.command("SessionsFork")
    driver.wait(driver.panel_has(root, "main (3)"), 8000, "the fork listed")
