"""Print the :Sessions panel of a small demo repository (with its key help,
then with a session expanded) and the history of one of its sessions, as
docs/neovim.md shows them:
`python -m tests.nvim.capture_panel` from the project root.

Uses the same real Neovim, server and isolation as the tests, in a
temporary folder that is removed afterwards.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pynvim

from .conftest import MINIMAL_INIT, PROJECT, git, nvim_binary, server_cmd
from .driver import Driver


def login_work(repo: Path) -> list[dict[str, Any]]:
    """An agent's try at the login loop: an edit, a failing test run, an answer."""
    return [
        {
            "kind": "tool_call",
            "payload": {
                "name": "Edit",
                "toolUseId": "toolu_01",
                "input": {
                    "file_path": str(repo / "app.py"),
                    "old_string": "    return redirect('/login')",
                    "new_string": "    return redirect(next_url or '/')",
                },
            },
        },
        {
            "kind": "tool_result",
            "payload": {"toolUseId": "toolu_01", "content": "The file app.py has been updated."},
        },
        {
            "kind": "tool_call",
            "payload": {"name": "Bash", "toolUseId": "toolu_02", "input": {"command": "pytest -q"}},
        },
        {
            "kind": "tool_result",
            "payload": {
                "toolUseId": "toolu_02",
                "content": "F..\n"
                "FAILED tests/test_login.py::test_next_url - assert '/' == '/home'\n"
                "1 failed, 2 passed in 0.12s",
                "exitCode": 1,
            },
        },
        {
            "kind": "response",
            "payload": {
                "text": "The redirect loop is gone; `test_next_url` still expects `/home`."
            },
        },
    ]


def main() -> None:
    """Build the demo, open the panel with help shown, then with a session
    expanded, and a session's history; print their lines."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        home.mkdir()
        (home / ".gitconfig").write_text("[user]\n\temail = you@example.com\n\tname = You\n")
        os.environ.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_DATA_HOME=str(home / ".local/share"),
            XDG_STATE_HOME=str(home / ".local/state"),
            XDG_CACHE_HOME=str(home / ".cache"),
            GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
            GIT_CONFIG_NOSYSTEM="1",
            SIDECAR_DB=str(tmp / "sidecar.db"),
            PYTHONPATH=str(PROJECT),
        )
        repo = tmp / "webapp"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        (repo / "app.py").write_text("print('hi')\n")
        git(repo, "add", ".")
        git(repo, "commit", "-q", "-m", "first")
        argv = [nvim_binary(), "--embed", "--headless", "-n", "-i", "NONE", "-u", str(MINIMAL_INIT)]
        nvim = pynvim.attach("child", argv=argv)
        try:
            d = Driver(nvim)
            d.setup(server_cmd(), prompts="native")
            root = d.opened(str(repo / "app.py"))
            # No session yet: the panel says when one begins (captured last).
            nvim.command("Sessions")
            d.wait(d.panel_has(root, "no session yet"), 8000)
            startup = d.panel_lines(root)
            nvim.command("close")

            def fresh(name: str, prompts: list[str]) -> None:
                nvim.command(f"SessionsFresh {name}")
                d.wait(
                    f"(require('session_sidecar.state').roots[{root!r}].session or {{}})"
                    f".name == {name!r}"
                )
                events = ", ".join(
                    f"{{ kind = 'prompt', actor = 'user', payload = {{ text = {p!r} }} }}"
                    for p in prompts
                )
                d.lua(
                    "require('session_sidecar.client').request_sync(..., 'sidecar/events/append',"
                    f" {{ events = {{ {events} }} }}, 5000)",
                    root,
                )

            fresh("fix login redirect", ["why does /login loop?"])
            login = d.state(root)["session"]["id"]
            d.lua(
                "local root, id, events = ... require('session_sidecar.client').request_sync(root,"
                " 'sidecar/events/append', { sessionId = id, events = events }, 5000)",
                root,
                login,
                login_work(repo),
            )
            fresh("upgrade pydantic", ["bump pydantic to 2.8"])
            git(repo, "switch", "-q", "-c", "feature/search")
            # The drift prompt comes up; the recording UI answers "fresh".
            d.wait(
                f"((require('session_sidecar.state').roots[{root!r}].session or {{}}).boundary"
                " or {}).branch == 'feature/search'",
                15000,
            )
            fresh("full-text search", ["add FTS5 index", "rank by bm25", "wire the endpoint"])
            nvim.command("Sessions")
            d.wait(d.panel_has(root, "feature/search"), 8000)
            d.press("?")
            d.wait(d.panel_has(root, "<CR> on the drift line"), 3000)
            lines = d.panel_lines(root)
            # <Tab> on a session: its latest events under its line.
            d.press("?")
            d.cursor_to("fix login redirect")
            d.press("<Tab>")
            d.wait(d.panel_has(root, "✓ Edit app.py"), 8000)
            lines += ["", "-" * 40, ""]
            lines += d.panel_lines(root)
            nvim.command(f"SessionsHistory {login}")
            d.wait("vim.tbl_contains(vim.api.nvim_buf_get_lines(0, 0, -1, false), '```diff')", 8000)
            lines += ["", "-" * 40, ""]
            lines += nvim.current.buffer[:]
            # A dismissed prompt: the decision stays pending, the panel says so.
            d.lua("_G.sidecar_test.pick = nil")
            git(repo, "switch", "-q", "-c", "feature/login-loop")
            d.wait(d.panel_has(root, "! drift:"), 15000)
            lines += ["", "-" * 40, ""]
            lines += [line for line in d.panel_lines(root) if line.startswith("  !")]
            lines += ["", "-" * 40, ""]
            lines += startup
        finally:
            try:
                nvim.exec_lua("require('session_sidecar.client').stop_all()")
                nvim.command("qa!")
            except Exception:
                # Neovim may already be gone; the temp folder goes anyway.
                pass
            nvim.close()
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
