"""The plugin as an LSP client: buffers attach per repository, opened files
reach the session, the statusline follows, custom prompts answer with
sidecar/drift/decide."""

from __future__ import annotations

from pathlib import Path

import psutil
import pynvim
import pytest

from .conftest import git, server_cmd
from .driver import Driver, server_items

pytestmark = [pytest.mark.editor, pytest.mark.timeout(120)]


def started(d: Driver, repo: Path, **opts: object) -> str:
    """Set up the plugin, open hello.txt of `repo`, save it (the first real event
    begins a session) and wait for that session; the root."""
    d.setup(server_cmd(), **opts)
    root = d.opened(str(repo / "hello.txt"))
    d.begin_session()
    return root


def kinds_and_paths(d: Driver, root: str, session_id: str) -> list[list[str]]:
    """[kind, path] of every event of `session_id`, in order."""
    return list(
        d.lua(
            "local root, id = ... local r = require('session_sidecar.client').request_sync("
            "root, 'sidecar/sessions/events', { sessionId = id }, 3000)"
            " return vim.tbl_map(function(e) return { e.kind, e.payload.path or '' } end,"
            " (r or {}).items or {})",
            root,
            session_id,
        )
    )


def test_opened_file_is_recorded_and_one_client_per_repository(
    nvim: pynvim.Nvim, repo: Path, tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    """Opening a file begins no session (nothing is recorded); a save begins one; a
    file opened then sends didOpen (recorded as a file_open event with its relative
    path); a second file of the same repository reuses the client; a file of
    another repository gets its own client."""
    d = Driver(nvim)
    root = started(d, repo, db_path=isolated_env["SIDECAR_DB"])
    session_id = d.state(root)["session"]["id"]
    events = kinds_and_paths(d, root, session_id)
    assert events[0] == ["file_change", "hello.txt"], events  # the save
    assert ["file_open", "hello.txt"] not in events, "opened before any session: not recorded"

    # Only open/close/save are asked for, so edits (and their text) are never sent.
    sync = d.lua("return vim.lsp.get_clients({ name = 'session_sidecar' })[1].server_capabilities")
    assert sync["textDocumentSync"]["change"] == 0, sync

    (repo / "second.txt").write_text("two\n")
    nvim.command(f"edit {repo / 'second.txt'}")
    assert d.lua("return #vim.lsp.get_clients({ name = 'session_sidecar' })") == 1
    assert d.lua("return #vim.lsp.get_clients({ bufnr = 0, name = 'session_sidecar' })") == 1
    d.wait(
        "(function() local r = require('session_sidecar.client').request_sync("
        f"{root!r}, 'sidecar/sessions/events', {{ sessionId = {session_id!r} }}, 3000)"
        " for _, e in ipairs((r or {}).items or {}) do"
        " if e.kind == 'file_open' and e.payload.path == 'second.txt' then return true end end"
        " return false end)()",
        8000,
        "the file_open event of second.txt, in the live session",
    )

    other = tmp_path / "other"
    other.mkdir()
    git(other, "init", "-q", "-b", "trunk")
    (other / "x.txt").write_text("x\n")
    nvim.command(f"edit {other / 'x.txt'}")
    other_root = d.root()
    assert other_root != root
    d.wait(
        f"(require('session_sidecar.state').roots[{other_root!r}] or {{}}).branch == 'trunk'",
        20000,
        "the second repository's client",
    )
    assert d.lua("return #vim.lsp.get_clients({ name = 'session_sidecar' })") == 2


def test_file_outside_any_repository_starts_nothing(
    nvim: pynvim.Nvim, tmp_path: Path, isolated_env: dict[str, str]
) -> None:
    """A file outside git gets no client, and the statusline stays empty."""
    d = Driver(nvim)
    d.setup(server_cmd(), db_path=isolated_env["SIDECAR_DB"])
    loose = tmp_path / "loose.txt"
    loose.write_text("x\n")
    nvim.command(f"cd {tmp_path}")
    nvim.command(f"edit {loose}")
    assert d.lua("return #vim.lsp.get_clients({ name = 'session_sidecar' })") == 0
    assert d.lua("return require('session_sidecar').statusline()") == ""


def test_statusline_shows_branch_and_session(
    nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str]
) -> None:
    """statusline() is `branch · no session` until a session begins, then
    `branch > session name`, and follows a new session."""
    d = Driver(nvim)
    d.setup(server_cmd(), db_path=isolated_env["SIDECAR_DB"])
    d.opened(str(repo / "hello.txt"))
    assert d.lua("return require('session_sidecar').statusline()") == "main · no session"
    name = d.begin_session()["name"]
    line = d.lua("return require('session_sidecar').statusline()")
    assert line.startswith("main > "), line
    assert name.startswith(line.removeprefix("main > ").rstrip("…")), (line, name)
    nvim.command("SessionsFresh named here")
    d.wait(
        "require('session_sidecar').statusline() == 'main > named here'",
        8000,
        "the statusline to follow the fresh session",
    )


def test_custom_prompts_answer_with_drift_decide(
    nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str]
) -> None:
    """prompts = "custom": sidecar/driftDetected is shown through vim.ui.select
    and the choice goes back as sidecar/drift/decide; the server starts a
    session on the new branch."""
    d = Driver(nvim)
    root = started(d, repo, db_path=isolated_env["SIDECAR_DB"], prompts="custom")
    first = d.state(root)["session"]
    git(repo, "switch", "-q", "-c", "feature")
    d.wait("#_G.sidecar_test.prompts >= 1", 15000, "the custom drift prompt")
    prompt = d.prompts()[0]
    assert prompt["kind"] == "session_sidecar.drift"
    rec = d.drifts()[-1]
    assert prompt["titles"] == server_items(rec), (prompt, rec)
    assert prompt["keys"] == ["fresh", "continue", "remember"], prompt
    assert prompt["titles"][0] == "Start a fresh session on feature (recommended)", prompt
    assert prompt["prompt"] == "Session Sidecar: " + rec["question"], prompt
    d.wait(
        f"((require('session_sidecar.state').roots[{root!r}].session or {{}}).boundary or {{}})"
        ".branch == 'feature'",
        10000,
        "the session on feature",
    )
    assert d.state(root)["session"]["id"] != first["id"]
    assert d.state(root)["drift"] is False


def test_server_crash_is_shown_and_sessions_restarts_it(
    nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str]
) -> None:
    """Killing the server shows an error line in the panel; :Sessions starts a
    new server and lists the sessions again (nothing recorded was lost)."""
    d = Driver(nvim)
    root = started(d, repo, db_path=isolated_env["SIDECAR_DB"])
    first = d.state(root)["session"]
    nvim.command("Sessions")
    d.wait(d.panel_has(root, first["name"]), 8000, "the panel listing")

    servers = psutil.Process(nvim.call("getpid")).children(recursive=True)
    assert servers, "no server process under nvim"
    for proc in servers:
        proc.kill()
    psutil.wait_procs(servers, timeout=10)
    d.wait(d.panel_has(root, "the server stopped"), 8000, "the error line")
    assert d.state(root).get("client") is None
    assert d.lua("return require('session_sidecar').statusline()") == ""

    d.lua("_G.sidecar_test.exited = nil")
    nvim.command("Sessions")
    d.wait(f"not {d.panel_has(root, 'the server stopped')}", 20000, "the listing from a new server")
    assert any(first["name"] in line for line in d.panel_lines(root))
    assert d.state(root).get("client") is not None
