"""The panel keys a trouble.nvim user expects: expand a session's latest events in
place, preview its history, gf to a changed file, filter, yank the id, pin; against
the real server in a real Neovim."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pynvim
import pytest

from .conftest import panel_driver
from .driver import Driver
from .test_history import agent_work

pytestmark = [pytest.mark.editor, pytest.mark.timeout(120)]


@pytest.fixture
def driver(nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str]) -> Driver:
    """The plugin set up, a file of `repo` open, the panel open and listed."""
    return panel_driver(nvim, repo, isolated_env)


def active(d: Driver) -> dict[str, Any]:
    """The active session as the plugin knows it."""
    return dict(d.state(d.root())["session"])


def worked(d: Driver, repo: Path) -> dict[str, Any]:
    """The active session after an agent's edit of app.py, a failing `pytest -q` and a
    branch switch the server folds into one dimmed line."""
    session = active(d)
    (repo / "app.py").write_text("return next_url\n")
    d.append(
        session["id"],
        [
            *agent_work(repo),
            {"kind": "branch_change", "payload": {"from": "main", "to": "feature/x"}},
        ],
    )
    return session


def line_number(d: Driver, text: str) -> int:
    """The first panel line (1-based) that contains `text`."""
    lines = d.panel_lines(d.root())
    return next(i + 1 for i, line in enumerate(lines) if text in line)


def line_highlight(d: Driver, lnum: int) -> list[str]:
    """The whole-line highlight groups the panel put on line `lnum`."""
    return list(
        d.lua(
            "local p = require('session_sidecar.panel')"
            " local buf = p.panels[vim.b.session_sidecar_root].buf"
            " local marks = vim.api.nvim_buf_get_extmarks(buf, p.ns,"
            " { ... - 1, 0 }, { ... - 1, -1 }, { details = true })"
            " return vim.tbl_map(function(m) return m[4].line_hl_group or '' end, marks)",
            lnum,
        )
    )


def test_tab_expands_the_latest_events_and_gf_opens_a_changed_file(
    driver: Driver, repo: Path
) -> None:
    """<Tab> shows the session's latest events under its row (✓/✗ marks, the exit code,
    bookkeeping dimmed) and follows new ones; gf on the edit's row opens app.py of the
    worktree beside the panel; za hides the rows again."""
    root = driver.root()
    session = worked(driver, repo)
    driver.cursor_to_session(root, session["id"])
    driver.press("<Tab>")
    driver.wait(driver.panel_has(root, "✓ Edit app.py"), 8000, "the expanded rows")
    lines = driver.panel_lines(root)
    row = line_number(driver, session["name"])
    rows = lines[row:]
    prompt = next(i for i, line in enumerate(rows) if "Prompt: make the login" in line)
    assert re.fullmatch(r" {7}  Prompt: make the login redirect work +#\d+", rows[prompt]), rows
    assert re.fullmatch(r" {7}✓ Edit app\.py +#\d+", rows[prompt + 1]), rows
    assert re.fullmatch(r" {7}✗ Bash pytest -q · exit 1 +#\d+", rows[prompt + 2]), rows
    assert re.fullmatch(r" {7}· switched main → feature/x +#\d+", rows[prompt + 3]), rows
    assert driver.nvim.current.window.cursor[0] == row, "the cursor stays on the session"
    assert line_highlight(driver, row + prompt + 4) == ["SessionSidecarDimmed"]
    assert line_highlight(driver, row + prompt + 2) == [""]

    driver.append(
        session["id"],
        [{"kind": "prompt", "actor": "user", "payload": {"text": "one more thing"}}],
    )
    driver.wait(driver.panel_has(root, "Prompt: one more thing"), 8000, "a new event's row")

    driver.cursor_to("✗ Bash pytest -q")
    driver.press("gf")
    assert driver.lua(f"return {driver.noted('no file on this line')}")
    driver.cursor_to("✓ Edit app.py")
    driver.press("gf")
    assert os.path.realpath(driver.nvim.current.buffer.name) == os.path.realpath(repo / "app.py")
    assert driver.buffer_lines() == ["return next_url"]
    assert driver.lua(
        "return vim.fn.bufwinid(require('session_sidecar.panel').panels[...].buf) ~= -1", root
    ), "the panel stays open"

    driver.nvim.command("Sessions")
    driver.cursor_to_session(root, session["id"])
    driver.press("za")
    driver.wait(f"not {driver.panel_has(root, '✓ Edit app.py')}", 5000, "the rows hidden")


def test_p_previews_the_history_and_keeps_the_cursor_in_the_panel(
    driver: Driver, repo: Path
) -> None:
    """p shows the session's history in a preview window (focus stays in the panel); on
    an expanded row the preview opens at that event; q closes panel and preview."""
    root = driver.root()
    session = worked(driver, repo)
    panel_win = driver.nvim.current.window.handle
    windows = len(driver.nvim.windows)
    driver.cursor_to_session(root, session["id"])
    driver.press("p")
    preview = (
        "(function() for _, w in ipairs(vim.api.nvim_tabpage_list_wins(0)) do"
        " if vim.wo[w].previewwindow then return w end end end)()"
    )
    driver.wait(f"{preview} ~= nil", 8000, "the preview window")
    driver.wait(
        f"vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf({preview}), 0, 1, false)[1]"
        f" == {('# ' + session['name'])!r}",
        8000,
        "the history in the preview",
    )
    assert driver.nvim.current.window.handle == panel_win
    assert len(driver.nvim.windows) == windows + 1
    name = driver.lua(f"return vim.api.nvim_buf_get_name(vim.api.nvim_win_get_buf({preview}))")
    assert name == f"sidecar://history/{session['name']} ({session['id'][-8:]})"

    driver.press("<Tab>")
    driver.wait(driver.panel_has(root, "✗ Bash pytest -q"), 8000, "the expanded rows")
    driver.cursor_to("✗ Bash pytest -q")
    driver.press("p")
    driver.wait(
        f"vim.startswith(vim.api.nvim_buf_call(vim.api.nvim_win_get_buf({preview}),"
        f" function() return vim.fn.getline(vim.api.nvim_win_get_cursor({preview})[1]) end),"
        " '**Bash pytest -q**')",
        8000,
        "the preview at the failed command",
    )
    assert driver.nvim.current.window.handle == panel_win
    assert len(driver.nvim.windows) == windows + 1, "the preview window is reused"

    driver.press("q")
    assert len(driver.nvim.windows) == windows - 1, "panel and preview closed"


def test_slash_filters_by_name_branch_or_last_prompt(driver: Driver) -> None:
    """/ asks for text and lists only the sessions whose name, branch or last prompt
    contain it, the filter shown in the header; <Esc> or an empty answer clears it."""
    root = driver.root()
    first = active(driver)
    driver.nvim.command("wincmd p")
    for name in ["fix login redirect", "upgrade pydantic"]:
        driver.nvim.command(f"SessionsFresh {name}")
        driver.wait(
            f"(require('session_sidecar.state').roots[{root!r}].session or {{}}).name == {name!r}",
            8000,
            name,
        )
    driver.append(
        active(driver)["id"],
        [{"kind": "prompt", "actor": "user", "payload": {"text": "bump the kerfuffle pin"}}],
    )
    driver.nvim.command("Sessions")
    driver.wait(driver.panel_has(root, "main (3)"), 8000, "three sessions")

    def listed() -> list[str]:
        lines = driver.panel_lines(root)
        return [
            n
            for n in [first["name"], "fix login redirect", "upgrade pydantic"]
            if any(n in ln for ln in lines)
        ]

    driver.lua("_G.sidecar_test.input = 'LOGIN'")
    driver.press("/")
    assert driver.lua("return _G.sidecar_test.inputs")[-1]["prompt"].startswith("Filter sessions")
    assert listed() == ["fix login redirect"]
    assert driver.panel_lines(root)[0].endswith("  [filter: LOGIN]")
    assert "main (1)  (current)" in driver.panel_lines(root)

    driver.lua("_G.sidecar_test.input = 'kerfuffle'")
    driver.press("/")
    assert driver.lua("return _G.sidecar_test.inputs")[-1]["default"] == "LOGIN"
    assert listed() == ["upgrade pydantic"], "matched by its last prompt"

    driver.lua("_G.sidecar_test.input = 'main'")
    driver.press("/")
    assert len(listed()) == 3, "matched by branch"

    driver.lua("_G.sidecar_test.input = 'nothing like it'")
    driver.press("/")
    assert listed() == []
    assert any("no session matches" in line for line in driver.panel_lines(root))
    driver.press("<Esc>")
    assert len(listed()) == 3
    assert "[filter:" not in driver.panel_lines(root)[0]

    driver.lua("_G.sidecar_test.input = 'pydantic'")
    driver.press("/")
    assert listed() == ["upgrade pydantic"]
    driver.lua("_G.sidecar_test.input = ''")
    driver.press("/")
    assert len(listed()) == 3
    assert "[filter:" not in driver.panel_lines(root)[0]


def test_yy_yanks_the_id_and_P_pins(driver: Driver) -> None:
    """yy puts the session id in the unnamed register; P pins the session (marked +,
    listed as pinned by the server) and P again unpins it."""
    root = driver.root()
    session = active(driver)
    driver.cursor_to_session(root, session["id"])
    driver.press("yy")
    assert driver.nvim.funcs.getreg('"') == session["id"]
    assert driver.lua(f"return {driver.noted(session['id'] + ' copied')}")

    def pinned() -> bool:
        shown = driver.request("sidecar/sessions/show", {"sessionId": session["id"]})
        return bool(shown["session"].get("pinned"))

    def row() -> str:
        return next(line for line in driver.panel_lines(root) if session["name"] in line)

    driver.press("P")
    driver.wait(driver.panel_has(root, "*+ "), 8000, "the pin mark")
    assert pinned()
    assert row().startswith("  *+ "), row()
    driver.cursor_to_session(root, session["id"])
    driver.press("P")
    driver.wait(f"not {driver.panel_has(root, '*+ ')}", 8000, "the pin mark gone")
    assert not pinned()
    assert row().startswith("  *  "), row()
