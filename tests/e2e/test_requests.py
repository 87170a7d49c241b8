"""Every sidecar request through the real server process, as an editor would send it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from scripts.gen_protocol import methods
from tests.e2e.conftest import Client, Connect
from tests.gitrepo import git, make_repo


async def _active(client: Client) -> dict:
    status = await client.request("sidecar/status", {})
    assert status["activeSession"] is not None
    return status["activeSession"]


async def _append(
    client: Client, n: int, *, session_id: str | None = None, prefix: str = "e"
) -> dict:
    events = [
        {"kind": "prompt", "payload": {"text": f"{prefix} {i}"}, "clientEventId": f"{prefix}-{i}"}
        for i in range(n)
    ]
    params: dict = {"events": events}
    if session_id:
        params["sessionId"] = session_id
    return await client.request("sidecar/events/append", params)


async def test_initialize_creates_no_session_until_the_first_event(
    connect: Connect, repo: Path, db_path: Path
) -> None:
    client = await connect(begin=False)
    status = await client.request("sidecar/status", {})
    assert status["activeSession"] is None and status["pendingRecommendation"] is None
    assert status["boundary"]["branch"] == "main"
    listed = await client.request("sidecar/sessions/list", {"scope": "all"})
    assert listed["items"] == []  # an editor start alone creates none
    assert client.notifications["sidecar/sessionChanged"] == []
    # The first real event begins one, held by this connection, on the folder's boundary.
    appended = await _append(client, 1)
    changed = await client.seen("sidecar/sessionChanged")
    assert changed["reason"] == "started" and changed["session"]["id"] == appended["sessionId"]
    assert changed["session"]["boundary"]["branch"] == "main" and changed["session"]["holder"]
    assert (await _active(client))["eventCount"] == 1


async def test_initialize_starts_a_session_and_advertises_capabilities(
    connect: Connect, repo: Path
) -> None:
    client = await connect()
    changed = await client.seen("sidecar/sessionChanged")
    assert changed["folder"] == repo.as_uri()
    assert changed["reason"] == "started"
    assert changed["session"]["boundary"]["branch"] == "main"
    assert changed["session"]["holder"]
    caps = (
        client.lsp.protocol.server_capabilities
        if hasattr(client.lsp.protocol, "server_capabilities")
        else None
    )
    status = await client.request("sidecar/status", {})
    assert status["activeSession"]["id"] == changed["session"]["id"]
    assert status["boundary"]["worktree"] == str(repo)
    assert status["workspaces"][0]["folder"] == repo.as_uri()
    assert status["dbPath"].endswith("sessions.db")
    del caps


async def test_capabilities_record_open_save_close_without_content(
    server_env: dict, editor: str, repo: Path
) -> None:
    """The initialize result: no content sync, save without text, every command listed."""
    import pytest_lsp
    from pytest_lsp import ClientServerConfig

    from tests.e2e.conftest import SERVER_COMMAND

    lsp = await ClientServerConfig(server_command=SERVER_COMMAND, server_env=server_env).start()
    try:
        result = await asyncio.wait_for(
            lsp.initialize_session(
                types.InitializeParams(
                    capabilities=pytest_lsp.client_capabilities(editor),
                    workspace_folders=[types.WorkspaceFolder(uri=repo.as_uri(), name="repo")],
                )
            ),
            15,
        )
        sync = result.capabilities.text_document_sync
        assert sync.open_close is True
        assert sync.change == types.TextDocumentSyncKind.None_
        assert sync.save.include_text is False
        commands = set(result.capabilities.execute_command_provider.commands)
        assert {decl.command for decl in methods()} <= commands
        await asyncio.wait_for(lsp.shutdown_session(), 15)
    finally:
        await lsp.stop()


async def test_reconnect_attaches_to_the_same_session(connect: Connect) -> None:
    first = await connect()
    session = await _active(first)
    await _append(first, 2)
    await first.lsp.shutdown_session()
    second = await connect()
    changed = await second.seen("sidecar/sessionChanged")
    assert changed["reason"] == "attached"
    assert changed["session"]["id"] == session["id"]
    assert changed["session"]["eventCount"] == 2


async def test_append_is_idempotent_and_events_page(connect: Connect) -> None:
    client = await connect()
    first = await _append(client, 5)
    assert first["seqs"] == [1, 2, 3, 4, 5]
    again = await _append(client, 5)  # same client event ids: a retry
    assert again["seqs"] == [1, 2, 3, 4, 5]
    sid = first["sessionId"]
    page = await client.request("sidecar/sessions/events", {"sessionId": sid, "limit": 2})
    assert [e["seq"] for e in page["items"]] == [1, 2]
    assert page["nextAfterSeq"] == 2
    rest = await client.request(
        "sidecar/sessions/events", {"sessionId": sid, "afterSeq": 2, "limit": 10}
    )
    assert [e["seq"] for e in rest["items"]] == [3, 4, 5]
    assert rest["nextAfterSeq"] is None
    assert rest["items"][0]["payload"] == {"text": "e 2"}
    none = await client.request("sidecar/sessions/events", {"sessionId": sid, "kinds": ["commit"]})
    assert none["items"] == []


async def test_history_changed_is_batched(connect: Connect) -> None:
    client = await connect()
    session = await _active(client)
    last = client.expect("sidecar/historyChanged", lambda p: p["lastSeq"] == 30)
    await asyncio.gather(
        *(
            client.request(
                "sidecar/events/append", {"events": [{"kind": "note", "payload": {"i": i}}]}
            )
            for i in range(30)
        )
    )
    params = await last
    assert params["sessionId"] == session["id"]
    sent = client.notifications["sidecar/historyChanged"]
    assert 1 <= len(sent) < 30, f"{len(sent)} notifications for 30 appends"


async def test_list_and_search_by_scope(connect: Connect, repo: Path) -> None:
    client = await connect()
    main = await _active(client)
    await _append(client, 1, prefix="needle")
    git(repo, "switch", "--quiet", "-c", "feature")
    other = (await client.request("sidecar/sessions/start", {"name": "on feature"}))["session"]
    assert other["boundary"]["branch"] == "feature"
    on_branch = await client.request("sidecar/sessions/list", {})
    assert [s["id"] for s in on_branch["items"]] == [other["id"]]
    everything = await client.request("sidecar/sessions/list", {"scope": "repository"})
    assert {s["id"] for s in everything["items"]} == {main["id"], other["id"]}
    named = await client.request("sidecar/sessions/list", {"scope": "all", "query": "feature"})
    assert [s["id"] for s in named["items"]] == [other["id"]]
    page = await client.request("sidecar/sessions/list", {"scope": "all", "limit": 1})
    assert len(page["items"]) == 1 and page["nextCursor"]
    hits = await client.request("sidecar/sessions/search", {"query": "needle", "scope": "all"})
    assert [h["sessionId"] for h in hits["items"]] == [main["id"]]
    here = await client.request("sidecar/sessions/search", {"query": "needle"})
    assert here["items"] == []  # scope branch: feature has no such event


async def test_show_fork_and_lineage(connect: Connect) -> None:
    client = await connect()
    parent = await _active(client)
    await _append(client, 3)
    changed = client.expect("sidecar/sessionChanged", lambda p: p["reason"] == "forked")
    fork = (
        await client.request(
            "sidecar/sessions/fork", {"sessionId": parent["id"], "atSeq": 2, "name": "try b"}
        )
    )["session"]
    assert (await changed)["session"]["id"] == fork["id"]
    assert fork["parentId"] == parent["id"] and fork["forkedAtSeq"] == 2
    shown = await client.request("sidecar/sessions/show", {"sessionId": fork["id"]})
    assert [s["id"] for s in shown["lineage"]] == [parent["id"]]
    events = await client.request("sidecar/sessions/events", {"sessionId": fork["id"]})
    assert [e["seq"] for e in events["items"]] == [1, 2]
    shown_parent = await client.request("sidecar/sessions/show", {"sessionId": parent["id"]})
    assert [s["id"] for s in shown_parent["children"]] == [fork["id"]]
    assert shown_parent["footprint"] == [] and shown_parent["checkpoints"] == []
    assert (await _active(client))["id"] == fork["id"]


async def test_rename_end_delete_cleanup(connect: Connect) -> None:
    client = await connect()
    session = await _active(client)
    renamed = await client.request(
        "sidecar/sessions/rename", {"sessionId": session["id"], "name": "refactor parser"}
    )
    assert renamed["session"]["name"] == "refactor parser"
    ended = await client.request("sidecar/sessions/end", {"sessionId": session["id"]})
    assert ended["session"]["status"] == "ended"
    status = await client.request("sidecar/status", {})
    assert status["activeSession"] is None
    # The next append starts a new session rather than writing to the ended one.
    appended = await _append(client, 1)
    assert appended["sessionId"] != session["id"]
    dry = await client.request("sidecar/sessions/cleanup", {"olderThanDays": 0, "dryRun": True})
    assert [s["id"] for s in dry["sessions"]] == [session["id"]] and dry["deleted"] == 0
    done = await client.request("sidecar/sessions/cleanup", {"olderThanDays": 0})
    assert done["deleted"] == 1
    with pytest.raises(JsonRpcException) as err:
        await client.request("sidecar/sessions/show", {"sessionId": session["id"]})
    assert err.value.code == -32602
    other = appended["sessionId"]
    deleted = await client.request("sidecar/sessions/delete", {"sessionId": other, "confirm": True})
    assert deleted == {"sessionId": other, "deleted": True}
    listed = await client.request("sidecar/sessions/list", {"scope": "all"})
    assert listed["items"] == []


async def test_export_formats_and_allowed_paths(connect: Connect, repo: Path, home: Path) -> None:
    client = await connect()
    session = await _active(client)
    await _append(client, 2)
    jsonl = await client.request(
        "sidecar/sessions/export", {"sessionId": session["id"], "format": "jsonl"}
    )
    lines = [json.loads(line) for line in jsonl["content"].splitlines()]
    assert len(lines) == 3 and jsonl["path"] is None
    target = repo / "export.md"
    md = await client.request(
        "sidecar/sessions/export",
        {"sessionId": session["id"], "format": "markdown", "path": str(target)},
    )
    assert md["path"] == str(target)
    assert target.read_text(encoding="utf-8") == md["content"]
    with pytest.raises(JsonRpcException) as err:
        await client.request(
            "sidecar/sessions/export",
            {"sessionId": session["id"], "format": "jsonl", "path": str(home / ".bashrc")},
        )
    assert err.value.code == -32602
    assert "outside the allowed folders" in err.value.message
    assert not (home / ".bashrc").exists()
    with pytest.raises(JsonRpcException):
        await client.request(
            "sidecar/sessions/export",
            {"sessionId": session["id"], "format": "jsonl", "path": str(repo / ".." / "x")},
        )


async def test_checkpoint_create_and_restore(connect: Connect, repo: Path) -> None:
    client = await connect()
    session = await _active(client)
    (repo / "src" / "app.py").write_text("print('checkpointed')\n", encoding="utf-8")
    created = await client.request("sidecar/checkpoints/create", {"name": "before refactor"})
    checkpoint = created["checkpoint"]
    assert checkpoint["sessionId"] == session["id"] and checkpoint["snapshotSha"]
    (repo / "src" / "app.py").write_text("print('broken')\n", encoding="utf-8")
    with pytest.raises(JsonRpcException) as err:
        await client.request("sidecar/checkpoints/restore", {"checkpointId": checkpoint["id"]})
    assert "confirm" in err.value.message
    restored = await client.request(
        "sidecar/checkpoints/restore", {"checkpointId": checkpoint["id"], "confirm": True}
    )
    assert restored["restored"] is True
    assert (repo / "src" / "app.py").read_text(encoding="utf-8") == "print('checkpointed')\n"
    shown = await client.request("sidecar/sessions/show", {"sessionId": session["id"]})
    assert [c["id"] for c in shown["checkpoints"]] == [checkpoint["id"]]
    kinds = await client.request(
        "sidecar/sessions/events", {"sessionId": session["id"], "kinds": ["checkpoint"]}
    )
    assert [e["payload"].get("action") for e in kinds["items"]][-1] == "restore"


async def test_annotations_cache_and_approvals(connect: Connect) -> None:
    client = await connect()
    session = await _active(client)
    sid = session["id"]
    note = await client.request(
        "sidecar/annotations/add",
        {"sessionId": sid, "code": "failed_assumptions", "text": "API v1 is gone"},
    )
    assert note["annotation"]["code"] == "failed_assumptions"
    shown = await client.request("sidecar/sessions/show", {"sessionId": sid})
    assert [a["id"] for a in shown["annotations"]] == [note["annotation"]["id"]]
    put = await client.request(
        "sidecar/cache/put", {"sessionId": sid, "key": "summary", "value": {"text": "so far"}}
    )
    assert put == {"sessionId": sid, "key": "summary"}
    got = await client.request("sidecar/cache/get", {"sessionId": sid, "key": "summary"})
    assert got["value"] == {"text": "so far"}
    missing = await client.request("sidecar/cache/get", {"sessionId": sid, "key": "nope"})
    assert missing["value"] is None
    asked = await client.request("sidecar/approvals/request", {"title": "push to main"})
    approval = asked["approval"]
    assert approval["state"] == "pending" and approval["sessionId"] == sid
    decided = await client.request(
        "sidecar/approvals/decide",
        {"approvalId": approval["id"], "grant": False, "reason": "not yet"},
    )
    assert decided["approval"]["state"] == "denied"
    assert decided["approval"]["decidedBy"] == "dev@example.com"


async def test_resume_contract(connect: Connect, repo: Path) -> None:
    first = await connect()
    held = await _active(first)
    # A second editor on the same repository: the first one's session is held, so it starts its own.
    second = await connect()
    mine = await _active(second)
    assert mine["id"] != held["id"]
    refused = await second.request("sidecar/sessions/resume", {"sessionId": held["id"]})
    assert refused["resumed"] is False and refused["warning"]["code"] == "held"
    assert "takeOver" in refused["warning"]["message"]
    assert refused["session"]["id"] == mine["id"]  # active session unchanged
    taken = await second.request(
        "sidecar/sessions/resume", {"sessionId": held["id"], "takeOver": True}
    )
    assert taken["resumed"] is True and taken["session"]["id"] == held["id"]
    appended = await _append(second, 1)
    assert appended["sessionId"] == held["id"]
    # The first editor lost the hold: its appends to that session are refused.
    with pytest.raises(JsonRpcException) as err:
        await _append(first, 1, session_id=held["id"])
    assert "in use by another connection" in err.value.message
    unknown = await second.request("sidecar/sessions/resume", {"sessionId": "0" * 26})
    assert unknown["resumed"] is False and unknown["warning"]["code"] == "unknown_session"
    assert unknown["session"]["id"] not in (held["id"], mine["id"])
    # Another requester's session is never resumed.
    stranger = await connect(options={"requester": "someone@else.org"})
    theirs = await _active(stranger)
    assert theirs["boundary"]["requester"] == "someone@else.org"
    ineligible = await second.request("sidecar/sessions/resume", {"sessionId": theirs["id"]})
    assert ineligible["resumed"] is False
    assert ineligible["warning"]["code"] == "requester_changed"
    assert ineligible["session"]["id"] != theirs["id"]


async def test_drift_evaluate_and_decide(connect: Connect, repo: Path) -> None:
    client = await connect()
    session = await _active(client)
    await _append(client, 1)
    same = await client.request("sidecar/drift/evaluate", {})
    assert same["recommendation"]["action"] == "continue"
    assert same["folder"] == repo.as_uri()
    git(repo, "switch", "--quiet", "-c", "feature")
    moved = await client.request("sidecar/drift/evaluate", {})
    assert moved["boundary"]["branch"] == "feature"
    assert moved["recommendation"]["action"] == "fresh"
    assert "branch_changed" in {r["code"] for r in moved["recommendation"]["reasons"]}
    fresh_seen = client.expect("sidecar/sessionChanged", lambda p: p["reason"] == "fresh")
    fresh = await client.request("sidecar/drift/decide", {"action": "fresh", "remember": True})
    assert fresh["action"] == "fresh"
    assert fresh["session"]["boundary"]["branch"] == "feature"
    assert (await fresh_seen)["session"]["id"] == fresh["session"]["id"]
    git(repo, "switch", "--quiet", "main")
    back = await client.request("sidecar/drift/evaluate", {})
    assert back["recommendation"]["action"] == "resume"
    assert back["recommendation"]["targetSessionId"] == session["id"]
    resumed = await client.request("sidecar/drift/decide", {"action": "resume"})
    assert resumed["session"]["id"] == session["id"]
    decisions = await client.request(
        "sidecar/sessions/events", {"sessionId": session["id"], "kinds": ["decision"]}
    )
    assert decisions["items"][-1]["payload"]["action"] == "resume"
    forked = await client.request("sidecar/drift/decide", {"action": "fork"})
    assert forked["session"]["parentId"] == session["id"]
    kept = await client.request("sidecar/drift/decide", {"action": "continue"})
    assert kept["session"]["id"] == forked["session"]["id"]


async def test_every_request_is_an_execute_command(connect: Connect) -> None:
    client = await connect()
    session = await _active(client)
    listed = await client.request(
        "workspace/executeCommand",
        {"command": "sidecar.sessions.list", "arguments": [{"scope": "all"}]},
    )
    assert [s["id"] for s in listed["items"]] == [session["id"]]
    status = await client.request("workspace/executeCommand", {"command": "sidecar.status"})
    assert status["activeSession"]["id"] == session["id"]
    appended = await client.request(
        "workspace/executeCommand",
        {"command": "sidecar.events.append", "arguments": [{"events": [{"kind": "note"}]}]},
    )
    assert appended["seqs"] == [1]
    with pytest.raises(JsonRpcException) as err:
        await client.request(
            "workspace/executeCommand",
            {"command": "sidecar.sessions.show", "arguments": [{}, {}]},
        )
    assert err.value.code == -32602 and "one argument" in err.value.message
    with pytest.raises(JsonRpcException) as bad:
        await client.request(
            "workspace/executeCommand",
            {"command": "sidecar.sessions.show", "arguments": [{"sessionId": 5}]},
        )
    assert bad.value.code == -32602 and "sessionId" in bad.value.message


async def test_editor_documents_become_events(connect: Connect, repo: Path, tmp_path: Path) -> None:
    client = await connect()
    session = await _active(client)
    uri = (repo / "src" / "app.py").as_uri()
    history = client.expect("sidecar/historyChanged", lambda p: p["lastSeq"] >= 3)
    client.lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text="SECRET CONTENT"
            )
        )
    )
    client.lsp.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    client.lsp.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    outside = (tmp_path / "elsewhere.txt").as_uri()
    client.lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=outside, language_id="text", version=1, text=""
            )
        )
    )
    await history
    events = await client.request("sidecar/sessions/events", {"sessionId": session["id"]})
    got = [(e["kind"], e["payload"]) for e in events["items"]]
    assert got == [
        ("file_open", {"path": "src/app.py", "uri": uri, "action": "open"}),
        ("file_change", {"path": "src/app.py", "uri": uri, "action": "save"}),
        ("file_open", {"path": "src/app.py", "uri": uri, "action": "close"}),
    ]
    assert "SECRET" not in json.dumps(events)


async def test_configuration_changes_apply_live(connect: Connect) -> None:
    client = await connect(options={"staleHours": 4, "task": "ADR-7"})
    session = await _active(client)
    assert session["boundary"]["task"] == "ADR-7"
    client.notify(
        "workspace/didChangeConfiguration",
        {"settings": {"sessionSidecar": {"requester": "pair@example.com", "staleHours": -3}}},
    )
    for _ in range(100):
        status = await client.request("sidecar/status", {})
        if status["boundary"]["requester"] == "pair@example.com":
            break
        await asyncio.sleep(0.05)
    assert status["boundary"]["requester"] == "pair@example.com"
    assert status["boundary"]["task"] == "ADR-7"
    warnings = [m.message for m in client.lsp.messages]
    assert any("staleHours" in w for w in warnings), warnings
    started = await client.request("sidecar/sessions/start", {"phase": "review"})
    assert started["session"]["boundary"]["requester"] == "pair@example.com"
    assert started["session"]["boundary"]["phase"] == "review"


async def test_multi_root_and_folder_outside_git(connect: Connect, tmp_path: Path) -> None:
    other = make_repo(tmp_path, "other", branch="trunk")
    plain = tmp_path / "notes"
    plain.mkdir()
    repo = tmp_path / "repo"
    client = await connect([repo, other, plain])
    for folder in (repo, other, plain):
        await client.seen("sidecar/sessionChanged", lambda p, f=folder: p["folder"] == f.as_uri())
    status = await client.request("sidecar/status", {"folder": str(other)})
    assert status["folder"] == other.as_uri()
    assert status["boundary"]["branch"] == "trunk"
    assert len(status["workspaces"]) == 3
    outside = await client.request("sidecar/status", {"folder": plain.as_uri()})
    assert outside["boundary"]["branch"] == "-"
    assert outside["boundary"]["repository"] == str(plain.resolve())
    appended = await client.request(
        "sidecar/events/append", {"folder": plain.as_uri(), "events": [{"kind": "note"}]}
    )
    assert appended["sessionId"] == outside["activeSession"]["id"]
    with pytest.raises(JsonRpcException) as err:
        await client.request("sidecar/status", {"folder": str(tmp_path / "nowhere")})
    assert "not a workspace folder" in err.value.message


async def test_workspace_folders_can_be_added_and_removed(connect: Connect, tmp_path: Path) -> None:
    client = await connect()
    other = make_repo(tmp_path, "other")
    client.notify(
        "workspace/didChangeWorkspaceFolders",
        {"event": {"added": [{"uri": other.as_uri(), "name": "other"}], "removed": []}},
    )
    for _ in range(100):  # the notification has no reply: poll the status
        status = await client.request("sidecar/status", {})
        if len(status["workspaces"]) == 2:
            break
        await asyncio.sleep(0.05)
    [added] = [w for w in status["workspaces"] if w["folder"] == other.as_uri()]
    assert added["boundary"]["worktree"] == str(other)
    assert added["activeSession"] is None  # opening a folder begins no session
    client.notify(
        "workspace/didChangeWorkspaceFolders",
        {"event": {"added": [], "removed": [{"uri": other.as_uri(), "name": "other"}]}},
    )
    for _ in range(100):
        status = await client.request("sidecar/status", {})
        if len(status["workspaces"]) == 1:
            break
        await asyncio.sleep(0.05)
    assert [w["folder"] for w in status["workspaces"]] == [str(status["folder"])]


async def test_start_isolated_branch(connect: Connect, repo: Path) -> None:
    client = await connect()
    started = await client.request("sidecar/sessions/start", {"isolate": True, "name": "spike"})
    branch = started["session"]["boundary"]["branch"]
    assert branch.startswith("session/")
    assert git(repo, "branch", "--show-current") == branch
    in_worktree = await client.request(
        "sidecar/sessions/start", {"isolate": True, "worktree": True}
    )
    assert in_worktree["warning"]["code"] == "open_worktree"
    worktree = in_worktree["session"]["boundary"]["worktree"]
    assert worktree != str(repo) and Path(worktree).is_dir()
    assert git(repo, "branch", "--show-current") == branch  # this worktree did not move


async def test_null_settings_are_pulled_from_the_client(connect: Connect) -> None:
    client = await connect()
    client.lsp.set_configuration({"requester": "pulled@example.com"}, section="sessionSidecar")
    client.notify("workspace/didChangeConfiguration", {"settings": None})
    for _ in range(100):
        status = await client.request("sidecar/status", {})
        if status["boundary"]["requester"] == "pulled@example.com":
            break
        await asyncio.sleep(0.05)
    assert status["boundary"]["requester"] == "pulled@example.com"


async def _export(client: Client, session_id: str, path: str) -> dict:
    return await client.request(
        "sidecar/sessions/export", {"sessionId": session_id, "format": "markdown", "path": path}
    )


async def test_export_folders_are_fixed_by_the_first_initialize(
    connect: Connect, repo: Path, home: Path
) -> None:
    """An attacker's client adds $HOME as a workspace folder, then aims at ~/.bashrc."""
    client = await connect()
    session = await _active(client)
    bashrc = home / ".bashrc"
    bashrc.write_text("# mine\n", encoding="utf-8")
    client.notify(
        "workspace/didChangeWorkspaceFolders",
        {"event": {"added": [{"uri": home.as_uri(), "name": "home"}], "removed": []}},
    )
    for path in (str(bashrc), str(home / "new-file.md")):
        with pytest.raises(JsonRpcException) as err:
            await _export(client, session["id"], path)
        assert err.value.code == -32602 and "outside the allowed folders" in err.value.message
    assert bashrc.read_text(encoding="utf-8") == "# mine\n"
    assert not (home / "new-file.md").exists()


