"""The session view end to end: the real VS Code workbench (code-server) with a week of
seeded history, the real server, a real repository. A click on an event opens the
session's chat-style webview there; Open Changes opens VS Code's own diff editor, for an
edit and for a checkpoint against the working tree; a fork shows its lineage; the view
groups by date. With UPDATE_DOCS_SCREENSHOT=1 the pictures go to docs/img.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.vscode.rig import run_scenario, seed, update_docs

pytestmark = [pytest.mark.editor, pytest.mark.slow, pytest.mark.timeout(600)]


def test_session_view_renders_the_history_and_opens_changes_in_the_diff_editor(
    editor_env: dict[str, Any],
) -> None:
    repo = editor_env["repo"]
    # Both sides of the diff editor side by side, however narrow the window.
    settings_file = editor_env["user_data"] / "User" / "settings.json"
    settings = json.loads(settings_file.read_text())
    settings["diffEditor.renderSideBySide"] = True
    settings["diffEditor.useInlineViewWhenSpaceIsLimited"] = False
    settings_file.write_text(json.dumps(settings, indent=2))
    history = seed(editor_env)
    flaky, login, oauth = (history.sessions[k] for k in ("flaky", "login", "oauth"))
    # A change after the checkpoint "stable ranking": its Open Changes compares app.py.
    (repo / "app.py").write_text("print(2)\n")
    result, context = run_scenario(
        editor_env, "session-view", driver_env={"E2E_HISTORY": json.dumps(history.to_json())}
    )
    assert result.get("ok"), context

    # Opened from the failed run's row: the view of "Fix flaky pytest run", at that run.
    view = result["view"]
    assert result["viewTab"] == flaky.name, context
    assert view["title"] == flaky.name, context
    assert view["facts"].startswith("main · idle · "), context
    assert view["highlighted"] == f"event-{flaky.seqs['failed']}", context
    assert view["highlightedOnScreen"], context
    # Turns as bubbles with their Markdown rendered (the answer's `test_ranking` is code).
    assert view["userTurns"] == [
        "test_search fails every other run in CI. Find out why and fix it."
    ], context
    assert len(view["agentTurns"]) == 1 and "test_ranking compares" in view["agentTurns"][0]
    # Tool calls: one line each, marks and exit codes, a failure's output open, the diff coloured.
    tools = {t["id"]: t for t in view["tools"]}
    run = tools[f"event-{flaky.seqs['failed']}"]
    assert run["title"] == "Bash pytest -q tests/test_search.py", context
    assert run["mark"] == "✗ exit 1" and run["failed"] and run["outputOpen"], context
    passed = tools[f"event-{flaky.seqs['passed']}"]
    assert passed["mark"] == "✓ exit 0" and not passed["failed"] and not passed["outputOpen"]
    edit = tools[f"event-{flaky.seqs['edit']}"]
    assert edit["title"] == "Edit search.py", context
    assert edit["removed"] == ["-    return sorted(hits, key=lambda h: -h.score)"], context
    assert edit["added"] == ["+    return sorted(hits, key=lambda h: (-h.score, h.name))"], context
    assert edit["actions"] == ["Open Changes"], context
    assert [c["title"] for c in result["checkpointBlock"]] == ["Checkpoint stable ranking"]
    assert result["checkpointBlock"][0]["actions"] == ["Open Changes", "Restore…"], context
    # The page: our one script, a strict policy, nothing remote.
    ours = [src for src in view["scripts"] if src.endswith("media/sessionView.js")]
    assert len(ours) == 1 and not view["remote"], (view["scripts"], context)
    assert "default-src 'none'" in view["csp"] and "script-src 'nonce-" in view["csp"], context

    # Open Changes of the edit: the diff editor, the old line left, the new line right.
    diff = result["changeDiff"]
    assert diff["diff"], context
    assert diff["title"].startswith(f"search.py (#{flaky.seqs['edit']} Edit search.py)"), context
    before, after = result["changeSides"][:2]
    assert "key=lambda h: -h.score)" in before and "h.name" not in before, context
    assert "key=lambda h: (-h.score, h.name))" in after, context

    # Open Changes of the checkpoint: app.py as the checkpoint holds it, against the working file.
    checkpoint = result["checkpointDiff"]
    assert checkpoint["diff"], context
    assert checkpoint["title"].startswith('app.py (checkpoint "stable ranking" ↔ working tree)'), (
        context
    )
    assert [side.strip() for side in result["checkpointSides"][:2]] == ["print(1)", "print(2)"]
    assert (repo / "app.py").read_text() == "print(2)\n"  # shown, never written

    # Lineage: the fork's row and its view say where it came from.
    fork_row = result["forkRow"]
    forked_at = f"forked from {login.name} at #{login.seqs['prompt'] + 3}"
    assert forked_at in fork_row["description"], context
    assert result["forkIcon"] == 1, context
    assert result["forkView"]["title"] == oauth.name, context
    assert result["forkView"]["lineage"] == forked_at, context
    assert result["forkView"]["forkIcons"] == 2, context  # by the name and the lineage
    assert result["view"]["forkIcons"] == 0, context

    # Grouped by date: only date rows, in order; the three-day-old sessions under "This week".
    order = ["Today", "Yesterday", "This week", "Older"]
    groups = result["dateGroups"]
    assert "This week" in groups and groups == sorted(groups, key=order.index), context
    assert "main" in result["branchGroups"], context

    update_docs(
        "session-view",
        {
            "01-session-view.png": "vscode-session-view.png",
            "02-open-changes.png": "vscode-open-changes.png",
            "03-checkpoint-changes.png": "vscode-checkpoint-changes.png",
            "05-by-date.png": "vscode-group-by-date.png",
        },
    )
