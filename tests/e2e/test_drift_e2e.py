"""Drift detection end to end: real git repositories, the real server process, pytest-lsp.

Each test switches branches (rebases, detaches, commits) with the real ``git``
while a server watches the workspace, and checks what the client receives
(``sidecar/driftDetected``, the ``window/showMessageRequest`` prompt,
``sessionChanged``, ``historyChanged``) and what the store holds afterwards,
through the protocol. Waiters are created before the change that triggers
them; every wait is bounded; "nothing happens" is proved with a later event
the server handles in order (a commit, a request), never with a sleep.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import stop_client
from tests.e2e.drifthelp import DriftClient, start_client
from tests.gitrepo import add_worktree, commit, git, isolate_git_config, switch

pytestmark = pytest.mark.timeout(60)

START_FRESH = "Start fresh"
CONTINUE_HERE = "Continue here"
DONT_ASK = "Don't ask again for this branch"
NO_RESUME = [START_FRESH, CONTINUE_HERE, DONT_ASK]

Start = Callable[..., Awaitable[DriftClient]]


@pytest.fixture
async def start(
    server_env: dict[str, str], home: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Start]:
    """Start servers (VS Code capabilities unless ``editor=``); all are stopped afterwards."""
    isolate_git_config(monkeypatch, home)
    clients: list[DriftClient] = []

    async def _start(folders: list[Path], **kw: Any) -> DriftClient:
        client = await start_client(folders, server_env, **kw)
        clients.append(client)
        return client

    yield _start
    for client in clients:
        await stop_client(client)


def _decisions(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["payload"] for e in events if e["kind"] == "decision"]


async def _switch_and_answer(
    client: DriftClient,
    repo: Path,
    branch: str,
    answer: str,
    reason: str,
    *,
    create: bool = False,
) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """Switch ``repo`` to ``branch``; answer the prompt; returns (driftDetected, the prompt's
    actions, the sessionChanged with ``reason``)."""
    client.prompter.script = [answer]
    count = len(client.prompter.prompts) + 1
    drift = client.expect("sidecar/driftDetected")
    changed = client.expect("sidecar/sessionChanged", lambda p: p["reason"] == reason)
    switch(repo, branch, create=create)
    detected = await drift
    prompt = await client.prompter.wait(count)
    # The prompt says it in words with names (no ids), and offers the server's titles.
    assert prompt.message == detected["recommendation"]["question"]
    assert prompt.actions == [c["title"] for c in detected["recommendation"]["choices"]]
    return detected, prompt.actions, await changed


@pytest.mark.timeout(90)
async def test_a_branch_switch_prompts_and_each_answer_acts(
    start: Start, repo: Path, editor: str
) -> None:
    client = await start([repo], editor=editor)
    first = await client.active()
    await client.request("sidecar/sessions/rename", {"sessionId": first["id"], "name": "alpha"})
    await client.request(
        "sidecar/events/append", {"events": [{"kind": "prompt", "payload": {"text": "on main"}}]}
    )

    # Start fresh: a new session on the new branch; the old one is left idle, not ended.
    detected, actions, changed = await _switch_and_answer(
        client, repo, "feature", START_FRESH, "fresh", create=True
    )
    assert detected["folder"] == repo.as_uri()
    assert detected["before"]["branch"] == "main" and detected["after"]["branch"] == "feature"
    assert detected["recommendation"]["action"] == "fresh"
    assert "branch_changed" in {r["code"] for r in detected["recommendation"]["reasons"]}
    assert actions == NO_RESUME
    second = changed["session"]
    assert second["id"] != first["id"] and second["boundary"]["branch"] == "feature"
    await client.seen("sidecar/historyChanged", lambda p: p["sessionId"] == second["id"])
    assert _decisions(await client.events(second["id"])) == [
        {
            "action": "fresh",
            "chosen": START_FRESH,
            "remember": False,
            "branch": "feature",
            "recommendation": detected["recommendation"]["summary"],
            "recommended": "fresh",
        }
    ]
    listed = await client.request("sidecar/sessions/list", {"scope": "branch"})
    assert [s["id"] for s in listed["items"]] == [second["id"]]
    shown = await client.request("sidecar/sessions/show", {"sessionId": first["id"]})
    assert shown["session"]["status"] == "idle"
    old_kinds = [e["kind"] for e in await client.events(first["id"])]
    assert old_kinds[-2:] == ["branch_change", "drift"]

    # Back on main: resuming "alpha" is offered first; choosing it resumes it.
    _, actions, changed = await _switch_and_answer(client, repo, "main", "#0", "resumed")
    assert actions == ['Resume "alpha"', *NO_RESUME]
    assert changed["session"]["id"] == first["id"]
    assert _decisions(await client.events(first["id"]))[-1]["chosen"] == 'Resume "alpha"'

    # To feature again: "Continue here" keeps "alpha" and binds it to feature.
    _, actions, changed = await _switch_and_answer(
        client, repo, "feature", CONTINUE_HERE, "continued"
    )
    assert actions[0] == f'Resume "{second["name"]}"'
    assert changed["session"]["id"] == first["id"]
    assert changed["session"]["boundary"]["branch"] == "feature"
    decision = _decisions(await client.events(first["id"]))[-1]
    assert (decision["action"], decision["remember"]) == ("continue", False)

    # "Don't ask again" continues and remembers the choice for main.
    _, actions, changed = await _switch_and_answer(client, repo, "main", DONT_ASK, "continued")
    assert actions == NO_RESUME
    assert changed["session"]["boundary"]["branch"] == "main"
    decision = _decisions(await client.events(first["id"]))[-1]
    assert (decision["action"], decision["remember"], decision["branch"]) == (
        "continue",
        True,
        "main",
    )
    status = await client.status()
    assert status["pendingRecommendation"] is None and status["watcherMode"] == "native"


async def test_the_same_branch_again_is_silent_and_a_commit_is_recorded(
    start: Start, repo: Path
) -> None:
    client = await start([repo])
    session = await client.active()
    git(repo, "checkout", "--quiet", "main")
    # The commit's watcher job runs after the checkout's: its event proves the
    # checkout was handled, and handled silently.
    history = client.expect("sidecar/historyChanged", lambda p: p["sessionId"] == session["id"])
    sha = commit(repo, "add feature flag", {"src/flag.py": "FLAG = True\n"})
    await history
    commits = await client.events(session["id"], "commit")
    assert [(c["payload"]["sha"], c["payload"]["subject"]) for c in commits] == [
        (sha, "add feature flag")
    ]
    assert commits[0]["payload"]["branch"] == "main"
    assert client.notifications["sidecar/driftDetected"] == []
    assert client.prompter.prompts == []
    assert (await client.active())["id"] == session["id"]


async def test_a_rebase_is_decided_once_after_it_ends(start: Start, repo: Path) -> None:
    git(repo, "branch", "feature")
    commit(repo, "main edit", {"README.md": "main\n"})
    switch(repo, "feature")
    commit(repo, "feature edit", {"README.md": "feature\n"})
    client = await start([repo])
    session = await client.active()

    git(repo, "rebase", "main", check=False)  # stops on the conflict
    assert (repo / ".git" / "rebase-merge").is_dir()
    status = await client.status()
    # The watcher may lag the request by a moment; the operation is read from git then.
    assert status["gitOperation"] in ("rebase", None)
    (repo / "README.md").write_text("resolved\n", encoding="utf-8")
    git(repo, "add", "README.md")
    drift = client.expect("sidecar/driftDetected")
    git(repo, "rebase", "--continue")
    detected = await drift
    codes = {r["code"] for r in detected["recommendation"]["reasons"]}
    assert "history_rewritten" in codes and "branch_changed" not in codes
    assert detected["after"]["branch"] == "feature"

    history = client.expect("sidecar/historyChanged", lambda p: p["sessionId"] == session["id"])
    sha = commit(repo, "after the rebase", {"b.txt": "b\n"})
    await history
    await client.quiet()
    assert len(client.notifications["sidecar/driftDetected"]) == 1
    assert client.prompter.prompts == []
    assert await client.events(session["id"], "branch_change") == []
    assert len(await client.events(session["id"], "drift")) == 1
    assert (await client.events(session["id"], "commit"))[-1]["payload"]["sha"] == sha
    assert (await client.active())["id"] == session["id"]


async def test_a_detached_head_is_a_branch_change(start: Start, repo: Path) -> None:
    client = await start([repo], script=[None])
    head = git(repo, "rev-parse", "HEAD")
    drift = client.expect("sidecar/driftDetected")
    git(repo, "switch", "--quiet", "--detach", "HEAD")
    detected = await drift
    assert detected["after"]["branch"] == f"detached@{head[:7]}"
    prompt = await client.prompter.wait(1)
    assert prompt.actions == NO_RESUME
    # Dismissed: the recommendation stays pending for the status bar.
    status = await client.status()
    assert status["pendingRecommendation"]["summary"] == detected["recommendation"]["summary"]


async def test_a_linked_worktree_folder_has_its_own_boundary_and_session(
    start: Start, repo: Path, tmp_path: Path
) -> None:
    linked = add_worktree(repo, tmp_path / "linked", "wt")
    client = await start([repo, linked], editor="neovim@v0.11", script=[START_FRESH])
    workspaces = {w["folder"]: w for w in (await client.status())["workspaces"]}
    main_ws, linked_ws = workspaces[repo.as_uri()], workspaces[linked.as_uri()]
    assert main_ws["activeSession"]["id"] != linked_ws["activeSession"]["id"]
    assert linked_ws["boundary"]["worktree"] == str(linked)
    assert linked_ws["boundary"]["branch"] == "wt"
    assert linked_ws["boundary"]["repository"] == main_ws["boundary"]["repository"]

    drift = client.expect("sidecar/driftDetected")
    fresh = client.expect("sidecar/sessionChanged", lambda p: p["reason"] == "fresh")
    switch(linked, "wt-2", create=True)
    detected = await drift
    changed = await fresh
    assert detected["folder"] == linked.as_uri()
    assert detected["before"]["worktree"] == str(linked)
    assert changed["folder"] == linked.as_uri()
    assert changed["session"]["boundary"]["branch"] == "wt-2"
    await client.quiet()
    assert len(client.notifications["sidecar/driftDetected"]) == 1
    assert (await client.active(repo))["id"] == main_ws["activeSession"]["id"]


async def test_an_isolated_session_gets_its_own_branch_and_worktree(
    start: Start, repo: Path
) -> None:
    client = await start([repo])
    started = await client.request("sidecar/sessions/start", {"name": "spike", "isolate": True})
    branch = started["session"]["boundary"]["branch"]
    assert branch.startswith("session/") and started["warning"] is None
    assert git(repo, "branch", "--show-current") == branch
    assert (await client.active())["id"] == started["session"]["id"]

    apart = await client.request(
        "sidecar/sessions/start", {"name": "apart", "isolate": True, "worktree": True}
    )
    assert apart["warning"]["code"] == "open_worktree"
    worktree = Path(apart["session"]["boundary"]["worktree"])
    assert worktree != repo and worktree.is_dir()
    assert git(worktree, "branch", "--show-current") == apart["session"]["boundary"]["branch"]
    assert str(worktree) in git(repo, "worktree", "list")
    await client.quiet()
    # The sidecar's own switch is not drift.
    assert client.prompter.prompts == []
    assert client.notifications["sidecar/driftDetected"] == []


async def test_custom_prompts_leave_the_decision_to_the_client(start: Start, repo: Path) -> None:
    client = await start([repo], options={"prompts": "custom"})
    first = await client.active()
    drift = client.expect("sidecar/driftDetected")
    switch(repo, "feature", create=True)
    detected = await drift
    status = await client.status()
    assert status["pendingRecommendation"] == detected["recommendation"]

    fresh = client.expect("sidecar/sessionChanged", lambda p: p["reason"] == "fresh")
    decided = await client.request("sidecar/drift/decide", {"action": "fresh"})
    assert (await fresh)["session"]["id"] == decided["session"]["id"] != first["id"]
    assert decided["session"]["boundary"]["branch"] == "feature"
    assert (await client.status())["pendingRecommendation"] is None
    payload = _decisions(await client.events(decided["session"]["id"]))[-1]
    assert (payload["action"], payload["chosen"]) == ("fresh", "command")
    assert client.prompter.prompts == []


async def test_prompts_off_applies_the_recommendation_silently(start: Start, repo: Path) -> None:
    client = await start([repo], options={"prompts": "off"}, editor="neovim@v0.11")
    first = await client.active()
    drift = client.expect("sidecar/driftDetected")
    fresh = client.expect("sidecar/sessionChanged", lambda p: p["reason"] == "fresh")
    switch(repo, "feature", create=True)
    await drift
    changed = await fresh
    assert changed["session"]["id"] != first["id"]
    payload = _decisions(await client.events(changed["session"]["id"]))[-1]
    assert payload["chosen"] == "automatic"
    assert client.prompter.prompts == []
    assert (await client.status())["pendingRecommendation"] is None


async def test_a_worktree_over_the_folder_budget_uses_the_editors_file_watching(
    start: Start, repo: Path
) -> None:
    client = await start([repo], options={"watchFolderBudget": 1})
    status = await client.status()
    assert status["watcherMode"] == "editor"
    await client.quiet()
    methods = [r.method for r in client.registrations]
    assert methods == ["workspace/didChangeWatchedFiles"], client.registrations
    session = await client.active()

    history = client.expect("sidecar/historyChanged", lambda p: p["sessionId"] == session["id"])
    (repo / "src" / "app.py").write_text("print('edited')\n", encoding="utf-8")
    client.notify(
        "workspace/didChangeWatchedFiles",
        {"changes": [{"uri": (repo / "src" / "app.py").as_uri(), "type": 2}]},
    )
    await history
    changes = await client.events(session["id"], "file_change")
    assert changes[-1]["payload"] == {"paths": ["src/app.py"], "source": "watcher"}
