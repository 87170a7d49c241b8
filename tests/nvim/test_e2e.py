"""End to end: a real Neovim, the plugin, the real sidecar server, a real git
repository. The branch is switched with git itself, as a user would."""

from __future__ import annotations

import re
from pathlib import Path

import pynvim
import pytest

from .conftest import attached_driver, git
from .driver import Driver, server_items

pytestmark = [pytest.mark.editor, pytest.mark.timeout(120)]


@pytest.fixture
def driver(nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str]) -> Driver:
    """The plugin set up (native prompts) with a file of `repo` open."""
    return attached_driver(nvim, repo, isolated_env)


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
    # The server's choices, by their labels, in its order; its question as the prompt.
    rec = driver.drifts()[-1]
    assert prompt["titles"] == server_items(rec), (prompt, rec)
    assert prompt["keys"] == ["fresh", "continue", "remember"], prompt
    assert prompt["titles"][0] == "Start a fresh session on feature (recommended)", prompt
    assert prompt["titles"][1] == f'Continue "{first["name"]}"', prompt
    assert prompt["prompt"] == "Session Sidecar: " + rec["question"], prompt
    assert rec["question"].startswith("You switched from main to feature."), rec

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
    assert back["titles"] == server_items(driver.drifts()[-1]), back
    assert back["titles"][0] == f'Resume "{first["name"]}" on main (recommended)', back
    assert back["keys"] == ["resume", "fresh", "continue", "remember"], back
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


def test_decide_reopens_a_dismissed_prompt(driver: Driver, repo: Path) -> None:
    """A dismissed drift prompt stays pending: <CR> on the panel's drift line and
    :SessionsDecide offer its choices again (as the prompt did), the answer is acted
    on, and then :SessionsDecide says nothing is pending."""
    root = driver.root()
    first = driver.state(root)["session"]
    driver.nvim.command("Sessions")
    driver.wait(driver.panel_has(root, "main (1)  (current)"), what="the main group")

    driver.lua("_G.sidecar_test.pick = nil")
    git(repo, "switch", "-q", "-c", "feature")
    driver.wait("#_G.sidecar_test.prompts >= 1", 15000, "the drift prompt")
    dismissed = driver.prompts()[0]
    assert dismissed["titles"] == server_items(driver.drifts()[-1]), dismissed
    assert dismissed["titles"][0] == "Start a fresh session on feature (recommended)", dismissed
    driver.wait(driver.panel_has(root, "! drift:"), 5000, "the drift line")
    assert driver.state(root)["session"]["id"] == first["id"]

    driver.cursor_to("! drift:")
    driver.press("<CR>")
    driver.wait("#_G.sidecar_test.prompts >= 2", 5000, "the prompt again from the panel")
    again = driver.prompts()[1]
    assert again["kind"] == "session_sidecar.drift"
    assert again["titles"] == dismissed["titles"], again
    assert again["prompt"] == dismissed["prompt"], again
    assert driver.nvim.current.buffer.options["filetype"] == "sessionsidecar"

    driver.lua("_G.sidecar_test.pick = 'fresh'")
    driver.nvim.command("SessionsDecide")
    driver.wait(
        f"((require('session_sidecar.state').roots[{root!r}].session or {{}}).boundary or {{}})"
        ".branch == 'feature'",
        10000,
        "the fresh session on feature",
    )
    assert driver.prompts()[2]["titles"] == dismissed["titles"]
    driver.wait(f"not {driver.panel_has(root, '! drift:')}", 5000, "the drift line gone")

    driver.nvim.command("SessionsDecide")
    driver.wait(driver.noted("no drift decision is pending"), 5000, "the nothing-pending note")
    assert len(driver.prompts()) == 3

    # The first session's history folds the switch into one italic line.
    driver.nvim.command(f"SessionsHistory {first['id']}")
    driver.wait(
        "vim.iter(vim.api.nvim_buf_get_lines(0, 0, -1, false)):any(function(l)"
        " return vim.startswith(l, '_switched main → feature') end)",
        8000,
        "the bookkeeping line",
    )
    bookkeeping = [line for line in driver.buffer_lines() if "switched" in line]
    assert len(bookkeeping) == 1, bookkeeping
    assert re.fullmatch(r"_switched main → feature[^_]*_ · \S+ \S+ · #\d+", bookkeeping[0])


def test_drift_in_insert_mode_waits_for_normal_mode(driver: Driver, repo: Path) -> None:
    """A drift prompt that arrives while typing is not shown: a note says a decision
    is waiting, the typing goes to the buffer, and the prompt opens on <Esc>."""
    root = driver.root()
    driver.nvim.input("i")
    driver.wait("vim.api.nvim_get_mode().mode == 'i'", 5000, "insert mode")
    git(repo, "switch", "-q", "-c", "feature")
    driver.wait(driver.noted("a drift decision is waiting"), 15000, "the waiting note")
    assert ":SessionsDecide" in driver.notes()[-1]
    assert driver.prompts() == []

    driver.nvim.input("typed ")
    driver.wait("vim.api.nvim_get_current_line() == 'typed hello'", 5000, "the typing")
    assert driver.prompts() == []
    assert driver.lua("return vim.api.nvim_get_mode().mode") == "i"

    driver.nvim.input("<Esc>")
    driver.wait("#_G.sidecar_test.prompts >= 1", 5000, "the prompt in normal mode")
    assert driver.prompts()[0]["kind"] == "session_sidecar.drift"
    driver.wait(
        f"((require('session_sidecar.state').roots[{root!r}].session or {{}}).boundary or {{}})"
        ".branch == 'feature'",
        10000,
        "the answer acted on (Start fresh)",
    )


def test_decide_opens_a_waiting_prompt_at_once(driver: Driver, repo: Path) -> None:
    """:SessionsDecide opens a prompt that waits for normal mode right away, and its
    answer reaches the server's request."""
    root = driver.root()
    driver.nvim.input("i")
    driver.wait("vim.api.nvim_get_mode().mode == 'i'", 5000, "insert mode")
    git(repo, "switch", "-q", "-c", "feature")
    driver.wait(driver.noted("a drift decision is waiting"), 15000, "the waiting note")
    assert driver.prompts() == []

    driver.nvim.command("SessionsDecide")
    driver.wait("#_G.sidecar_test.prompts >= 1", 5000, "the waiting prompt")
    assert driver.prompts()[0]["kind"] == "session_sidecar.drift"
    driver.wait(
        f"((require('session_sidecar.state').roots[{root!r}].session or {{}}).boundary or {{}})"
        ".branch == 'feature'",
        10000,
        "the answer acted on (Start fresh)",
    )
    # Answered through the server's own prompt (window/showMessageRequest), which
    # records the title chosen; a sidecar/drift/decide would record "command".
    session = driver.state(root)["session"]
    decisions = driver.lua(
        "local r = require('session_sidecar.client').request_sync(..., 'sidecar/sessions/events',"
        " { sessionId = select(2, ...), kinds = { 'decision' } }, 5000)"
        " return vim.tbl_map(function(e) return e.payload.chosen end, r.items)",
        root,
        session["id"],
    )
    assert decisions == ["Start fresh"], decisions
    driver.nvim.input("<Esc>")
    driver.wait("vim.api.nvim_get_mode().mode == 'n'", 5000, "normal mode")
    assert len(driver.prompts()) == 1
