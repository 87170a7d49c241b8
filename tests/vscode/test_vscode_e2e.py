"""End to end: the real VS Code workbench (code-server) with the extension installed,
the real server, a real git repository, a real branch switch and a real click.

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

from sidecar.core.models import EventKind
from sidecar.store import Store
from tests.gitrepo import make_repo
from tests.vscode.history import History, seed_history

ROOT = Path(__file__).resolve().parents[2]
EXTENSION = ROOT / "editor-clients" / "vscode"
SETUP = "bash editor-clients/vscode/scripts/setup-code-server.sh"
CODE_SERVER = Path(
    os.environ.get(
        "CODE_SERVER_BIN", EXTENSION / ".code-server" / "node_modules" / ".bin" / "code-server"
    )
)
ARTIFACTS = ROOT / "artifacts" / "vscode"
DOCS_IMG = ROOT / "docs" / "img"
DRIVER = Path(__file__).with_name("e2e_driver.cjs")

pytestmark = [pytest.mark.editor, pytest.mark.slow, pytest.mark.timeout(600)]


def _missing_requirement(what: str) -> None:
    """Fail under CI (a missing install step must not pass silently), else skip."""
    message = f"{what} is missing; run `{SETUP}` first"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(cmd: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    """Run a command; on failure raise with its output so the test says why."""
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
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


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop code-server and every child (extension host, language server)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
    # Children outlive a SIGTERMed parent (reparented to init): end the group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=15)


def _logs(base: Path) -> str:
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


@pytest.fixture(scope="module")
def vsix(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """The extension packaged from the current sources (once per module), and how long it took."""
    if not CODE_SERVER.exists():
        _missing_requirement(f"code-server ({CODE_SERVER})")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        _missing_requirement("chromium")
    if not (EXTENSION / "node_modules" / "playwright-core").is_dir():
        _missing_requirement("the extension's node_modules")
    out = tmp_path_factory.mktemp("vsix") / "session-sidecar.vsix"
    started = time.monotonic()
    _run(
        ["npx", "--no-install", "vsce", "package", "-o", str(out)],
        cwd=EXTENSION,
        env={**os.environ, "npm_config_update_notifier": "false"},
        timeout=180,
    )
    return out, time.monotonic() - started


@pytest.fixture
def editor_env(tmp_path: Path, vsix: tuple[Path, float]) -> dict[str, Any]:
    """Isolated HOME, XDG dirs and database; the extension installed; a repository on main."""
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
        # The server runs from this checkout whether or not it is pip-installed.
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    )
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        Path(env[key]).mkdir(parents=True)

    started = time.monotonic()
    user_data = tmp_path / "user-data"
    extensions = tmp_path / "extensions"
    (user_data / "User").mkdir(parents=True)
    settings = {
        # The project's own interpreter runs the server under test.
        "sessionSidecar.serverCommand": [sys.executable, "-m", "sidecar", "serve"],
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
    _run(
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
        "extensions": extensions,
        "tmp": tmp_path,
        "timings": {"package_s": round(vsix[1], 1), "install_s": round(installed, 1)},
    }


def _run_scenario(
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
    port = _free_port()
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
        _wait_healthy(url, proc, timeout=60)
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
        _stop_group(proc)
        log.close()

    lines = [line for line in driver.stdout.splitlines() if line.startswith("{")]
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {"ok": False}
    context = (
        f"driver exit {driver.returncode}\nstdout: {driver.stdout[-3000:]}\n"
        f"stderr: {driver.stderr[-3000:]}\nscreenshots: {artifacts}\n{_logs(tmp)}"
    )
    timings = {
        **editor_env["timings"],
        "healthz_s": round(healthy, 1),
        "steps": result.get("steps"),
    }
    (artifacts / "timings.json").write_text(json.dumps(timings, indent=2))
    return result, context


def test_branch_switch_prompts_and_start_fresh_lands_under_new_branch(
    editor_env: dict[str, Any],
) -> None:
    """Open a repository on main, switch to feature, click "Start fresh" in the
    drift notification: the tree lists the new session under feature and the
    status bar names it."""
    result, context = _run_scenario(editor_env, "drift")
    assert result.get("ok"), context

    # Short buttons for the native prompt (no resumable session here), each shown whole.
    assert result["promptButtons"] == ["Fresh", "Continue", "Don't ask"], context
    assert all(result["buttonsFit"]), context

    # The status bar names a session on feature, and that session is in the tree under feature.
    assert result["finalStatus"].startswith("feature · "), context
    assert result["freshSession"]["label"] == result["finalStatusSession"], context
    assert "current" in result["freshSession"]["description"], context
    assert result["initialStatus"].startswith("main · "), context
    assert result["finalStatusSession"] != result["initialSession"], context
    # The first session stays listed under main, no longer current.
    rows = result["rows"]
    main_at = next(i for i, r in enumerate(rows) if r["level"] == 1 and r["label"] == "main")
    assert rows[main_at + 1]["label"] == result["initialSession"], context
    assert "current" not in rows[main_at + 1]["description"], context


def test_commands_start_show_rename_and_delete_sessions(editor_env: dict[str, Any]) -> None:
    """From the command palette: start a named session, read its transcript,
    rename it, checkpoint it (listed under the session), delete the first
    session through the modal confirmation."""
    result, context = _run_scenario(editor_env, "commands")
    assert result.get("ok"), context
    assert result["freshStatus"] == "main · e2e fresh", context
    assert "current" in result["freshSession"]["description"], context
    assert result["transcriptTab"] == "e2e fresh.md", context
    assert "# e2e fresh" in result["transcript"], context
    assert "Branch: main" in result["transcript"].replace("*", ""), context
    assert result["checkpointRow"]["description"].startswith("#"), context
    # Listed once: as a checkpoint row, not again as its checkpoint event.
    children = [row["label"] for row in result["sessionChildren"]]
    assert children.count("checkpoint: e2e checkpoint") == 1, context
    assert "cannot be undone" in result["deleteDialog"], context
    labels = [row["label"] for row in result["rows"] if row["level"] == 2]
    assert "e2e renamed" in labels, context
    assert result["initialSession"] not in labels, context


def test_missing_server_says_what_to_install_and_opens_the_setting(
    editor_env: dict[str, Any],
) -> None:
    """With no serverCommand, no `session-sidecar` on PATH and no Python
    extension, the error says what to install and "Open Settings" opens
    `sessionSidecar.serverCommand`."""
    settings_file = editor_env["user_data"] / "User" / "settings.json"
    settings = json.loads(settings_file.read_text())
    del settings["sessionSidecar.serverCommand"]
    settings_file.write_text(json.dumps(settings, indent=2))
    # A PATH with node and git but certainly without session-sidecar.
    node = shutil.which("node")
    assert node
    path = os.pathsep.join(dict.fromkeys([str(Path(node).parent), "/usr/bin", "/bin"]))
    assert shutil.which("session-sidecar", path=path) is None, path
    env = {**editor_env["env"], "PATH": path}

    result, context = _run_scenario(editor_env, "missing-server", env)
    assert result.get("ok"), context
    assert "pip install session-sidecar" in result["errorMessage"], context
    assert "sessionSidecar.serverCommand" in result["errorMessage"], context
    # It says where it looked: the setting, the PATH folders, the Python extension.
    assert '"sessionSidecar.serverCommand" (empty)' in result["errorMessage"], context
    assert '"session-sidecar" on the extension host\'s PATH: /' in result["errorMessage"], context
    assert "the Python extension is not installed" in result["errorMessage"], context
    assert result["errorButtons"] == ["Open Settings", "Show Output", "Restart"], context
    assert "offline" in result["status"], context
    assert "Server Command" in result["settingShown"], context


def test_fork_resume_export_and_custom_drift_prompt(editor_env: dict[str, Any]) -> None:
    """One session of the workbench: fork from the tree's context menu (the fork
    is current under main), resume the first session from the palette, export
    the fork to Markdown in the workspace, then with prompts = "custom" switch
    branch and click "Start fresh" in the extension's own notification."""
    settings_file = editor_env["user_data"] / "User" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["sessionSidecar.prompts"] = "custom"
    # The JSON-RPC trace in the output log shows which path the prompt took.
    settings["sessionSidecar.trace.server"] = "messages"
    settings_file.write_text(json.dumps(settings, indent=2))

    result, context = _run_scenario(editor_env, "lifecycle")
    assert result.get("ok"), context
    first = result["initialSession"]

    # Fork: listed under main, current, named in the status bar; the original stays.
    assert result["forkStatus"] == "main · e2e fork", context
    main_labels = [
        r["label"]
        for r in result["rowsAfterFork"]
        if r["level"] == 2 and r["label"] in (first, "e2e fork")
    ]
    assert sorted(main_labels) == sorted([first, "e2e fork"]), context
    assert "current" in result["fork"]["description"], context

    # Resume: the first session is current again.
    assert result["resumeStatus"] == f"main · {first}", context
    assert "current" in result["resumed"]["description"], context

    # Export: a Markdown file in the workspace whose first heading is the fork's name.
    exported = list(editor_env["repo"].glob("session-*.md"))
    assert len(exported) == 1, (exported, context)
    assert exported[0].read_text().splitlines()[0] == "# e2e fork", context
    assert result["exportTab"] == exported[0].name, context
    assert str(exported[0]) in result["exportMessage"], context

    # Custom drift prompt: one notification (the extension's, not also the server's).
    assert result["promptCount"] == 1, context
    assert result["promptButtons"] == ["Fresh", "Continue", "Don't ask"], context
    assert all(result["buttonsFit"]), context
    assert f'"{first}"' in result["promptMessage"], context
    assert result["finalStatus"].startswith("other · "), context
    assert result["freshSession"]["label"] == result["finalStatusSession"], context
    assert "current" in result["freshSession"]["description"], context
    assert result["finalStatusSession"] not in (first, "e2e fork"), context
    # The answer went back as sidecar/drift/decide; the server never asked natively.
    trace = "\n".join(
        p.read_text(errors="replace") for p in editor_env["tmp"].rglob("*Session Sidecar*.log")
    )
    assert "Sending request 'sidecar/drift/decide" in trace, context
    assert "Received notification 'sidecar/driftDetected'" in trace, context
    assert "window/showMessageRequest" not in trace, context


