""":help session_sidecar works when the plugin is installed with the lazy.nvim spec
from docs/neovim.md: lazy.nvim runs :helptags on a plugin's top doc/ folder only, and
this plugin is a subfolder of its repository, so setup() makes the tags itself. The
spec is read from the docs and its `config` called as lazy.nvim calls it, with the
plugin's checkout (a copy without doc/tags) as `plugin.dir`."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pynvim
import pytest

from .conftest import HERE, PROJECT, nvim_binary

pytestmark = [pytest.mark.editor, pytest.mark.timeout(120)]


def lazy_spec() -> str:
    """The lazy.nvim spec of docs/neovim.md, as Lua source."""
    docs = (PROJECT / "docs" / "neovim.md").read_text()
    section = docs.split("### With lazy.nvim", 1)[1]
    found = re.search(r"```lua\n(.*?)```", section, re.S)
    assert found, "docs/neovim.md has no lazy.nvim spec"
    return found.group(1)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A copy of the repository's plugin folder as lazy.nvim would clone it: no doc/tags
    (a file lazy.nvim never makes there)."""
    root = tmp_path / "session-sidecar"
    shutil.copytree(
        HERE.parent.parent / "editor-clients" / "neovim",
        root / "editor-clients" / "neovim",
        ignore=shutil.ignore_patterns("tags"),
    )
    return root


def start(tmp_path: Path, init: str) -> pynvim.Nvim:
    """A real Neovim whose user config is `init`."""
    init_file = tmp_path / "init.lua"
    init_file.write_text("vim.opt.swapfile = false\nvim.opt.shadafile = 'NONE'\n" + init)
    argv = [nvim_binary(), "--embed", "--headless", "-n", "-i", "NONE", "-u", str(init_file)]
    return pynvim.attach("child", argv=argv)


def stop(nvim: pynvim.Nvim) -> None:
    """Quit Neovim (its exit ends the RPC channel, which pynvim reports as an error)."""
    with contextlib.suppress(OSError, EOFError, pynvim.NvimError):
        nvim.command("qa!")
    nvim.close()


@pytest.fixture
def editors() -> Iterator[list[pynvim.Nvim]]:
    """Neovims to close after the test."""
    started: list[pynvim.Nvim] = []
    yield started
    for nvim in started:
        stop(nvim)


def with_lazy_spec(checkout: Path) -> str:
    """An init.lua doing what lazy.nvim does with the docs' spec: call its config
    with the plugin (whose `dir` is the checkout)."""
    spec = lazy_spec()
    return (
        f"local spec = (function() return {spec} end)()\n"
        f"spec.config({{ dir = {str(checkout)!r}, name = 'session-sidecar' }})\n"
    )


def help_lands(nvim: pynvim.Nvim, tag: str) -> str:
    """`:help {tag}`: the line the cursor lands on in the help file."""
    nvim.command(f"help {tag}")
    assert nvim.current.buffer.options["buftype"] == "help"
    assert nvim.current.buffer.name.endswith("/doc/session_sidecar.txt"), nvim.current.buffer.name
    return str(nvim.current.line)


def test_help_works_with_the_lazy_spec_from_the_docs(
    checkout: Path, tmp_path: Path, editors: list[pynvim.Nvim], isolated_env: dict[str, str]
) -> None:
    """Without setup() the help has no tags (E149); with the spec's config, :help
    session_sidecar and :help :SessionsDecide land on their tags, and the plugin's own
    folder is left untouched."""
    plugin = str(checkout / "editor-clients" / "neovim")
    bare = start(tmp_path, f"vim.opt.runtimepath:append({plugin!r})\n")
    editors.append(bare)
    with pytest.raises(pynvim.NvimError, match="E149"):
        bare.command("help session_sidecar")

    nvim = start(tmp_path, with_lazy_spec(checkout))
    editors.append(nvim)
    assert "*session_sidecar*" in help_lands(nvim, "session_sidecar")
    assert "*:SessionsDecide*" in help_lands(nvim, ":SessionsDecide")
    assert not (checkout / "editor-clients" / "neovim" / "doc" / "tags").exists()


def test_changed_help_gets_new_tags(
    checkout: Path, tmp_path: Path, editors: list[pynvim.Nvim], isolated_env: dict[str, str]
) -> None:
    """After an update changes the help file, the next start makes its tags again: a
    tag added by the update is found."""
    first = start(tmp_path, with_lazy_spec(checkout))
    editors.append(first)
    help_lands(first, "session_sidecar")
    editors.remove(first)
    stop(first)

    help_file = checkout / "editor-clients" / "neovim" / "doc" / "session_sidecar.txt"
    text = help_file.read_text()
    marker = "*session_sidecar-setup*"
    help_file.write_text(
        text.replace(marker, marker + "\n" + " " * 40 + "*session_sidecar-added-by-update*", 1)
    )
    later = time.time() + 5  # newer than the tags just made, whatever the clock's grain
    os.utime(help_file, (later, later))

    nvim = start(tmp_path, with_lazy_spec(checkout))
    editors.append(nvim)
    added = "session_sidecar-added-by-update"
    assert f"*{added}*" in help_lands(nvim, added)
