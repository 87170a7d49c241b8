"""End to end: the real VS Code workbench (code-server) with the extension installed,
the real server, a real git repository, a real branch switch and a real click.

The rig (code-server, the driver, the seeded history) is in ``rig.py``; the
editor fixtures in ``conftest.py``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from sidecar.core.models import EventKind
from sidecar.store import Store
from tests.vscode.rig import begin_session, run_scenario, seed, update_docs

pytestmark = [pytest.mark.editor, pytest.mark.slow, pytest.mark.timeout(600)]


def test_branch_switch_prompts_and_start_fresh_lands_under_new_branch(
    editor_env: dict[str, Any],
) -> None:
    """Open a repository on main, switch to feature, click "Start fresh" in the
    drift notification: the tree lists the new session under feature and the
    status bar names it."""
    begin_session(editor_env, "Fix flaky tests")  # an editor start alone creates none
    result, context = run_scenario(editor_env, "drift")
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
    begin_session(editor_env, "Fix flaky tests")
    result, context = run_scenario(editor_env, "commands")
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

    begin_session(editor_env, "Fix flaky tests")
    result, context = run_scenario(editor_env, "lifecycle")
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


def test_four_choice_decision_reads_whole_and_is_answered_from_the_status_item(
    editor_env: dict[str, Any],
) -> None:
    """With a week of history, switching to feature/login (where "Add login form"
    was active two hours ago) asks with four short buttons that fit, names the
    sessions and branches and shows no id; closed unanswered, the decision is
    still answered from the status bar item, and the server records it."""
    history = seed(editor_env)
    login, speed = history.sessions["login"], history.sessions["speed"]
    result, context = run_scenario(
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

    update_docs(
        "decision",
        {
            "02-decision-prompt.png": "vscode-drift-prompt.png",
            "03-decision-pick.png": "vscode-drift-decide.png",
            "04-resumed.png": "vscode-sessions.png",
        },
    )


def test_session_view_opens_at_the_event_and_search_finds_an_appended_prompt(
    editor_env: dict[str, Any],
) -> None:
    """A click on the failed test run of a seeded session opens its session view at
    that block, highlighted (the failure's `✗ exit 1`, the fix as a diff below); a
    prompt appended to that session while the workbench runs is found by the search
    in the view's title bar and opens the session view, reloaded, at the new prompt."""
    history = seed(editor_env)
    flaky = history.sessions["flaky"]
    prompt = "Rename the zebra-stripe helper in search.py before the release."
    # Into the session whose transcript is open by then: the hit is newer than its text.
    append = [
        sys.executable, "-m", "sidecar", "events", "append", "--kind", "prompt",
        "--text", prompt, "--session", flaky.id,
    ]  # fmt: skip
    result, context = run_scenario(
        editor_env,
        "history",
        driver_env={"E2E_HISTORY": json.dumps(history.to_json()), "E2E_APPEND": json.dumps(append)},
    )
    assert result.get("ok"), context

    # The session view opened at the block of the failed run, highlighted and on screen.
    view = result["view"]
    assert view["title"] == flaky.name, context
    assert view["highlighted"] == f"event-{flaky.seqs['failed']}", context
    assert view["highlightedOnScreen"], context
    failed = next(t for t in view["tools"] if t["id"] == view["highlighted"])
    assert failed["title"] == "Bash pytest -q tests/test_search.py", context
    assert failed["mark"] == "✗ exit 1", context
    # The fix below it, as a diff; no payload JSON anywhere.
    added = [line for t in view["tools"] for line in t["added"]]
    assert "+    return sorted(hits, key=lambda h: (-h.score, h.name))" in added, context
    assert '"toolUseId"' not in json.dumps(view) and '"exitCode"' not in json.dumps(view), context

    # Search: the appended prompt, with its session's name, kind, age and snippet.
    assert result["searchTitle"] == "Search session history in this repository", context
    hit = result["searchRows"][0]
    assert hit["label"] == flaky.name, context
    assert hit["description"].startswith("prompt · #"), context
    assert hit["description"].endswith("just now"), context
    assert "[zebra]" in hit["detail"], context
    assert result["hitView"]["title"] == flaky.name, context
    assert result["hitView"]["highlightedOnScreen"], context
    assert prompt in result["hitView"]["highlightedText"], context
    # Nothing found says so and how to look wider.
    empty = result["emptySearchRows"]
    assert empty[0]["label"].endswith('No matches for "quetzalcoatl" in this repository'), context
    assert "scope: all" in empty[0]["detail"], context

    update_docs(
        "history",
        {"03-search.png": "vscode-search.png"},
    )
