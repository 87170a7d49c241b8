"""Unit checks of plugin modules that need no server, run by a real nvim -l."""

from __future__ import annotations

import subprocess

from .conftest import HERE, MINIMAL_INIT, nvim_binary


def run_lua_checks(script: str) -> None:
    """Run tests/nvim/lua/<script> in a headless nvim; fail with its stderr."""
    done = subprocess.run(
        [
            nvim_binary(),
            "--headless",
            "-n",
            "-i",
            "NONE",
            "-u",
            str(MINIMAL_INIT),
            "-l",
            str(HERE / "lua" / script),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    assert "all checks passed" in done.stdout + done.stderr


def test_format_module_checks_pass() -> None:
    """format.lua groups, sorts and formats sessions as the panel shows them."""
    run_lua_checks("format_test.lua")


def test_prompt_handler_yields_and_answers() -> None:
    """The showMessageRequest handler asks through vim.ui.select inside the
    request coroutine, returns the chosen item, and vim.NIL when dismissed."""
    run_lua_checks("prompt_test.lua")


def test_setup_without_server() -> None:
    """setup() checks its options and defines the commands; a missing server
    is reported as an error value, not a crash."""
    run_lua_checks("setup_test.lua")
