"""The CLI on the core's rules: what every door shares, seen from the command line.

- `events append` goes through the one append path as a one-shot writer: a
  session a live connection (an editor, `watch`) holds refuses it with the
  store's message, a payload over the limit is refused naming the field, and
  nothing of a refused batch is stored; a drift finding is a note on stderr.
- Outside git the folder itself is the boundary (branch `-`): sessions start,
  list and take appends there, as in every other door.

The commands run in this process (typer's CliRunner, `-C` picks the folder).
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from sidecar.core.boundary import NO_BRANCH
from sidecar.core.models import EventKind, utcnow
from sidecar.protocol.messages import ResumeResult, StartResult
from sidecar.services.boundary import boundary_for
from sidecar.store import DEFAULT_MAX_PAYLOAD_BYTES, Store
from tests.cliutil import Run, assert_one_line_error, inproc
from tests.gitrepo import isolate_git_config, make_repo


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Git sees only the config the test writes."""
    return isolate_git_config(monkeypatch, tmp_path / "home")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path, origin="git@github.com:Acme/App.git")


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    folder = tmp_path / "plain"
    folder.mkdir()
    return folder


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "db" / "sessions.db"


def run(*args: str | Path, db: Path, stdin: str | None = None) -> Run:
    """`session-sidecar <args> --db db` in this process."""
    return inproc(*args, db=db, stdin=stdin)


def ok_json(*args: str | Path, db: Path, stdin: str | None = None) -> Any:
    done = run(*args, "--json", db=db, stdin=stdin)
    assert done.code == 0, (done.stdout, done.stderr)
    return done.json()


def start(folder: Path, db: Path, name: str = "work") -> dict[str, Any]:
    result = ok_json("sessions", "start", "-C", folder, "--name", name, db=db)
    session: dict[str, Any] = StartResult.model_validate(result).session.to_json()
    return session


def stored_texts(db: Path, session_id: str) -> list[Any]:
    with Store.open(db) as store:
        return [e.payload.get("text") for e in store.events.page(session_id)]


# --------------------------------------------------------------------------- holds


def test_append_into_a_session_a_live_connection_holds_is_refused(repo: Path, db: Path) -> None:
    sid = start(repo, db)["id"]
    assert ok_json("events", "append", "-C", repo, "-s", sid, "-k", "note", "-t", "before", db=db)[
        "seqs"
    ] == [1]
    holder = f"otherhost:{os.getpid()}:abcd"  # another machine: only its lease can expire it
    with Store.open(db) as store:
        assert store.leases.acquire(sid, holder, lease_seconds=600) is None

    batch = json.dumps([{"kind": "prompt", "payload": {"text": "a"}}, {"kind": "note"}])
    attempts: list[tuple[tuple[str, ...], str | None]] = [
        (("-s", sid, "-k", "prompt", "-t", "hello"), None),
        (("-s", sid, "--stdin"), batch),
        (("-k", "note", "-t", "to the branch's session"), None),  # the default target
    ]
    for args, stdin in attempts:
        refused = run("events", "append", "-C", repo, *args, db=db, stdin=stdin)
        assert_one_line_error(
            refused, f"session {sid} is in use by another connection ({holder})", "fork it"
        )
    assert stored_texts(db, sid) == ["before"]

    # Resuming it from the command line does not take it from the connection either.
    resumed = run("sessions", "resume", sid, "-C", repo, "--json", db=db)
    assert resumed.code == 0, resumed.stderr
    result = ResumeResult.model_validate(resumed.json())
    assert result.resumed is False and result.session.id == sid
    assert result.warning is not None and result.warning.code == "held"
    assert resumed.stderr.startswith("warning: ") and holder in resumed.stderr

    # Once the connection lets go, the same command appends.
    with Store.open(db) as store:
        store.leases.release(sid, holder)
    again = ok_json("events", "append", "-C", repo, "-s", sid, "-k", "note", "-t", "after", db=db)
    assert again["seqs"] == [2]
    assert stored_texts(db, sid) == ["before", "after"]


def test_an_expired_or_gone_holder_does_not_refuse_the_append(repo: Path, db: Path) -> None:
    sid = start(repo, db)["id"]
    with Store.open(db) as store:
        past = utcnow() - timedelta(minutes=5)
        assert store.leases.acquire(sid, "otherhost:1:abcd", lease_seconds=30, now=past) is None
    done = ok_json("events", "append", "-C", repo, "-s", sid, "-k", "note", "-t", "hi", db=db)
    assert done["seqs"] == [1]


# --------------------------------------------------------------------------- payload limit


