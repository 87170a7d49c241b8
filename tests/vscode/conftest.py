"""Fixtures of the VS Code end-to-end tests: the packaged extension and an isolated editor."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepo import make_repo
from tests.vscode.rig import CODE_SERVER, EXTENSION, EXTENSION_ID, missing_requirement, run


@pytest.fixture(scope="session")
def vsix(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """The extension packaged from the current sources with the README's build command
    (once per session; the server's wheels bundled inside), and how long it took."""
    if not CODE_SERVER.exists():
        missing_requirement(f"code-server ({CODE_SERVER})")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        missing_requirement("chromium")
    if not (EXTENSION / "node_modules" / "playwright-core").is_dir():
        missing_requirement("the extension's node_modules")
    out = tmp_path_factory.mktemp("vsix") / "session-sidecar.vsix"
    started = time.monotonic()
    run(
        ["npm", "run", "--silent", "package", "--", "-o", str(out)],
        cwd=EXTENSION,
        env={**os.environ, "npm_config_update_notifier": "false"},
        # The first build downloads the dependency wheels from PyPI (cached after).
        timeout=900,
    )
    return out, time.monotonic() - started


@pytest.fixture(scope="session")
def server_storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extension's global storage, shared by the editors of a session: the first
    start installs the bundled server into it (as once per user), the others reuse it."""
    return tmp_path_factory.mktemp("global-storage")


@pytest.fixture
def editor_env(tmp_path: Path, vsix: tuple[Path, float], server_storage: Path) -> dict[str, Any]:
    """Isolated HOME, XDG dirs and database; only the .vsix installed (the server comes
    from inside it, run with the python3 on PATH); a repository on main."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium  # checked by the vsix fixture
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VSCODE_", "ELECTRON_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        SIDECAR_DB=str(tmp_path / "sidecar.db"),
    )
    # Nothing of this checkout reaches the server but the wheel inside the .vsix.
    env.pop("PYTHONPATH", None)
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        Path(env[key]).mkdir(parents=True)

    started = time.monotonic()
    user_data = tmp_path / "user-data"
    extensions = tmp_path / "extensions"
    (user_data / "User" / "globalStorage").mkdir(parents=True)
    global_storage = user_data / "User" / "globalStorage" / EXTENSION_ID
    global_storage.symlink_to(server_storage, target_is_directory=True)
    settings = {
        # No sessionSidecar.serverCommand: the extension runs the server it bundles.
        "sessionSidecar.prompts": "native",
        "workbench.startupEditor": "none",
        "workbench.tips.enabled": False,
        "security.workspace.trust.enabled": False,
        "extensions.autoCheckUpdates": False,
        "extensions.autoUpdate": False,
        "telemetry.telemetryLevel": "off",
        "update.mode": "none",
        # Notifications stay until clicked, so the test sees the prompt however slow.
        "workbench.notifications.timeout": 0,
    }
    (user_data / "User" / "settings.json").write_text(json.dumps(settings, indent=2))
    run(
        [
            str(CODE_SERVER),
            "--user-data-dir",
            str(user_data),
            "--extensions-dir",
            str(extensions),
            "--install-extension",
            str(vsix[0]),
        ],
        cwd=tmp_path,
        env=env,
        timeout=180,
    )
    installed = time.monotonic() - started

    repo = make_repo(tmp_path, "repo", files={"README.md": "# demo\n", "app.py": "print(1)\n"})
    config = tmp_path / "code-server.yaml"
    config.write_text("auth: none\ncert: false\n")
    return {
        "env": env,
        "chromium": chromium,
        "repo": repo,
        "config": config,
        "user_data": user_data,
        "global_storage": global_storage,
        "vsix": vsix[0],
        "extensions": extensions,
        "tmp": tmp_path,
        "timings": {"package_s": round(vsix[1], 1), "install_s": round(installed, 1)},
    }
