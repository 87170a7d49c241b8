"""Resuming a session of another branch: the statusline and the panel header show
HEAD's branch (and the session's beside it), the server's `other_branch` warning is
shown, and its offers act: `git switch` really switches the branch of a real git
repository (or says why it could not), a fork lands on this branch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pynvim
import pytest

from .conftest import git, server_cmd
from .driver import Driver

pytestmark = [pytest.mark.editor, pytest.mark.timeout(120)]


def statusline(d: Driver) -> str:
    """The statusline component in the file window."""
    return str(d.lua("return require('session_sidecar').statusline()"))


def session_of(d: Driver) -> dict[str, Any]:
    """The active session as the plugin knows it."""
    return dict(d.state(d.root())["session"])


@pytest.fixture
def sessions(
    nvim: pynvim.Nvim, repo: Path, isolated_env: dict[str, str]
) -> tuple[Driver, dict[str, Any], dict[str, Any]]:
    """HEAD on main with session `main_s` active, and session `feature_s` recorded on
    branch feature (made by answering the drift prompts as a user would)."""
    d = Driver(nvim)
    d.setup(server_cmd(), db_path=isolated_env["SIDECAR_DB"], prompts="native")
    root = d.opened(str(repo / "hello.txt"))
    main_s = d.begin_session()
    d.append(main_s["id"], [{"kind": "prompt", "actor": "user", "payload": {"text": "on main"}}])

    git(repo, "switch", "-q", "-c", "feature")  # the recording UI answers "fresh"
    d.wait(
        f"((require('session_sidecar.state').roots[{root!r}].session or {{}}).boundary or {{}})"
        ".branch == 'feature'",
        15000,
        "the fresh session on feature",
    )
    feature_s = session_of(d)
    d.append(
        feature_s["id"], [{"kind": "prompt", "actor": "user", "payload": {"text": "on feature"}}]
    )

    d.lua("_G.sidecar_test.pick = 'first'")  # resume the main session, offered first
    git(repo, "switch", "-q", "main")
    d.wait(
        f"(require('session_sidecar.state').roots[{root!r}].session or {{}}).id"
        f" == {main_s['id']!r}",
        15000,
        "the main session resumed",
    )
    d.wait(f"require('session_sidecar').statusline() == {('main > ' + main_s['name'])!r}", 5000)
    return d, main_s, feature_s


def test_resume_of_another_branch_shows_head_and_switches(
    sessions: tuple[Driver, dict[str, Any], dict[str, Any]], repo: Path
) -> None:
    """Resuming the feature session while HEAD is on main says so and offers to switch,
    fork or go on; going on leaves HEAD's branch in the statusline and panel header with
    the session's beside it; "Switch to feature" runs `git switch feature` for real."""
    d, _, feature_s = sessions
    root = d.root()
    prompts_before = len(d.prompts())
    d.lua("_G.sidecar_test.pick = 'Go on here'")
    d.nvim.command(f"SessionsResume {feature_s['id']}")
    d.wait(
        f"(require('session_sidecar.state').roots[{root!r}].session or {{}}).id"
        f" == {feature_s['id']!r}",
        8000,
        "the feature session resumed",
    )
    d.wait(d.noted("was recorded on branch 'feature'"), 5000, "the other_branch warning")
    offer = d.prompts()[prompts_before]
    assert offer["kind"] == "session_sidecar.other_branch"
    assert offer["titles"] == ["Switch to feature", "Fork onto main", "Go on here"], offer
    assert "was recorded on branch 'feature'" in offer["prompt"], offer
    both = "main ≠ session: feature > " + feature_s["name"]
    d.wait(
        f"require('session_sidecar').statusline() == {both!r}",
        5000,
        "HEAD's branch and the session's in the statusline",
    )
    d.nvim.command("Sessions")
    d.wait(d.panel_ready(root), 8000, "the panel")
    header = d.panel_lines(root)[0]
    assert "branch: main ≠ session: feature" in header, header
    assert git(repo, "branch", "--show-current").strip() == "main"

    d.nvim.command("wincmd p")
    d.lua("_G.sidecar_test.pick = 'Switch to feature'")
    d.nvim.command(f"SessionsResume {feature_s['id']}")
    d.wait(d.noted("switched to branch feature"), 10000, "the switch")
    assert git(repo, "branch", "--show-current").strip() == "feature"
    d.wait(
        f"require('session_sidecar').statusline() == {('feature > ' + feature_s['name'])!r}",
        10000,
        "the statusline on feature",
    )
    d.wait(
        f"{d.panel_has(root, 'branch: feature')} and not {d.panel_has(root, '≠')}",
        8000,
        "the panel header on feature",
    )
    assert session_of(d)["id"] == feature_s["id"], "still in the resumed session"
    asked = [p for p in d.prompts()[prompts_before:] if p["kind"] == "session_sidecar.drift"]
    assert asked == [], "switching to the session's own branch asks nothing more"


def test_fork_onto_this_branch(
    sessions: tuple[Driver, dict[str, Any], dict[str, Any]], repo: Path
) -> None:
    """Choosing "Fork onto main" leaves HEAD where it is and makes a fork of the feature
    session, recorded on main, the active session."""
    d, _, feature_s = sessions
    root = d.root()
    d.lua("_G.sidecar_test.pick = 'Fork onto main'")
    d.nvim.command(f"SessionsResume {feature_s['id']}")
    d.wait(
        f"(require('session_sidecar.state').roots[{root!r}].session or {{}}).parentId"
        f" == {feature_s['id']!r}",
        10000,
        "the fork active",
    )
    fork = session_of(d)
    assert fork["boundary"]["branch"] == "main"
    assert git(repo, "branch", "--show-current").strip() == "main"
    d.wait(
        "require('session_sidecar').statusline() =="
        f" 'main > ' .. require('session_sidecar.format').truncate({fork['name']!r}, 24)",
        5000,
        "the statusline on the fork",
    )
    assert "≠" not in statusline(d)


def test_a_failed_switch_is_reported(
    sessions: tuple[Driver, dict[str, Any], dict[str, Any]], repo: Path, tmp_path: Path
) -> None:
    """When git refuses to switch (the branch is checked out in another worktree), the
    user is told with git's words, and HEAD and the statusline stay on main."""
    d, _, feature_s = sessions
    git(repo, "worktree", "add", "-q", str(tmp_path / "elsewhere"), "feature")

    d.lua("_G.sidecar_test.pick = 'Switch to feature'")
    d.nvim.command(f"SessionsResume {feature_s['id']}")
    d.wait(d.noted("git switch feature failed"), 10000, "the failure")
    note = next(n for n in d.notes() if "git switch feature failed" in n)
    assert "already" in note and str(tmp_path / "elsewhere") in note, note
    assert git(repo, "branch", "--show-current").strip() == "main"
    assert statusline(d) == f"main ≠ session: feature > {feature_s['name']}"
