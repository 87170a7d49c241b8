"""Sessions begin with work: opening Neovim in a repository begins no session. The
statusline, the panel and the history commands say "no session yet"; a branch whose
last session is only stale has it offered at startup, and :SessionsDecide (or <CR>
on the panel's drift line) resumes it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pynvim
import pytest

from .conftest import server_cmd
from .driver import Driver, server_items

pytestmark = [pytest.mark.editor, pytest.mark.timeout(120)]


def session_ids(db: str) -> list[str]:
    """The ids of every session in the database file, read with SQLite itself."""
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM sessions ORDER BY id")]


def stale_session(repo: Path, db: str, name: str) -> str:
    """A session on `repo`'s branch, started with the CLI and last active 20 hours ago
    (past the 8 hours after which a session is stale); its id."""
    done = subprocess.run(
        [sys.executable, "-m", "sidecar", "sessions", "start", "--name", name, "--json"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    session_id = str(json.loads(done.stdout)["session"]["id"])
    then = (datetime.now(UTC) - timedelta(hours=20)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE sessions SET created_at = ?, updated_at = ?, last_event_at = ?, status = 'idle'"
            " WHERE id = ?",
            (then, then, then, session_id),
        )
    return session_id


def statusline(d: Driver) -> str:
    """The statusline component in the current window."""
    return str(d.lua("return require('session_sidecar').statusline()"))


def test_startup_without_history_shows_no_session_and_creates_none(
    nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str]
) -> None:
    """An editor start in a repository with no history: the statusline says
    `main · no session`, the panel says a session begins with the first prompt or
    edit, :SessionsHistory and :SessionsFork say there is none yet, nothing is asked,
    and the database holds no session until the first save begins one."""
    db = isolated_env["SIDECAR_DB"]
    d = Driver(nvim)
    d.setup(server_cmd(), db_path=db, prompts="native")
    root = d.opened(str(repo / "hello.txt"))
    assert statusline(d) == "main · no session"

    nvim.command("Sessions")
    d.wait(d.panel_ready(root), 8000, "the panel")
    lines = d.panel_lines(root)
    text = " ".join(line.strip() for line in lines)
    assert "no session yet: one begins with the first prompt or edit" in text, lines
    assert ":SessionsResume" in text, lines
    assert "(no sessions in this scope" in text, lines
    assert not any("! drift:" in line for line in lines), lines

    nvim.command("SessionsHistory")
    d.wait(d.noted("no session yet"), 5000, "the no-session note of :SessionsHistory")
    nvim.command("SessionsFork")
    d.wait(d.noted(":SessionsFork <id>"), 5000, "the no-session note of :SessionsFork")
    assert d.prompts() == []
    assert session_ids(db) == []

    nvim.command("wincmd p")
    session = d.begin_session()
    assert session_ids(db) == [session["id"]]
    d.wait(
        f"not {d.panel_has(root, 'no session yet')}",
        5000,
        "the panel without the no-session line",
    )
    assert statusline(d) == f"main > {session['name']}"


def test_startup_offers_the_stale_session_and_decide_resumes_it(
    nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str]
) -> None:
    """The branch's last session is stale: the start offers it (fresh recommended,
    resume offered) with the server's question and labels; dismissed, it stays pending
    (drift marker, drift line) and begins nothing; <CR> on the drift line asks the same
    again, and :SessionsDecide answered "resume" makes that session active again."""
    db = isolated_env["SIDECAR_DB"]
    old = stale_session(repo, db, "Add login")
    d = Driver(nvim)
    d.setup(server_cmd(), db_path=db, prompts="native")
    d.lua("_G.sidecar_test.pick = nil")  # dismiss the startup prompt
    nvim.command(f"edit {repo / 'hello.txt'}")
    root = d.root()
    d.wait("#_G.sidecar_test.prompts >= 1", 20000, "the startup offer")
    offer = d.prompts()[0]
    rec = d.drifts()[-1]
    assert offer["kind"] == "session_sidecar.drift"
    assert offer["keys"] == ["fresh", "resume"], offer
    assert offer["titles"] == server_items(rec), (offer, rec)
    assert offer["titles"] == [
        "Start a fresh session on main (recommended)",
        'Resume "Add login" on main',
    ], offer
    assert offer["prompt"] == "Session Sidecar: " + rec["question"], offer
    assert "Add login" in rec["question"], rec

    d.wait(
        f"(require('session_sidecar.state').roots[{root!r}] or {{}}).status ~= nil",
        10000,
        "the server's status",
    )
    d.wait(
        "require('session_sidecar').statusline() == 'main · no session [drift]'",
        5000,
        "the statusline with the pending offer",
    )
    assert session_ids(db) == [old]

    nvim.command("Sessions")
    d.wait(d.panel_has(root, "! drift:"), 8000, "the drift line")
    d.wait(d.panel_has(root, "no session yet"), 5000, "the no-session line")
    d.cursor_to("! drift:")
    d.press("<CR>")
    d.wait("#_G.sidecar_test.prompts >= 2", 5000, "the offer again from the drift line")
    assert d.prompts()[1]["titles"] == offer["titles"], d.prompts()[1]
    assert d.prompts()[1]["prompt"] == offer["prompt"], d.prompts()[1]

    d.lua("_G.sidecar_test.pick = 'resume'")
    nvim.command("SessionsDecide")
    d.wait(
        f"(require('session_sidecar.state').roots[{root!r}].session or {{}}).id == {old!r}",
        10000,
        "the stale session resumed",
    )
    assert d.prompts()[2]["titles"] == offer["titles"], d.prompts()[2]
    d.wait(f"not {d.panel_has(root, '! drift:')}", 5000, "the drift line gone")
    d.wait(f"not {d.panel_has(root, 'no session yet')}", 5000, "the no-session line gone")
    nvim.command("wincmd p")
    assert statusline(d) == "main > Add login"
    assert session_ids(db) == [old], "resuming began no other session"
