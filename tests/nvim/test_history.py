"""The history buffer shows the server's display blocks, and :SessionsSearch
finds an event and opens its session's history at its block, against the
real server in a real Neovim."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pynvim
import pytest

from .conftest import attached_driver
from .driver import Driver

pytestmark = [pytest.mark.editor, pytest.mark.timeout(120)]


@pytest.fixture
def driver(nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str]) -> Driver:
    """The plugin set up (native prompts) with a file of `repo` open."""
    return attached_driver(nvim, repo, isolated_env)


def append(d: Driver, session_id: str, events: list[dict[str, Any]]) -> list[int]:
    """Append `events` to `session_id` through the real server; their seqs."""
    result = d.lua(
        "local root, id, events = ..."
        " local r, err = require('session_sidecar.client').request_sync(root,"
        " 'sidecar/events/append', { sessionId = id, events = events }, 5000)"
        " assert(not err, vim.inspect(err)) return r.seqs",
        d.root(),
        session_id,
        events,
    )
    return list(result)


def agent_work(repo: Path) -> list[dict[str, Any]]:
    """A prompt, an edit of app.py and a failing `pytest -q`, as an agent records them."""
    return [
        {"kind": "prompt", "actor": "user", "payload": {"text": "make the login redirect work"}},
        {
            "kind": "tool_call",
            "payload": {
                "name": "Edit",
                "toolUseId": "toolu_1",
                "input": {
                    "file_path": str(repo / "app.py"),
                    "old_string": "return '/home'",
                    "new_string": "return next_url",
                },
            },
        },
        {
            "kind": "tool_result",
            "payload": {"toolUseId": "toolu_1", "content": "The file app.py has been updated."},
        },
        {
            "kind": "tool_call",
            "payload": {"name": "Bash", "toolUseId": "toolu_2", "input": {"command": "pytest -q"}},
        },
        {
            "kind": "tool_result",
            "payload": {"toolUseId": "toolu_2", "content": "1 failed, 3 passed", "exitCode": 1},
        },
    ]


def history_loaded(session_id: str) -> str:
    """A Lua condition: the history of `session_id` is in the current window and filled."""
    return (
        f"(function() local v = require('session_sidecar.history').views[{session_id!r}]"
        " return v ~= nil and v.loaded and vim.api.nvim_get_current_buf() == v.buf end)()"
    )


def test_history_shows_diffs_and_failed_results(driver: Driver, repo: Path) -> None:
    """An edit shows as a `diff` fence, a failing `pytest -q` as `✗ exit 1`, and the
    buffer is named after the session; `q` closes it."""
    session = driver.state(driver.root())["session"]
    append(driver, session["id"], agent_work(repo))
    windows = len(driver.nvim.windows)
    driver.nvim.command("SessionsHistory")
    driver.wait(history_loaded(session["id"]), 8000, "the history buffer")
    driver.wait(
        "vim.tbl_contains(vim.api.nvim_buf_get_lines(0, 0, -1, false), '```diff')",
        8000,
        "the diff fence",
    )
    lines = driver.buffer_lines()
    assert driver.nvim.current.buffer.name == (
        f"sidecar://history/{session['name']} ({session['id'][-8:]})"
    )
    assert lines[0] == f"# {session['name']}"
    names = driver.lua("return vim.tbl_map(vim.api.nvim_buf_get_name, vim.api.nvim_list_bufs())")
    assert not any(session["id"] in name for name in names), names
    edit = next(i for i, line in enumerate(lines) if line.startswith("**Edit app.py**"))
    fence = lines.index("```diff")
    assert edit < fence, lines
    diff = lines[fence + 1 : lines.index("```", fence)]
    assert "-return '/home'" in diff, diff
    assert "+return next_url" in diff, diff
    bash = [line for line in lines if line.startswith("**Bash pytest -q**")]
    assert len(bash) == 1 and "✗ exit 1" in bash[0], lines
    assert "1 failed, 3 passed" in lines, lines
    assert not any(line.startswith("**Edit app.py** — ✗") for line in lines), lines

    driver.press("q")
    assert len(driver.nvim.windows) == windows


def test_search_opens_the_history_at_the_hit(driver: Driver, repo: Path) -> None:
    """:SessionsSearch asks for a query, offers the hit (session, kind, snippet, age) and
    opens the session's history with the cursor on the hit's block."""
    session = driver.state(driver.root())["session"]
    append(driver, session["id"], agent_work(repo))
    (seq,) = append(
        driver,
        session["id"],
        [{"kind": "prompt", "actor": "user", "payload": {"text": "now fix the kerfuffle too"}}],
    )
    append(driver, session["id"], agent_work(repo))

    driver.lua("_G.sidecar_test.pick = 'first'; _G.sidecar_test.input = 'kerfuffle'")
    driver.nvim.command("SessionsSearch")
    driver.wait(history_loaded(session["id"]), 8000, "the history of the hit")
    assert driver.lua("return _G.sidecar_test.inputs")[-1]["prompt"] == "Search sessions: "
    shown = driver.prompts()[-1]
    assert shown["kind"] == "session_sidecar.search"
    assert len(shown["titles"]) == 1, shown
    assert re.fullmatch(
        rf"{re.escape(session['name'])} · prompt · .*\[kerfuffle\].* · (now|\d+s ago)",
        shown["titles"][0],
    ), shown
    line = driver.nvim.current.line
    assert line.startswith("**You** · Prompt") and line.endswith(f"· #{seq}"), line
    assert driver.buffer_lines()[driver.nvim.current.window.cursor[0] + 1] == (
        "now fix the kerfuffle too"
    )


def test_search_bang_fills_the_quickfix_list(driver: Driver, repo: Path) -> None:
    """:SessionsSearch! puts each hit in the quickfix list: its snippet, in the history
    buffer of its session, on the line of its block."""
    session = driver.state(driver.root())["session"]
    append(driver, session["id"], agent_work(repo))
    (seq,) = append(
        driver,
        session["id"],
        [{"kind": "prompt", "actor": "user", "payload": {"text": "now fix the kerfuffle too"}}],
    )
    append(driver, session["id"], agent_work(repo))

    driver.nvim.command("SessionsSearch! kerfuffle")
    driver.wait(
        "vim.fn.getqflist({ title = 0 }).title == 'Session Sidecar search: kerfuffle'",
        8000,
        "the quickfix list",
    )
    items = driver.lua(
        "return vim.tbl_map(function(e) return { bufnr = e.bufnr, lnum = e.lnum, text = e.text,"
        " name = vim.api.nvim_buf_get_name(e.bufnr) } end, vim.fn.getqflist())"
    )
    assert len(items) == 1, items
    (item,) = items
    assert item["name"] == f"sidecar://history/{session['name']} ({session['id'][-8:]})"
    assert "[kerfuffle]" in item["text"], item
    assert driver.lua("return vim.bo.buftype") == "quickfix"

    driver.nvim.command("cfirst")
    assert driver.nvim.current.buffer.number == item["bufnr"]
    assert driver.nvim.current.window.cursor[0] == item["lnum"]
    line = driver.nvim.current.line
    assert line.startswith("**You** · Prompt") and line.endswith(f"· #{seq}"), json.dumps(line)
