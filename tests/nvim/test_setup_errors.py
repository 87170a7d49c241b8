"""A missing or broken server is explained: which command and PATH were tried, what
went wrong, what to do; :checkhealth reports it as an ERROR. A real Neovim with a
PATH that has no server on it."""

from __future__ import annotations

import shlex
import shutil
import stat
import sys
from pathlib import Path

import pynvim
import pytest

from .driver import Driver

pytestmark = [pytest.mark.editor, pytest.mark.timeout(120)]


def executable(path: Path, text: str) -> None:
    """Write a shell script to `path` and make it executable."""
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def bare_path(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH is one folder holding git and a python3 without the server (this Python,
    isolated from every installed package), and no session-sidecar; set before Neovim
    starts, so Neovim and what it runs see only that."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    git = shutil.which("git")
    assert git, "git is needed"
    (bin_dir / "git").symlink_to(git)
    executable(bin_dir / "python3", f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -I -S "$@"\n')
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    return bin_dir


def health_text(d: Driver) -> str:
    """The :checkhealth session_sidecar report."""
    d.nvim.command("checkhealth session_sidecar")
    d.wait("vim.bo.filetype == 'checkhealth'", 10000, "the health buffer")
    d.wait(
        "vim.iter(vim.api.nvim_buf_get_lines(0, 0, -1, false))"
        ":any(function(l) return l:find('session_sidecar: server', 1, true) ~= nil end)",
        15000,
        "the server section",
    )
    return "\n".join(d.nvim.current.buffer[:])


def test_missing_server_says_what_was_tried_and_what_to_do(
    bare_path: Path, nvim: pynvim.Nvim, repo: Path
) -> None:
    """With no session-sidecar on PATH and a python3 without the sidecar module, opening
    a file says so once (both commands, the PATH, the install command, the cmd option)
    instead of a client that quits; the panel shows it; :checkhealth reports an ERROR."""
    d = Driver(nvim)
    d.setup(None)  # the default command, as a new user has it
    nvim.command(f"edit {repo / 'hello.txt'}")
    d.wait(d.noted("cannot start the server"), 15000, "the setup error")
    (note,) = [n for n in d.notes() if "cannot start the server" in n]
    tried = f'"session-sidecar" is not on PATH and python3 ({bare_path}/python3)'
    assert f'{tried} has no module "sidecar"' in note, note
    assert "command: python3 -m sidecar serve" in note, note
    assert f"PATH searched: {bare_path}\n" in note, note
    assert "pipx install session-sidecar" in note and 'cmd = { "/path/to/venv/bin/python"' in note
    assert d.lua("return #vim.lsp.get_clients({ name = 'session_sidecar' })") == 0
    assert not any("quit with exit code" in n for n in d.notes()), d.notes()

    (repo / "second.txt").write_text("two\n")
    nvim.command(f"edit {repo / 'second.txt'}")
    assert len([n for n in d.notes() if "cannot start the server" in n]) == 1, "said once"

    nvim.command("Sessions")
    d.wait(d.panel_has(d.root(), "error: cannot start the server"), 8000, "the panel's error")
    assert any("pipx install session-sidecar" in line for line in d.panel_lines(d.root()))

    nvim.command("wincmd p")
    text = health_text(d)
    assert "ERROR" in text, text
    error = next(line for line in text.splitlines() if "ERROR" in line)
    assert 'has no module "sidecar"' in error, text
    assert "pipx install session-sidecar" in text, text
    assert f"PATH searched: {bare_path}" in text, text


def test_server_that_exits_at_once_is_explained(
    bare_path: Path, nvim: pynvim.Nvim, repo: Path
) -> None:
    """A session-sidecar that exits at once (a broken install) is explained with its
    command, where it was found, what it prints and what to do, instead of Neovim's
    "Client quit with exit code 1"; :checkhealth reports an ERROR."""
    broken = bare_path / "session-sidecar"
    executable(
        broken,
        "#!/bin/sh\n"
        'echo "Traceback (most recent call last):" >&2\n'
        "echo \"ModuleNotFoundError: No module named 'pygls'\" >&2\n"
        "exit 1\n",
    )
    d = Driver(nvim)
    d.setup(None)
    nvim.command(f"edit {repo / 'hello.txt'}")
    d.wait(d.noted("the server exited at once"), 15000, "the explanation")
    (note,) = [n for n in d.notes() if "the server exited at once" in n]
    assert f"(exit code 1): session-sidecar serve ({broken})" in note, note
    assert "session-sidecar --version says: ModuleNotFoundError: No module named 'pygls'" in note
    assert "pipx install session-sidecar --force" in note, note
    assert f"PATH searched: {bare_path}" in note, note
    d.wait("#vim.lsp.get_clients({ name = 'session_sidecar' }) == 0", 5000, "the client gone")
    d.lua("vim.wait(200)")  # Neovim's own exit message is scheduled: give it its chance
    assert not any("quit with exit code" in n for n in d.notes()), d.notes()

    text = health_text(d)
    error = next(line for line in text.splitlines() if "ERROR" in line)
    assert "the server does not run: session-sidecar --version failed" in error, text
    assert "No module named 'pygls'" in text, text


def test_health_is_ok_about_a_working_server(
    nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str]
) -> None:
    """The same report with a server that runs has no ERROR, and says :help works."""
    d = Driver(nvim)
    d.setup([sys.executable, "-m", "sidecar", "serve"], db_path=isolated_env["SIDECAR_DB"])
    text = health_text(d)
    assert "ERROR" not in text, text
    assert "server version:" in text, text
    assert "OK help tags: " in text, text
