"""`hooks install|uninstall claude-code`: settings merged, not clobbered; exact removal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sidecar.agents.claude_code import HOOK_EVENTS, INSTALLER
from sidecar.agents.hook_settings import add_hooks, hook_command, is_our_command, remove_hooks
from tests.gitrepo import isolate_git_config, make_repo

pytestmark = pytest.mark.timeout(120)

#: `session-sidecar hooks ...` with the command registered the way sidecar/cli/main.py does it.
HOOKS_CLI = [
    sys.executable,
    "-c",
    "import sys; from sidecar.cli.main import LAZY_COMMANDS, app; "
    "LAZY_COMMANDS.setdefault('hooks', 'sidecar.cli.hooks:hooks_app'); "
    "app(['hooks', *sys.argv[1:]], prog_name='session-sidecar')",
]
OTHER_HOOK = {"type": "command", "command": "notify-send done", "timeout": 5}
ORIGINAL: dict[str, Any] = {
    "model": "opus",
    "permissions": {"allow": ["Bash(git status)"]},
    "hooks": {"Stop": [{"hooks": [OTHER_HOOK]}]},
}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    return isolate_git_config(monkeypatch, tmp_path / "home")


def hooks(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*HOOKS_CLI, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )


def write_settings(path: Path, data: dict[str, Any]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=4)
    path.write_text(text, encoding="utf-8")
    return text


def our_entries(settings: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        event: [h for g in groups for h in g["hooks"] if is_our_command(h["command"])]
        for event, groups in settings.get("hooks", {}).items()
    }


def test_install_keeps_other_settings_and_backs_up(home: Path) -> None:
    path = home / ".claude" / "settings.json"
    before = write_settings(path, ORIGINAL)

    proc = hooks("install", "claude-code", "--json")

    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["changed"] == len(HOOK_EVENTS)
    backup = Path(report["backup"])
    assert backup.name.startswith("settings.json.bak-")
    assert backup.read_text(encoding="utf-8") == before
    settings = json.loads(path.read_text(encoding="utf-8"))
    assert settings["model"] == "opus"
    assert settings["permissions"] == ORIGINAL["permissions"]
    assert OTHER_HOOK in settings["hooks"]["Stop"][0]["hooks"]
    ours = our_entries(settings)
    assert set(ours) == set(HOOK_EVENTS)
    for entries in ours.values():
        assert len(entries) == 1
        assert entries[0]["command"].endswith("hook claude-code")
        assert entries[0]["timeout"] == 10
    assert settings["hooks"]["PreToolUse"][-1]["matcher"] == "*"


def test_installing_twice_adds_nothing(home: Path) -> None:
    path = home / ".claude" / "settings.json"
    write_settings(path, ORIGINAL)
    assert hooks("install", "claude-code").returncode == 0
    once = path.read_text(encoding="utf-8")
    backups = sorted(path.parent.glob("settings.json.bak-*"))

    proc = hooks("install", "claude-code", "--json")

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["changed"] == 0
    assert path.read_text(encoding="utf-8") == once
    assert sorted(path.parent.glob("settings.json.bak-*")) == backups


def test_uninstall_removes_exactly_what_install_added(home: Path) -> None:
    path = home / ".claude" / "settings.json"
    write_settings(path, ORIGINAL)
    assert hooks("install", "claude-code").returncode == 0

    proc = hooks("uninstall", "claude-code", "--json")

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["changed"] == len(HOOK_EVENTS)
    assert json.loads(path.read_text(encoding="utf-8")) == ORIGINAL
    again = hooks("uninstall", "claude-code", "--json")
    assert json.loads(again.stdout)["changed"] == 0


def test_install_into_a_missing_file_then_uninstall_leaves_an_empty_object(home: Path) -> None:
    path = home / ".claude" / "settings.json"
    proc = hooks("install", "claude-code", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["backup"] is None
    assert set(our_entries(json.loads(path.read_text(encoding="utf-8")))) == set(HOOK_EVENTS)
    assert hooks("uninstall", "claude-code").returncode == 0
    assert json.loads(path.read_text(encoding="utf-8")) == {}


def test_local_scope_writes_the_repository_settings_local_file(home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    sub = repo / "src"
    sub.mkdir()
    proc = hooks("install", "claude-code", "--scope", "local", "--block", cwd=sub)
    assert proc.returncode == 0, proc.stderr
    local = repo / ".claude" / "settings.local.json"
    entries = our_entries(json.loads(local.read_text(encoding="utf-8")))
    assert entries["UserPromptSubmit"][0]["command"].endswith("hook claude-code --block")
    assert not (home / ".claude" / "settings.json").exists()


def test_claude_config_dir_moves_the_user_settings(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "claude-config"
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    assert hooks("install", "claude-code").returncode == 0
    assert (config / "settings.json").is_file()
    assert not (home / ".claude").exists()


def test_invalid_settings_are_left_alone_with_a_clear_error(home: Path) -> None:
    path = home / ".claude" / "settings.json"
    path.parent.mkdir(parents=True)
    path.write_text("{ not json", encoding="utf-8")
    proc = hooks("install", "claude-code")
    assert proc.returncode != 0
    assert "not valid JSON" in proc.stderr
    assert path.read_text(encoding="utf-8") == "{ not json"
    assert list(path.parent.glob("*.bak-*")) == []


def test_a_moved_executable_is_updated_in_place() -> None:
    layout = INSTALLER.layout
    first, _ = add_hooks(layout, {}, "/old/bin/session-sidecar hook claude-code")
    moved, changed = add_hooks(layout, first, "/new/bin/session-sidecar hook claude-code")
    assert changed == len(HOOK_EVENTS)
    commands = [h["command"] for e in our_entries(moved).values() for h in e]
    assert set(commands) == {"/new/bin/session-sidecar hook claude-code"}
    assert remove_hooks(layout, moved) == ({}, len(HOOK_EVENTS))


def test_hook_command_prefers_the_running_executable(tmp_path: Path) -> None:
    exe = tmp_path / "bin" / "session-sidecar"
    exe.parent.mkdir()
    exe.write_text("#!/bin/sh\n", encoding="utf-8")
    exe.chmod(0o755)
    assert hook_command(argv0=str(exe)) == f"{exe} hook claude-code"
    assert is_our_command(hook_command(argv0="/usr/lib/python3/foo.py"))
    assert hook_command(argv0=str(exe), block=True).endswith(" --block")


def test_our_command_is_recognised_and_others_are_not() -> None:
    assert is_our_command("'/opt/my tools/session-sidecar' hook claude-code")
    assert is_our_command("/venv/bin/python -m sidecar hook claude-code --block")
    assert not is_our_command("session-sidecar-other hook claude-code-x")
    assert not is_our_command("notify-send done")
    assert not is_our_command("session-sidecar hook codex")
    assert is_our_command("session-sidecar hook codex", "codex")


def test_an_unknown_scope_is_refused_with_the_ones_there_are(home: Path) -> None:
    proc = hooks("install", "claude-code", "--scope", "everywhere")
    assert proc.returncode != 0
    assert "user" in proc.stderr and "local" in proc.stderr
