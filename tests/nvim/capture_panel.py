"""Print the :Sessions panel of a small demo repository, as docs/neovim.md
shows it: `python -m tests.nvim.capture_panel` from the project root.

Uses the same real Neovim, server and isolation as the tests, in a
temporary folder that is removed afterwards.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pynvim

from .conftest import MINIMAL_INIT, PROJECT, git, nvim_binary, server_cmd
from .driver import Driver


def main() -> None:
    """Build the demo, open the panel with help shown, print its lines."""
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
            nvim.command(f"edit {repo / 'app.py'}")
            root = d.root()
            d.wait(f"(require('session_sidecar.state').roots[{root!r}] or {{}}).session ~= nil")

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

            fresh("fix login redirect", ["why does /login loop?", "add a test"])
            fresh("upgrade pydantic", ["bump pydantic to 2.8"])
            git(repo, "switch", "-q", "-c", "feature/search")
            # The drift prompt comes up; the recording UI answers "Start fresh".
            d.wait(
                f"((require('session_sidecar.state').roots[{root!r}].session or {{}}).boundary"
                " or {}).branch == 'feature/search'",
                15000,
            )
            fresh("full-text search", ["add FTS5 index", "rank by bm25", "wire the endpoint"])
            nvim.command("Sessions")
            d.wait(d.panel_has(root, "feature/search"), 8000)
            d.press("?")
            d.wait("true", 300)
            lines = d.panel_lines(root)
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