async def test_an_export_never_replaces_a_file_it_did_not_write(
    connect: Connect, repo: Path
) -> None:
    client = await connect()
    session = await _active(client)
    readme = repo / "README.md"
    before = readme.read_text(encoding="utf-8")
    with pytest.raises(JsonRpcException) as err:
        await _export(client, session["id"], str(readme))
    assert err.value.code == -32602 and "not an export the sidecar wrote" in err.value.message
    assert readme.read_text(encoding="utf-8") == before

    # Its own export it may replace, as long as nobody changed it since.
    target = repo / "session.md"
    await _export(client, session["id"], str(target))
    await _append(client, 1, prefix="later")
    again = await _export(client, session["id"], str(target))
    assert target.read_text(encoding="utf-8") == again["content"] and "later 0" in again["content"]
    target.write_text("edited by hand\n", encoding="utf-8")
    with pytest.raises(JsonRpcException):
        await _export(client, session["id"], str(target))
    assert target.read_text(encoding="utf-8") == "edited by hand\n"

    # A symbolic link in the workspace is not followed, even to a file inside it.
    link = repo / "link.md"
    link.symlink_to(readme)
    with pytest.raises(JsonRpcException):
        await _export(client, session["id"], str(link))
    assert readme.read_text(encoding="utf-8") == before


