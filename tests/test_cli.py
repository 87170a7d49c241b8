"""The command line, run as users and hooks run it: a real process, real git, real SQLite.

Most tests start `python -m sidecar ...` in a subprocess inside a git repository
built in tmp_path, with a private HOME (no machine git config) and an explicit
`--db`; a few fast ones drive the typer app in-process with `-C`.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sidecar.cli.main import app
from sidecar.cli.output import relative_time
from sidecar.core.boundary import NO_BRANCH, scope_filters
from sidecar.core.models import Boundary, Scope
from sidecar.protocol.messages import (
    AppendResult,
    CleanupResult,
    DeleteResult,
    ExportResult,
    ListResult,
    ResumeResult,
    SearchResult,
    SessionResult,
    ShowResult,
    StartResult,
)
from sidecar.services.boundary import Profile, boundary_for
from tests.cliutil import assert_one_line_error, cli, cli_env, inproc
from tests.gitrepo import (
    DEFAULT_EMAIL,
    add_worktree,
    commit,
    git,
    isolate_git_config,
    make_repo,
    switch,
)
from tests.storeutil import CORRUPT_SQLITE


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Git (here and in the CLI processes) sees only the config the test writes."""
    return isolate_git_config(monkeypatch, tmp_path / "home")


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    """The environment of every CLI process: private HOME, no system git config, no SIDECAR_DB."""
    return cli_env(home)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path, origin="git@github.com:Acme/App.git")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "db" / "sessions.db"


def ok_json(*args: str | Path, cwd: Path, env: dict[str, str], db: Path, **kw: Any) -> Any:
    """Run a command with --json; it must succeed; returns the parsed output."""
    run = cli(*args, "--json", cwd=cwd, env=env, db=db, **kw)
    assert run.code == 0, run.stderr
    return run.json()


def start(
    cwd: Path, env: dict[str, str], db: Path, *extra: str, name: str = "work"
) -> dict[str, Any]:
    result = ok_json("sessions", "start", "--name", name, *extra, cwd=cwd, env=env, db=db)
    StartResult.model_validate(result)
    session: dict[str, Any] = result["session"]
    return session


def append_text(
    cwd: Path, env: dict[str, str], db: Path, session_id: str, text: str, kind: str = "prompt"
) -> list[int]:
    result = ok_json(
        "events", "append", "-s", session_id, "--kind", kind, "--text", text,
        cwd=cwd, env=env, db=db,
    )  # fmt: skip
    seqs: list[int] = AppendResult.model_validate(result).seqs
    return seqs


def ids(listing: dict[str, Any]) -> list[str]:
    return [item["id"] for item in listing["items"]]


# --------------------------------------------------------------------------- basics


def test_version_prints_the_package_version(repo: Path, env: dict[str, str]) -> None:
    from sidecar import __version__

    run = cli("--version", cwd=repo, env=env)
    assert run.code == 0
    assert run.stdout.strip() == f"session-sidecar {__version__}"