def _seed(editor_env: dict[str, Any]) -> History:
    """A realistic week of history in the test's database (see tests/vscode/history.py)."""
    return seed_history(editor_env["repo"], Path(editor_env["env"]["SIDECAR_DB"]))


def _update_docs(scenario: str, pictures: dict[str, str]) -> None:
    """With UPDATE_DOCS_SCREENSHOT=1, copy a scenario's screenshots into docs/img."""
    if os.environ.get("UPDATE_DOCS_SCREENSHOT") != "1":
        return
    DOCS_IMG.mkdir(parents=True, exist_ok=True)
    for shot, name in pictures.items():
        shutil.copyfile(ARTIFACTS / scenario / shot, DOCS_IMG / name)


def test_four_choice_decision_reads_whole_and_is_answered_from_the_status_item(
    editor_env: dict[str, Any],
) -> None:
    """With a week of history, switching to feature/login (where "Add login form"
    was active two hours ago) asks with four short buttons that fit, names the
    sessions and branches and shows no id; closed unanswered, the decision is
    still answered from the status bar item, and the server records it."""
    history = _seed(editor_env)
    login, speed = history.sessions["login"], history.sessions["speed"]
    result, context = _run_scenario(
        editor_env, "decision", driver_env={"E2E_HISTORY": json.dumps(history.to_json())}
    )
    assert result.get("ok"), context
    assert result["initialSession"] == speed.name, context

    # The notification: four short buttons, none cut at the default window size.
    assert result["promptButtons"] == ["Resume", "Fresh", "Continue", "Don't ask"], context
    assert all(result["buttonsFit"]), context
    assert result["longLabelCaught"], f"the ellipsis check misses a cut label: {context}"
    # The names are in the message, the raw ids nowhere.
    message = result["promptMessage"]
    assert "from main to feature/login" in message, context
    assert f'Resume "{login.name}" (feature/login, active ' in message, context
    assert f'continue "{speed.name}"' in message, context
    shown = " ".join([message, *result["promptButtons"]])
    assert not [i for i in history.ids() if i in shown], context

    # Closed unanswered: still pending, and the status item offers this decision's choices.
    assert result["statusAfterClose"].endswith(" drift"), context
    assert [r["label"] for r in result["pickRows"]] == [
        f'Resume "{login.name}" on feature/login',
        "Start a fresh session on feature/login",
        f'Continue "{speed.name}"',
        "Continue and don't ask again on feature/login",
    ], context
    assert result["pickRows"][0]["description"] == "recommended", context
    assert result["pickTitle"] == "You switched from main to feature/login.", context

    # Answered there: the session is resumed, and the server recorded the decision once.
    assert result["finalStatus"] == f"feature/login · {login.name}", context
    store = Store.open(editor_env["env"]["SIDECAR_DB"], read_only=True)
    try:
        decisions = [
            e.payload for e in store.events.page(login.id, limit=1000, kinds=[EventKind.DECISION])
        ]
    finally:
        store.close()
    assert [d["action"] for d in decisions] == ["resume"], (decisions, context)

    _update_docs(
        "decision",
        {
            "02-decision-prompt.png": "vscode-drift-prompt.png",
            "03-decision-pick.png": "vscode-drift-decide.png",
            "04-resumed.png": "vscode-sessions.png",
        },
    )