def test_append_over_the_payload_limit_is_refused_naming_the_field(repo: Path, db: Path) -> None:
    sid = start(repo, db)["id"]
    big = "x" * DEFAULT_MAX_PAYLOAD_BYTES
    batch = [
        {"kind": "note", "payload": {"text": "small"}},
        {"kind": "note", "payload": {"text": big}},
    ]
    refused = run(
        "events", "append", "-C", repo, "-s", sid, "--stdin", db=db, stdin=json.dumps(batch)
    )
    assert_one_line_error(
        refused,
        "events[1].payload is",
        f"over the limit of {DEFAULT_MAX_PAYLOAD_BYTES} bytes",
        "nothing from this batch was appended",
    )
    single = run("events", "append", "-C", repo, "-s", sid, "-k", "note", "-t", big, db=db)
    assert_one_line_error(single, "events[0].payload is")
    assert stored_texts(db, sid) == []
    with Store.open(db) as store:
        assert store.sessions.get(sid).event_count == 0


# --------------------------------------------------------------------------- drift on append


def test_appending_to_a_stale_session_prints_the_drift_as_a_note(repo: Path, db: Path) -> None:
    with Store.open(db) as store:
        old = store.sessions.create(
            boundary_for(repo).boundary, name="old work", now=utcnow() - timedelta(days=3)
        )
    done = run(
        "events", "append", "-C", repo, "-s", old.id, "-k", "note", "-t", "hi", "--json", db=db
    )
    assert done.code == 0, done.stderr
    assert done.json() == {"sessionId": old.id, "seqs": [1]}
    [line] = done.stderr.splitlines()
    assert line.startswith(f"note: drift in session {old.id}: ")
    with Store.open(db) as store:
        kinds = [e.kind for e in store.events.page(old.id)]
    assert kinds == [EventKind.NOTE, EventKind.DRIFT]  # the finding is recorded on the session


# --------------------------------------------------------------------------- outside git


def test_sessions_start_list_and_append_work_outside_git(
    repo: Path, plain: Path, tmp_path: Path, db: Path
) -> None:
    in_repo = start(repo, db, name="in the repository")
    session = start(plain, db, name="outside")
    boundary = session["boundary"]
    assert boundary["branch"] == NO_BRANCH == "-"
    assert boundary["repository"] == boundary["worktree"] == str(plain.resolve())
    assert boundary["provider"] == "cli"
    assert session["headSha"] is None

    listed = ok_json("sessions", "list", "-C", plain, db=db)
    assert [s["id"] for s in listed["items"]] == [session["id"]]
    for scope in ("worktree", "repository"):
        scoped = ok_json("sessions", "list", "-C", plain, "--scope", scope, db=db)
        assert [s["id"] for s in scoped["items"]] == [session["id"]]
    everything = ok_json("sessions", "list", "-C", plain, "--scope", "all", db=db)
    assert {s["id"] for s in everything["items"]} == {session["id"], in_repo["id"]}

    # Without --session the append goes to the folder's session.
    appended = ok_json("events", "append", "-C", plain, "-k", "prompt", "-t", "flamingo", db=db)
    assert appended == {"sessionId": session["id"], "seqs": [1]}
    shown = run("sessions", "show", session["id"], db=db)
    assert shown.code == 0, shown.stderr
    assert "branch:        -\n" in shown.stdout and "flamingo" in shown.stdout
    hits = ok_json("sessions", "search", "flamingo", "-C", plain, db=db)
    assert [h["sessionId"] for h in hits["items"]] == [session["id"]]

    other = tmp_path / "elsewhere"
    other.mkdir()
    nothing = run("sessions", "list", "-C", other, db=db)
    assert nothing.code == 0 and nothing.stdout.strip() == "no sessions in scope 'branch'"
    no_target = run("events", "append", "-C", other, "-k", "note", "-t", "x", db=db)
    assert_one_line_error(no_target, f"no active session in {other.resolve()}", "--session")


def test_fork_and_resume_outside_git_bind_to_the_folder(repo: Path, plain: Path, db: Path) -> None:
    origin = start(repo, db, name="origin")
    fork = ok_json("sessions", "fork", origin["id"], "-C", plain, db=db)["session"]
    assert fork["parentId"] == origin["id"]
    assert fork["boundary"]["branch"] == "-"
    assert fork["boundary"]["worktree"] == str(plain.resolve())
    assert fork["boundary"]["provider"] == "cli"  # the parent's

    # Another repository is not resumable here: a new session in the folder, and why.
    resumed = run("sessions", "resume", origin["id"], "-C", plain, "--json", db=db)
    assert resumed.code == 0
    result = ResumeResult.model_validate(resumed.json())
    assert result.resumed is False
    assert result.warning is not None and result.warning.code == "repository_changed"
    assert result.session.boundary.branch == "-"
    assert resumed.stderr.startswith("warning: ")
