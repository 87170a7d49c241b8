"""The code-server rig of the end-to-end tests: start the real VS Code workbench on a
repository with the extension installed, run one driver scenario in headless
Chromium, stop everything; plus the seeded history and the docs screenshots.

Needs what ``editor-clients/vscode/scripts/setup-code-server.sh`` installs. Under
CI (``CI=true``) a missing piece fails the test; elsewhere it skips with the
command to run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.vscode.history import History, seed_history

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "editor-clients" / "vscode"
# publisher.name: the folder of its global storage under <user-data>/User/globalStorage.
EXTENSION_ID = "session-sidecar.session-sidecar"
SETUP = "bash editor-clients/vscode/scripts/setup-code-server.sh"
CODE_SERVER = Path(
    os.environ.get(
        "CODE_SERVER_BIN", EXTENSION / ".code-server" / "node_modules" / ".bin" / "code-server"
    )
)
ARTIFACTS = ROOT / "artifacts" / "vscode"
DOCS_IMG = ROOT / "docs" / "img"
DRIVER = Path(__file__).with_name("e2e_driver.cjs")


def missing_requirement(what: str) -> None:
    """Fail under CI (a missing install step must not pass silently), else skip."""
    message = f"{what} is missing; run `{SETUP}` first"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run a command; on failure raise with its output so the test says why."""
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"code-server exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)  # polling an HTTP port: there is no event to await
    pytest.fail(f"code-server did not answer {url}/healthz within {timeout} s")


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop code-server and every child (extension host, language server)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
    # Children outlive a SIGTERMed parent (reparented to init): end the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=15)


def logs(base: Path) -> str:
    """Tails of the code-server and extension logs, for failure messages."""
    parts = []
    for path in sorted(base.rglob("*.log")):
        if (
            path.name == "code-server.log"
            or "Session Sidecar" in path.name
            or "exthost" in path.name
        ):
            text = path.read_text(errors="replace")[-4000:]
            parts.append(f"--- {path.relative_to(base)}\n{text}")
    return "\n".join(parts)


def run_scenario(
    editor_env: dict[str, Any],
    scenario: str,
    env: dict[str, str] | None = None,
    driver_env: dict[str, str] | None = None,
) -> tuple[dict[str, Any], str]:
    """Start code-server on the repository, run one driver scenario, stop everything.

    ``driver_env`` adds variables for the driver only (the seeded history).
    Returns the driver's result and a context text (output, logs) for assertion messages.
    """
    tmp: Path = editor_env["tmp"]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp / "code-server.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            str(CODE_SERVER),
            "--config",
            str(editor_env["config"]),
            "--user-data-dir",
            str(editor_env["user_data"]),
            "--extensions-dir",
            str(editor_env["extensions"]),
            "--bind-addr",
            f"127.0.0.1:{port}",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            "--disable-getting-started-override",
            str(editor_env["repo"]),
        ],
        cwd=tmp,
        env=env or editor_env["env"],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # one process group: the whole tree stops together
    )
    artifacts = ARTIFACTS / scenario
    artifacts.mkdir(parents=True, exist_ok=True)
    for old in artifacts.glob("*.png"):
        old.unlink()
    try:
        wait_healthy(url, proc, timeout=60)
        healthy = time.monotonic() - started
        driver = subprocess.run(
            ["node", str(DRIVER)],
            cwd=ROOT,
            env={
                **editor_env["env"],
                "NODE_PATH": str(EXTENSION / "node_modules"),
                "E2E_URL": url,
                "E2E_WORKSPACE": str(editor_env["repo"]),
                "E2E_ARTIFACTS": str(artifacts),
                "E2E_SCENARIO": scenario,
                "E2E_CHROMIUM": editor_env["chromium"],
                "E2E_TIMEOUT_MS": os.environ.get("E2E_TIMEOUT_MS", "60000"),
                **(driver_env or {}),
            },
            capture_output=True,
            text=True,
            timeout=420,
            check=False,
        )
    finally:
        stop_group(proc)
        log.close()

    lines = [line for line in driver.stdout.splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {"ok": False}
    context = (
        f"driver exit {driver.returncode}\nstdout: {driver.stdout[-3000:]}\n"
        f"stderr: {driver.stderr[-3000:]}\nscreenshots: {artifacts}\n{logs(tmp)}"
    )
    timings = {
        **editor_env["timings"],
        "healthz_s": round(healthy, 1),
        "steps": result.get("steps"),
    }
    (artifacts / "timings.json").write_text(json.dumps(timings, indent=2))
    return result, context


def seed(editor_env: dict[str, Any]) -> History:
    """A realistic week of history in the test's database (see tests/vscode/history.py)."""
    return seed_history(editor_env["repo"], Path(editor_env["env"]["SIDECAR_DB"]))


def begin_session(editor_env: dict[str, Any], name: str) -> str:
    """A recent session on the repository's branch, begun from the CLI before the editor
    starts (an editor start alone creates none; a recent one is attached). Its id."""
    env = {**editor_env["env"], "PYTHONPATH": str(ROOT)}
    repo = str(editor_env["repo"])
    cli = [sys.executable, "-m", "sidecar"]
    out = run(
        [*cli, "sessions", "start", "--name", name, "--json"], cwd=Path(repo), env=env, timeout=60
    )
    session_id = str(json.loads(out)["session"]["id"])
    prompt = ["events", "append", "--kind", "prompt", "--text", f"Work on {name}."]
    run([*cli, *prompt, "--session", session_id], cwd=Path(repo), env=env, timeout=60)
    return session_id


def update_docs(scenario: str, pictures: dict[str, str]) -> None:
    """With UPDATE_DOCS_SCREENSHOT=1, copy a scenario's screenshots into docs/img."""
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") != "1":
        return
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    for shot, name in pictures.items():
        shutil.copyfile(ARTIFACTS / scenario / shot, DOCS_IMG / name)
