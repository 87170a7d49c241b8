"""Installing the .vsix is enough: the real VS Code workbench (code-server) with only
the packaged extension installed, no `sessionSidecar.serverCommand`, and the server
coming from the wheels inside the .vsix, installed on first start with the python3
on PATH.

The rig is in ``rig.py``; the editor fixtures in ``conftest.py`` (their editors share
one global storage, so the bundled server is installed once per session; the tests
here take a fresh one).
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.vscode.rig import run_scenario

pytestmark = [pytest.mark.editor, pytest.mark.slow, pytest.mark.timeout(600)]


def fresh_storage(editor_env: dict[str, Any]) -> Path:
    """This editor's own, empty global storage instead of the session's shared one."""
    storage: Path = editor_env["global_storage"]
    storage.unlink()
    return storage


def extension_log(editor_env: dict[str, Any]) -> str:
    """The "Session Sidecar" output channel's log file of this editor."""
    logs = sorted(editor_env["user_data"].rglob("*Session Sidecar.log"))
    assert logs, f"no Session Sidecar log under {editor_env['user_data']}"
    return "\n".join(log.read_text(errors="replace") for log in logs)


def test_first_start_installs_the_bundled_server_under_a_progress_notification(
    editor_env: dict[str, Any],
) -> None:
    """Only the .vsix installed and python3 on PATH: the first start shows a progress
    notification while the wheels inside the .vsix are installed into a private
    environment in the extension's global storage, then the server runs from there."""
    assert "PYTHONPATH" not in editor_env["env"]
    storage = fresh_storage(editor_env)

    result, context = run_scenario(editor_env, "first-start")
    assert result.get("ok"), context
    assert "Session Sidecar: setting up the server" in result["progress"], context
    assert result["progressFits"], context
    assert result["status"].startswith("main · "), context

    # The environment holds the bundle of this very .vsix.
    with zipfile.ZipFile(editor_env["vsix"]) as vsix:
        manifest = json.loads(vsix.read("extension/bundled/manifest.json"))
    env_dir = storage / "server-env"
    record = json.loads((env_dir / "session-sidecar-bundle.json").read_text())
    assert record["bundleId"] == manifest["bundleId"], record
    # Made with the python3 on PATH, a version the bundle has wheels for.
    assert ".".join(record["pythonVersion"].split(".")[:2]) in manifest["pythons"], record
    assert list(env_dir.glob("lib/python3.*/site-packages/sidecar/__init__.py")), env_dir

    # The server was started from the private environment, after the install.
    log = extension_log(editor_env)
    python = env_dir / "bin" / "python"
    installed_at = log.find(f"Installed the bundled server into {env_dir}")
    started_at = log.find(f"Starting server (bundled): {python} -m sidecar serve")
    assert 0 <= installed_at < started_at, log[-4000:]


def test_second_start_reuses_the_installed_server(editor_env: dict[str, Any]) -> None:
    """A start with the bundle already installed skips the install: no progress
    notification, no "Installing" line, the server runs from the same environment."""
    storage = fresh_storage(editor_env)
    first, context = run_scenario(editor_env, "first-start")
    assert first.get("ok"), context
    record = storage / "server-env" / "session-sidecar-bundle.json"
    installed = record.stat().st_mtime_ns
    for log in editor_env["user_data"].rglob("*Session Sidecar.log"):
        log.unlink()

    result, context = run_scenario(editor_env, "started")
    assert result.get("ok"), context
    assert result["status"].startswith("main · "), context
    log = extension_log(editor_env)
    assert "Installing the bundled server" not in log, log[-4000:]
    assert f"Starting server (bundled): {storage / 'server-env' / 'bin' / 'python'}" in log, log
    assert record.stat().st_mtime_ns == installed


def test_no_python_says_what_was_tried_and_opens_the_setting(
    editor_env: dict[str, Any],
) -> None:
    """No serverCommand and no Python 3.11+ anywhere (PATH holds node and git only,
    no Python extension): the error names every interpreter tried and the PATH
    searched, says what to install, and "Open Settings" opens
    `sessionSidecar.serverCommand`."""
    fresh_storage(editor_env)
    bin_dir = editor_env["tmp"] / "bin"
    bin_dir.mkdir()
    for tool in ("node", "git"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    path = str(bin_dir)
    assert shutil.which("python3", path=path) is None
    assert shutil.which("python", path=path) is None
    # VSCODE_CLI=1: started from a shell, so the server keeps this PATH instead of
    # resolving the login shell's (which /etc/profile resets to /usr/bin and more).
    env = {**editor_env["env"], "PATH": path, "VSCODE_CLI": "1"}

    result, context = run_scenario(editor_env, "missing-server", env)
    assert result.get("ok"), context
    message = result["errorMessage"]
    assert "no Python 3.11 or newer found to run the bundled server" in message, context
    # What it tried, in order, and where it looked.
    tried = message.index("Tried: ")
    assert message.index("the Python extension: not installed", tried) < message.index(
        "python3 on PATH: not found", tried
    ), context
    assert "python on PATH: not found" in message, context
    assert "the extension host's PATH: " in message, context
    assert f"{bin_dir})" in message, context
    # What to do.
    assert "Install Python 3.11 or newer" in message, context
    assert '"sessionSidecar.serverCommand"' in message, context
    assert result["errorButtons"] == ["Open Settings", "Show Output", "Restart"], context
    assert "offline" in result["status"], context
    assert "Server Command" in result["settingShown"], context
    assert not (editor_env["global_storage"] / "server-env").exists()