async def test_exports_may_go_to_the_exports_folder_beside_the_database(
    connect: Connect, db_path: Path
) -> None:
    client = await connect()
    session = await _active(client)
    target = db_path.parent / "exports" / "mine.md"
    result = await _export(client, session["id"], str(target))
    assert result["path"] == str(target.resolve())
    assert target.read_text(encoding="utf-8") == result["content"]
    assert target.parent.stat().st_mode & 0o777 == 0o700
    # The shared temp folder is no longer a place exports go.
    import tempfile

    with pytest.raises(JsonRpcException):
        await _export(client, session["id"], str(Path(tempfile.gettempdir()) / "x-sidecar.md"))


async def test_redaction_patterns_from_the_editors_settings(connect: Connect) -> None:
    client = await connect(options={"redactPatterns": [r"ACME-\d{8}"], "redactAllow": ["ACME-0"]})
    session = await _active(client)
    await client.request(
        "sidecar/events/append",
        {"events": [{"kind": "prompt", "payload": {"text": "ticket ACME-48151623 (ACME-0)"}}]},
    )
    events = await client.request("sidecar/sessions/events", {"sessionId": session["id"]})
    assert events["items"][-1]["payload"]["text"] == "ticket [REDACTED:custom] (ACME-0)"


async def test_render_returns_display_blocks_and_keeps_a_tool_call_with_its_result(
    connect: Connect, repo: Path
) -> None:
    client = await connect()
    session = await _active(client)
    events = [
        {"kind": "prompt", "actor": "user", "payload": {"text": "run the tests"}},
        {"kind": "tool_call", "payload": {"name": "Bash", "input": {"command": "pytest -q"},
                                          "toolUseId": "t1"}},
        {"kind": "note", "actor": "system", "payload": {"text": "meanwhile"}},
        {"kind": "tool_result", "payload": {"toolUseId": "t1", "content": "2 passed"}},
        {"kind": "response", "payload": {"text": "All green."}},
    ]  # fmt: skip
    await client.request("sidecar/events/append", {"sessionId": session["id"], "events": events})
    first = await client.request(
        "sidecar/sessions/render", {"sessionId": session["id"], "limit": 2}
    )
    # The page of two events grew to the call's result; the note between them came along.
    assert [b["title"] for b in first["items"]] == ["Prompt", "Bash pytest -q", "meanwhile"]
    assert first["items"][1]["status"] == "ok" and first["items"][1]["output"] == "2 passed"
    assert first["nextAfterSeq"] == 4
    rest = await client.request(
        "sidecar/sessions/render", {"sessionId": session["id"], "afterSeq": 4, "limit": 2}
    )
    assert [b["title"] for b in rest["items"]] == ["Answer"] and rest["nextAfterSeq"] is None
    assert rest["items"][0]["markdown"] is None
    shown = await client.request(
        "sidecar/sessions/render", {"sessionId": session["id"], "markdown": True}
    )
    assert shown["items"][1]["markdown"].startswith("**Bash pytest -q** — ✓")
    with pytest.raises(JsonRpcException) as bad:
        await client.request("sidecar/sessions/render", {"sessionId": session["id"], "limit": 0})
    assert "limit" in str(bad.value)


async def test_pin_and_unpin_a_session(connect: Connect, repo: Path) -> None:
    client = await connect()
    session = await _active(client)
    pinned = await client.request("sidecar/sessions/pin", {"sessionId": session["id"]})
    assert pinned["session"]["pinned"] is True
    shown = await client.request("sidecar/sessions/show", {"sessionId": session["id"]})
    assert shown["session"]["pinned"] is True
    unpinned = await client.request(
        "sidecar/sessions/pin", {"sessionId": session["id"], "pinned": False}
    )
    assert unpinned["session"]["pinned"] is False
    with pytest.raises(JsonRpcException) as unknown:
        await client.request("sidecar/sessions/pin", {"sessionId": "no-such-session"})
    assert "no-such-session" in str(unknown.value)