def test_transcript_opens_at_the_event_and_search_finds_an_appended_prompt(
    editor_env: dict[str, Any],
) -> None:
    """A click on the failed test run of a seeded session opens its transcript at
    that block, made of the server's Markdown (the failure's `✗ exit 1`, the fix
    as a diff fence); a prompt appended to that session while the workbench runs
    is found by the search in the view's title bar and opens the transcript,
    reloaded, at the new prompt."""
    history = _seed(editor_env)
    flaky = history.sessions["flaky"]
    prompt = "Rename the zebra-stripe helper in search.py before the release."
    # Into the session whose transcript is open by then: the hit is newer than its text.
    append = [
        sys.executable, "-m", "sidecar", "events", "append", "--kind", "prompt",
        "--text", prompt, "--session", flaky.id,
    ]  # fmt: skip
    result, context = _run_scenario(
        editor_env,
        "history",
        driver_env={"E2E_HISTORY": json.dumps(history.to_json()), "E2E_APPEND": json.dumps(append)},
    )
    assert result.get("ok"), context

    # Opened at the block of the failed run, not at the top.
    place = result["transcriptPlace"]
    assert place["tab"] == f"{flaky.name}.md", context
    assert place["firstVisibleLine"] > 1, context
    assert not place["cursor"].startswith("Ln 1,"), context
    text = result["transcript"]
    assert "**Bash pytest -q tests/test_search.py** — ✗ exit 1 · " in text, context
    assert f"· #{flaky.seqs['failed']}" in text, context
    # The fix below it, as the server's diff fence; no payload JSON anywhere.
    assert "```diff" in text, context
    assert "+    return sorted(hits, key=lambda h: (-h.score, h.name))" in text, context
    assert '"toolUseId"' not in text and '"exitCode"' not in text, context

    # Search: the appended prompt, with its session's name, kind, age and snippet.
    assert result["searchTitle"] == "Search session history in this repository", context
    hit = result["searchRows"][0]
    assert hit["label"] == flaky.name, context
    assert hit["description"].startswith("prompt · #"), context
    assert hit["description"].endswith("just now"), context
    assert "[zebra]" in hit["detail"], context
    assert result["hitPlace"]["tab"] == f"{flaky.name}.md", context
    assert result["hitPlace"]["firstVisibleLine"] > 1, context
    assert prompt in result["hitTranscript"], context
    # Nothing found says so and how to look wider.
    empty = result["emptySearchRows"]
    assert empty[0]["label"].endswith('No matches for "quetzalcoatl" in this repository'), context
    assert "scope: all" in empty[0]["detail"], context

    _update_docs(
        "history",
        {"02-transcript.png": "vscode-transcript.png", "03-search.png": "vscode-search.png"},
    )