def test_start_binds_the_session_to_the_folders_boundary(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    session = start(repo, env, db, "--task", "ADR-7", "--phase", "planning", name="login fix")
    assert session["name"] == "login fix"
    assert session["status"] == "active"
    assert session["boundary"] == {
        "repository": "github.com/acme/app",
        "worktree": str(repo),
        "branch": "main",
        "requester": DEFAULT_EMAIL,
        "machine": socket.gethostname(),
        "task": "ADR-7",
        "phase": "planning",
        "provider": "cli",
    }
    assert session["headSha"] == git(repo, "rev-parse", "HEAD")
    assert db.exists()


def test_sidecar_db_variable_is_the_default_database(
    repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    env["SIDECAR_DB"] = str(tmp_path / "from-env" / "s.db")
    run = cli("sessions", "start", "--json", cwd=repo, env=env)
    assert run.code == 0, run.stderr
    listing = ok_json("sessions", "list", cwd=repo, env=env, db=tmp_path / "from-env" / "s.db")
    assert ids(listing) == [run.json()["session"]["id"]]


def test_start_outside_git_binds_the_session_to_the_folder(
    tmp_path: Path, env: dict[str, str], db: Path
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    run = cli("sessions", "start", "--json", "--name", "notes", cwd=plain, env=env, db=db)
    assert run.code == 0, run.stderr
    assert run.stderr == ""
    session = StartResult.model_validate(run.json()).session
    assert session.name == "notes"
    assert session.boundary.branch == NO_BRANCH == "-"
    assert session.boundary.repository == session.boundary.worktree == str(plain.resolve())
    assert session.boundary.provider == "cli"
    assert session.head_sha is None


# --------------------------------------------------------------------------- list


def test_list_defaults_to_the_current_branch(repo: Path, env: dict[str, str], db: Path) -> None:
    on_main = start(repo, env, db, name="on main")
    switch(repo, "feature", create=True)
    on_feature = start(repo, env, db, name="on feature")

    listing = ok_json("sessions", "list", cwd=repo, env=env, db=db)
    ListResult.model_validate(listing)
    assert ids(listing) == [on_feature["id"]]

    switch(repo, "main")
    assert ids(ok_json("sessions", "list", cwd=repo, env=env, db=db)) == [on_main["id"]]
    everything = ok_json("sessions", "list", "--scope", "repository", cwd=repo, env=env, db=db)
    assert ids(everything) == [on_feature["id"], on_main["id"]]  # newest first


def test_list_scopes_worktree_repository_and_all(
    repo: Path, tmp_path: Path, env: dict[str, str], db: Path
) -> None:
    linked = add_worktree(repo, tmp_path / "linked", "side")
    other = make_repo(tmp_path, "other")
    in_main = start(repo, env, db, name="main worktree")
    in_linked = start(linked, env, db, name="linked worktree")
    in_other = start(other, env, db, name="other repo")

    def scoped(scope: str, cwd: Path) -> set[str]:
        return set(ids(ok_json("sessions", "list", "--scope", scope, cwd=cwd, env=env, db=db)))

    assert scoped("worktree", linked) == {in_linked["id"]}
    assert scoped("repository", linked) == {in_main["id"], in_linked["id"]}
    assert scoped("all", linked) == {in_main["id"], in_linked["id"], in_other["id"]}
    assert scoped("branch", repo) == {in_main["id"]}


def test_list_outside_git_shows_the_folders_sessions(
    repo: Path, tmp_path: Path, env: dict[str, str], db: Path
) -> None:
    in_repo = start(repo, env, db)
    plain = tmp_path / "plain"
    plain.mkdir()
    empty = cli("sessions", "list", "--json", cwd=plain, env=env, db=db)
    assert empty.code == 0 and empty.stderr == ""
    assert ids(empty.json()) == []
    here = start(plain, env, db, name="outside git")
    run = cli("sessions", "list", "--json", cwd=plain, env=env, db=db)
    assert run.code == 0 and run.stderr == ""
    assert ids(run.json()) == [here["id"]]
    everything = ok_json("sessions", "list", "--scope", "all", cwd=plain, env=env, db=db)
    assert ids(everything) == [here["id"], in_repo["id"]]
    text = cli("sessions", "list", cwd=plain, env=env, db=db)
    assert text.code == 0
    row = text.stdout.splitlines()[1]
    assert row.split()[:2] == [here["id"], "-"]


def test_list_filters_by_status_and_query_and_pages_with_a_cursor(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    first = start(repo, env, db, name="alpha")
    second = start(repo, env, db, name="beta")
    third = start(repo, env, db, name="gamma")
    cli("sessions", "end", second["id"], cwd=repo, env=env, db=db)

    ended = ok_json("sessions", "list", "--status", "ended", cwd=repo, env=env, db=db)
    assert ids(ended) == [second["id"]]
    live = ok_json(
        "sessions", "list", "--status", "active", "--status", "idle", cwd=repo, env=env, db=db
    )
    assert set(ids(live)) == {first["id"], third["id"]}
    assert ids(ok_json("sessions", "list", "-q", "gam", cwd=repo, env=env, db=db)) == [third["id"]]

    page1 = ok_json("sessions", "list", "--limit", "2", cwd=repo, env=env, db=db)
    assert len(page1["items"]) == 2 and page1["nextCursor"]
    page2 = ok_json(
        "sessions", "list", "--limit", "2", "--cursor", page1["nextCursor"],
        cwd=repo, env=env, db=db,
    )  # fmt: skip
    assert page2["nextCursor"] is None
    assert set(ids(page1)) | set(ids(page2)) == {first["id"], second["id"], third["id"]}


def test_list_prints_a_table_for_people(repo: Path, env: dict[str, str], db: Path) -> None:
    session = start(repo, env, db, name="readable")
    append_text(repo, env, db, session["id"], "make the login page load faster")
    run = cli("sessions", "list", cwd=repo, env=env, db=db)
    assert run.code == 0, run.stderr
    header, row = run.stdout.splitlines()[:2]
    for column in ("ID", "BRANCH", "NAME", "EVENTS", "LAST ACTIVITY", "LAST PROMPT"):
        assert column in header
    assert session["id"] in row
    assert "readable" in row and "main" in row and "just now" in row
    assert "make the login page load faster" in row
    assert row.split()[4] == "1"  # events


def test_list_with_no_sessions_says_so(repo: Path, env: dict[str, str], db: Path) -> None:
    run = cli("sessions", "list", cwd=repo, env=env, db=db)
    assert run.code == 0
    assert run.stdout.strip() == "no sessions in scope 'branch'"


# --------------------------------------------------------------------------- events


def test_append_text_payload_actor_and_client_event_id(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    session = start(repo, env, db)
    sid = session["id"]
    assert append_text(repo, env, db, sid, "first prompt") == [1]
    args = ("events", "append", "-s", sid, "-k", "tool_call", "-p", '{"name": "grep"}')
    retried = ("--client-event-id", "call-1", "--text", "looking")
    assert ok_json(*args, *retried, cwd=repo, env=env, db=db)["seqs"] == [2]
    assert ok_json(*args, *retried, cwd=repo, env=env, db=db)["seqs"] == [2]  # a retry

    shown = ok_json("sessions", "show", sid, cwd=repo, env=env, db=db)
    events = shown["events"]
    assert [e["seq"] for e in events] == [1, 2]
    assert events[0]["kind"] == "prompt" and events[0]["actor"] == "user"
    assert events[0]["payload"] == {"text": "first prompt"}
    assert events[1]["actor"] == "agent"
    assert events[1]["payload"] == {"name": "grep", "text": "looking"}
    assert events[1]["clientEventId"] == "call-1"
    assert shown["session"]["lastPrompt"] == "first prompt"


def test_append_reads_a_json_array_from_stdin(repo: Path, env: dict[str, str], db: Path) -> None:
    sid = start(repo, env, db)["id"]
    batch = [
        {"kind": "prompt", "actor": "user", "payload": {"text": "add tests"}},
        {"kind": "file_change", "payload": {"path": "src/app.py"}, "clientEventId": "fc-1"},
        {"kind": "note", "payload": {"text": "done"}, "time": "2025-01-02T03:04:05Z"},
    ]
    result = ok_json(
        "events", "append", "--stdin", "-s", sid, cwd=repo, env=env, db=db, stdin=json.dumps(batch)
    )
    assert result == {"sessionId": sid, "seqs": [1, 2, 3]}
    events = ok_json("sessions", "show", sid, cwd=repo, env=env, db=db)["events"]
    assert events[2]["time"].startswith("2025-01-02T03:04:05")
    assert events[1]["clientEventId"] == "fc-1"


def test_append_without_session_uses_the_branchs_active_session(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    no_session = cli("events", "append", "-k", "note", "-t", "x", cwd=repo, env=env, db=db)
    assert_one_line_error(no_session, "no active session on main", "--session")

    older = start(repo, env, db, name="older")
    newer = start(repo, env, db, name="newer")
    result = ok_json("events", "append", "-k", "note", "-t", "hi", cwd=repo, env=env, db=db)
    assert result["sessionId"] == newer["id"] != older["id"]


@pytest.mark.parametrize(
    ("extra", "stdin", "fragment"),
    [
        (("-k", "note", "-p", "{not json"), None, "--payload is not valid JSON"),
        (("-k", "note", "-p", "[1, 2]"), None, "--payload must be a JSON object"),
        (("--stdin",), "{oops", "stdin is not valid JSON"),
        (("--stdin",), "[]", "no events"),
        (("--stdin",), '[{"kind": "prompt"}, {"kind": "nope"}]', "[1].kind"),
        (("--stdin",), '[{"kind": "note", "colour": 1}]', "[0].colour"),
        (("--stdin", "-k", "note"), "[]", "do not combine"),
        (("-t", "no kind"), None, "--kind"),
    ],
)
def test_append_rejects_bad_input_with_one_line(
    repo: Path,
    env: dict[str, str],
    db: Path,
    extra: tuple[str, ...],
    stdin: str | None,
    fragment: str,
) -> None:
    sid = start(repo, env, db)["id"]
    run = inproc("events", "append", "-s", sid, *extra, db=db, stdin=stdin)
    assert_one_line_error(run, fragment)
    assert ok_json("sessions", "show", sid, cwd=repo, env=env, db=db)["events"] == []


# --------------------------------------------------------------------------- show


def test_show_prints_boundary_counts_footprint_lineage_and_the_last_20_events(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    parent = start(repo, env, db, name="parent")
    batch = [{"kind": "file_change", "payload": {"path": "src/app.py"}}] + [
        {"kind": "note", "payload": {"text": f"step {i}"}} for i in range(2, 26)
    ]
    ok_json(
        "events", "append", "--stdin", "-s", parent["id"],
        cwd=repo, env=env, db=db, stdin=json.dumps(batch),
    )  # fmt: skip
    fork = ok_json("sessions", "fork", parent["id"], "--name", "child", cwd=repo, env=env, db=db)
    child_id = fork["session"]["id"]

    shown = ok_json("sessions", "show", child_id, cwd=repo, env=env, db=db)
    ShowResult.model_validate(shown)
    assert [e["seq"] for e in shown["events"]] == list(range(6, 26))
    assert [s["id"] for s in shown["lineage"]] == [parent["id"]]
    assert shown["footprint"][0]["path"] == "src/app.py"

    text = cli("sessions", "show", child_id, cwd=repo, env=env, db=db)
    assert text.code == 0, text.stderr
    out = text.stdout
    assert f"id:            {child_id}" in out
    assert "branch:        main" in out
    assert "events:        25" in out
    assert f"forked from:   {parent['id']}" in out and "at seq 25" in out
    assert "src/app.py" in out
    assert "events (last 20 of 25):" in out
    assert "step 25" in out and "step 5\n" not in out


# --------------------------------------------------------------------------- resume


def test_resume_an_eligible_session_marks_it_active(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    session = start(repo, env, db)
    cli("sessions", "end", session["id"], cwd=repo, env=env, db=db)
    run = cli("sessions", "resume", session["id"], "--json", cwd=repo, env=env, db=db)
    assert run.code == 0 and run.stderr == ""
    result = ResumeResult.model_validate(run.json())
    assert result.resumed is True and result.warning is None
    assert result.session.id == session["id"]
    assert result.session.status.value == "active"


def test_resuming_another_branchs_session_says_so_and_names_its_branch(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    session = start(repo, env, db)
    cli("sessions", "end", session["id"], cwd=repo, env=env, db=db)
    switch(repo, "other", create=True)  # another branch: an explicit resume may cross it
    run = cli("sessions", "resume", session["id"], "--json", cwd=repo, env=env, db=db)
    assert run.code == 0
    result = ResumeResult.model_validate(run.json())
    assert result.resumed is True and result.session.id == session["id"]
    assert result.warning is not None and result.warning.code == "other_branch"
    assert result.warning.branch == "main"
    assert "branch 'main'" in result.warning.message and "'other'" in result.warning.message
    assert run.stderr.startswith("warning: ")


def test_resume_an_unknown_id_warns_and_starts_a_new_session(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    run = cli("sessions", "resume", "no-such-id", "--json", cwd=repo, env=env, db=db)
    assert run.code == 0
    assert run.stderr.startswith("warning: ") and "no-such-id" in run.stderr
    result = run.json()
    assert result["resumed"] is False
    assert result["warning"]["code"] == "unknown_session"
    assert result["session"]["boundary"]["branch"] == "main"
    assert ids(ok_json("sessions", "list", cwd=repo, env=env, db=db)) == [result["session"]["id"]]


def test_resume_another_requesters_session_is_refused_with_a_warning(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    theirs = start(repo, env, db, name="theirs")
    git(repo, "config", "user.email", "someone-else@example.com")
    run = cli("sessions", "resume", theirs["id"], "--json", cwd=repo, env=env, db=db)
    assert run.code == 0
    result = run.json()
    assert result["resumed"] is False
    assert result["warning"]["code"] == "requester_changed"
    assert result["session"]["id"] != theirs["id"]
    assert result["session"]["boundary"]["requester"] == "someone-else@example.com"
    assert "cannot be resumed here" in run.stderr

    human = cli("sessions", "resume", theirs["id"], cwd=repo, env=env, db=db)
    assert human.code == 0
    assert human.stdout.startswith("started session ")
    assert human.stderr.startswith("warning: ")


# --------------------------------------------------------------------------- lifecycle


def test_fork_rename_end(repo: Path, env: dict[str, str], db: Path) -> None:
    sid = start(repo, env, db, name="base")["id"]
    append_text(repo, env, db, sid, "one")
    append_text(repo, env, db, sid, "two")
    switch(repo, "experiment", create=True)
    fork = ok_json("sessions", "fork", sid, "--at-seq", "1", cwd=repo, env=env, db=db)
    SessionResult.model_validate(fork)
    assert fork["session"]["parentId"] == sid
    assert fork["session"]["forkedAtSeq"] == 1
    assert fork["session"]["name"] == "base (fork)"
    assert fork["session"]["boundary"]["branch"] == "experiment"  # the folder's boundary

    renamed = ok_json("sessions", "rename", sid, "better name", cwd=repo, env=env, db=db)
    assert renamed["session"]["name"] == "better name"
    ended = ok_json("sessions", "end", sid, cwd=repo, env=env, db=db)
    assert ended["session"]["status"] == "ended"

    too_far = cli("sessions", "fork", sid, "--at-seq", "9", cwd=repo, env=env, db=db)
    assert_one_line_error(too_far, "seq 9")


def test_delete_needs_yes_when_stdin_is_not_a_terminal(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    sid = start(repo, env, db)["id"]
    refused = cli("sessions", "delete", sid, cwd=repo, env=env, db=db)
    assert_one_line_error(refused, "--yes")
    assert ids(ok_json("sessions", "list", cwd=repo, env=env, db=db)) == [sid]

    deleted = ok_json("sessions", "delete", sid, "--yes", cwd=repo, env=env, db=db)
    assert DeleteResult.model_validate(deleted).session_id == sid
    assert ids(ok_json("sessions", "list", cwd=repo, env=env, db=db)) == []


def test_cleanup_dry_run_lists_then_deletes_only_old_ended_sessions(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    ended = start(repo, env, db, name="finished")["id"]
    live = start(repo, env, db, name="ongoing")["id"]
    cli("sessions", "end", ended, cwd=repo, env=env, db=db)

    recent = ok_json("sessions", "cleanup", "--older-than", "1", cwd=repo, env=env, db=db)
    assert recent == {"sessions": [], "deleted": 0}
    dry = ok_json("sessions", "cleanup", "--older-than", "0", "--dry-run", cwd=repo, env=env, db=db)
    CleanupResult.model_validate(dry)
    assert [s["id"] for s in dry["sessions"]] == [ended] and dry["deleted"] == 0
    assert set(ids(ok_json("sessions", "list", cwd=repo, env=env, db=db))) == {ended, live}

    text = cli("sessions", "cleanup", "--older-than", "0", cwd=repo, env=env, db=db)
    assert text.code == 0
    assert text.stdout.startswith("deleted 1 session\n")
    assert ids(ok_json("sessions", "list", cwd=repo, env=env, db=db)) == [live]


def test_export_jsonl_to_stdout_and_markdown_to_a_file(
    repo: Path, env: dict[str, str], db: Path, tmp_path: Path
) -> None:
    sid = start(repo, env, db, name="exported")["id"]
    append_text(repo, env, db, sid, "explain the cache")

    jsonl = cli("sessions", "export", sid, cwd=repo, env=env, db=db)
    assert jsonl.code == 0
    lines = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert lines[0]["type"] == "session" and lines[0]["id"] == sid
    assert "providerRef" not in lines[0]
    assert lines[1]["type"] == "event" and lines[1]["payload"]["text"] == "explain the cache"

    target = tmp_path / "out" / "session.md"
    target.parent.mkdir()
    result = ok_json(
        "sessions", "export", sid, "--format", "markdown", "-o", target, cwd=repo, env=env, db=db
    )
    ExportResult.model_validate(result)
    assert result["path"] == str(target) and result["format"] == "markdown"
    assert target.read_text(encoding="utf-8").startswith("# exported\n")
    assert "explain the cache" in target.read_text(encoding="utf-8")


def test_search_is_scoped_to_the_branch_by_default(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    on_main = start(repo, env, db)["id"]
    append_text(repo, env, db, on_main, "the flamingo parser on main")
    switch(repo, "feature", create=True)
    on_feature = start(repo, env, db)["id"]
    append_text(repo, env, db, on_feature, "the flamingo parser on feature")

    here = ok_json("sessions", "search", "flamingo", cwd=repo, env=env, db=db)
    SearchResult.model_validate(here)
    assert [h["sessionId"] for h in here["items"]] == [on_feature]
    everywhere = ok_json(
        "sessions", "search", "flamingo", "--scope", "repository", cwd=repo, env=env, db=db
    )
    assert {h["sessionId"] for h in everywhere["items"]} == {on_main, on_feature}
    text = cli("sessions", "search", "flam*", "--scope", "all", cwd=repo, env=env, db=db)
    assert text.code == 0 and text.stdout.count("flamingo") == 2


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "command",
    [
        ("sessions", "show", "nope"),
        ("sessions", "rename", "nope", "x"),
        ("sessions", "end", "nope"),
        ("sessions", "delete", "nope", "--yes"),
        ("sessions", "export", "nope"),
        ("sessions", "fork", "nope"),
        ("events", "append", "-s", "nope", "-k", "note"),
    ],
)
def test_unknown_ids_are_one_line_errors(db: Path, command: tuple[str, ...]) -> None:
    assert_one_line_error(inproc(*command, db=db), "unknown session 'nope'")


def test_an_unknown_id_in_a_real_process_is_one_line_without_traceback(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    run = cli("sessions", "show", "01nosuchsession", cwd=repo, env=env, db=db)
    assert_one_line_error(run, "unknown session '01nosuchsession'", "list sessions")


def test_an_unusable_db_path_is_a_one_line_error(
    repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder", encoding="utf-8")
    run = cli("sessions", "list", cwd=repo, env=env, db=a_file / "sessions.db")
    assert_one_line_error(run, str(a_file))


def test_a_corrupt_db_is_moved_aside_with_a_one_line_error(
    repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(CORRUPT_SQLITE)
    run = cli("sessions", "list", cwd=repo, env=env, db=bad)
    assert_one_line_error(run, "corrupt", "moved aside")


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(
    repo: Path, env: dict[str, str], tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my own notes\n" * 10, encoding="utf-8")
    run = cli("sessions", "list", cwd=repo, env=env, db=notes)
    assert_one_line_error(run, "not a SQLite database")
    assert notes.read_text(encoding="utf-8") == "my own notes\n" * 10
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("notes")) == ["notes.txt"]


def test_usage_errors_exit_2(repo: Path, env: dict[str, str], db: Path) -> None:
    run = cli("sessions", "list", "--scope", "galaxy", cwd=repo, env=env, db=db)
    assert run.code == 2
    assert "Traceback" not in run.stderr and "--scope" in run.stderr


def test_every_command_accepts_db_and_json(repo: Path, env: dict[str, str]) -> None:
    runner = CliRunner()
    commands = [
        ("sessions", name)
        for name in (
            "list", "show", "start", "resume", "fork", "rename", "end", "delete",
            "cleanup", "export", "search",
        )
    ] + [("events", "append")]  # fmt: skip
    for command in commands:
        result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (command, result.output)
        assert "--db" in result.output and "--json" in result.output, command


# --------------------------------------------------------------------------- in-process


def test_in_process_runner_resolves_the_folder_given_with_C(
    repo: Path, tmp_path: Path, db: Path
) -> None:
    runner = CliRunner()
    started = runner.invoke(
        app, ["sessions", "start", "-C", str(repo), "--db", str(db), "--json", "--name", "cr"]
    )
    assert started.exit_code == 0, started.output
    listed = runner.invoke(app, ["sessions", "list", "-C", str(repo), "--db", str(db), "--json"])
    assert listed.exit_code == 0
    assert [s["name"] for s in json.loads(listed.stdout)["items"]] == ["cr"]


def test_relative_time_reads_like_people_talk() -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert relative_time(None, now) == "never"
    assert relative_time(now - timedelta(seconds=20), now) == "just now"
    assert relative_time(now - timedelta(minutes=3, seconds=59), now) == "3 min ago"
    assert relative_time(now - timedelta(hours=5), now) == "5 h ago"
    assert relative_time(now - timedelta(days=1, hours=2), now) == "1 day ago"
    assert relative_time(now - timedelta(days=12), now) == "12 days ago"
    assert relative_time(now - timedelta(days=90), now) == (
        (now - timedelta(days=90)).astimezone().strftime("%Y-%m-%d")
    )


def test_boundary_for_a_detached_head_and_outside_git(repo: Path, tmp_path: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    commit(repo, "second", {"b.txt": "b\n"})
    git(repo, "checkout", "--quiet", first)
    place = boundary_for(repo, Profile(provider="claude-code", task="T-1"))
    assert place.in_git and place.head_sha == first
    boundary = place.boundary
    assert boundary.branch == f"detached@{first[:7]}"
    assert boundary.provider == "claude-code" and boundary.task == "T-1"
    assert boundary.machine == socket.gethostname()
    assert boundary_for(repo, Profile(requester="bot@example.com")).boundary.requester == (
        "bot@example.com"
    )
    plain = tmp_path / "plain"
    plain.mkdir()
    outside = boundary_for(plain)
    assert not outside.in_git and outside.head is None
    assert outside.reason is not None and "not inside a git repository" in outside.reason
    assert outside.boundary.branch == NO_BRANCH
    assert outside.boundary.repository == outside.boundary.worktree == str(plain.resolve())


def test_scope_filters_for_each_scope() -> None:
    b = Boundary(repository="r", worktree="/w", branch="main", requester="me", machine="m")
    assert scope_filters(Scope.BRANCH, b) == {"repository": "r", "branch": "main"}
    assert scope_filters(Scope.WORKTREE, b) == {"repository": "r", "worktree": "/w"}
    assert scope_filters(Scope.REPOSITORY, b) == {"repository": "r"}
    assert scope_filters(Scope.ALL, b) == {}


def test_serve_refuses_the_removed_network_transports_with_one_line(
    repo: Path, env: dict[str, str]
) -> None:
    run = cli("serve", "--tcp", "--port", "2087", cwd=repo, env=env)
    assert_one_line_error(run, "stdio only")
    typer_path = inproc("serve", "--ws", db=None)
    assert typer_path.code != 0 and "stdio only" in typer_path.stderr
