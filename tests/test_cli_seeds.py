"""The seeds' verbs on the command line (continue, pick, pin/unpin, tag) and the tag method.

The CLI runs as users run it (`python -m sidecar ...` in a subprocess, stdin a
pipe, in a real git repository built in tmp_path, on a real SQLite file);
sessions that must be old are written through the store with a past clock, the
way time passes for them. The tag method is driven over the real server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCNotification, JsonRPCResponseMessage
from pytest_lsp import ClientServerConfig, LanguageClient

from sidecar.core.models import Session, utcnow
from sidecar.protocol.messages import ListResult, ResumeResult, SessionResult
from sidecar.services.boundary import Profile, boundary_for
from sidecar.store import Store
from tests.cliutil import Run, assert_one_line_error, cli, cli_env
from tests.e2e.conftest import SERVER_COMMAND, TIMEOUT, Client, stop_client
from tests.envutil import isolated_env
from tests.gitrepo import isolate_git_config, make_repo, switch

SECRET = "ghp_abcdefghijklmnopqrstuvwxyz0123456789"


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


def ok(*args: str | Path, cwd: Path, env: dict[str, str], db: Path, stdin: str = "") -> Run:
    run = cli(*args, cwd=cwd, env=env, db=db, stdin=stdin)
    assert run.code == 0, (run.stdout, run.stderr)
    return run


def start(repo: Path, env: dict[str, str], db: Path, name: str) -> Session:
    run = ok("sessions", "start", "--name", name, "--json", cwd=repo, env=env, db=db)
    return SessionResult.model_validate(run.json()).session


def say(repo: Path, env: dict[str, str], db: Path, session_id: str, text: str) -> None:
    ok("events", "append", "-s", session_id, "--kind", "prompt", "--text", text,
       cwd=repo, env=env, db=db)  # fmt: skip


def stored(db: Path, session_id: str) -> Session:
    with Store.open(db) as store:
        return store.sessions.get(session_id)


def old_session(repo: Path, db: Path, name: str, days: float, *, ended: bool = False) -> Session:
    """A session of `repo`'s current boundary whose last activity was `days` ago."""
    then = utcnow() - timedelta(days=days)
    boundary = boundary_for(repo, Profile(provider="cli")).boundary
    with Store.open(db) as store:
        session = store.sessions.create(boundary, name=name, now=then)
        if ended:
            session = store.sessions.end(session.id, now=then)
    return session


def listing(repo: Path, env: dict[str, str], db: Path, *extra: str) -> list[Session]:
    run = ok("sessions", "list", "--json", *extra, cwd=repo, env=env, db=db)
    return ListResult.model_validate(run.json()).items


# --------------------------------------------------------------------------- continue


def test_continue_resumes_the_latest_session_of_this_branch_not_another_branchs(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    start(repo, env, db, "main older")
    newer = start(repo, env, db, "main newer")
    say(repo, env, db, newer.id, "fix the login")
    switch(repo, "feature", create=True)
    start(repo, env, db, "feature latest")  # the most recent session overall
    switch(repo, "main")

    run = ok("sessions", "continue", cwd=repo, env=env, db=db)

    assert run.stdout.splitlines() == [
        f'continued session {newer.id} "main newer" on main (github.com/acme/app)',
        "  last active just now, 1 event",
    ]
    assert run.stderr == ""
    result = ResumeResult.model_validate(
        ok("sessions", "continue", "--json", cwd=repo, env=env, db=db).json()
    )
    assert (result.session.id, result.resumed, result.warning) == (newer.id, True, None)


def test_continue_with_no_session_on_the_branch_exits_1_saying_what_to_do(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    switch(repo, "feature", create=True)
    start(repo, env, db, "feature work")
    switch(repo, "main")

    run = cli("sessions", "continue", cwd=repo, env=env, db=db)

    assert run.code == 1
    assert run.stdout == ""
    assert "no session to continue on branch 'main'" in run.stderr
    assert "session-sidecar sessions start" in run.stderr
    assert "Traceback" not in run.stderr


def test_continue_resumes_a_stale_session_and_says_how_old_it_is(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    stale = old_session(repo, db, "last week", days=3)

    run = ok("sessions", "continue", "--json", cwd=repo, env=env, db=db)

    result = ResumeResult.model_validate(run.json())
    assert (result.session.id, result.resumed) == (stale.id, True)
    assert result.warning is not None and result.warning.code == "stale"
    assert "idle for 3 days" in run.stderr
    assert stored(db, stale.id).status.value == "active"


def test_continue_skips_an_ended_session(repo: Path, env: dict[str, str], db: Path) -> None:
    kept = start(repo, env, db, "still open")
    ended = start(repo, env, db, "closed")
    ok("sessions", "end", ended.id, cwd=repo, env=env, db=db)

    result = ResumeResult.model_validate(
        ok("sessions", "continue", "--json", cwd=repo, env=env, db=db).json()
    )

    assert result.session.id == kept.id


# --------------------------------------------------------------------------- pick


@pytest.fixture
def two_talks(repo: Path, env: dict[str, str], db: Path) -> tuple[Session, Session]:
    """Two ended sessions on main: one about cookies, one about yaml."""
    cookies = start(repo, env, db, "cookies")
    say(repo, env, db, cookies.id, "the refresh cookie expires too early")
    yaml = start(repo, env, db, "yaml")
    say(repo, env, db, yaml.id, "parse the yaml settings file")
    for session in (cookies, yaml):
        ok("sessions", "end", session.id, cwd=repo, env=env, db=db)
    return cookies, yaml


def test_pick_with_a_query_resumes_the_hit_chosen_on_stdin(
    repo: Path, env: dict[str, str], db: Path, two_talks: tuple[Session, Session]
) -> None:
    cookies, yaml = two_talks

    run = ok("sessions", "pick", "cookie", cwd=repo, env=env, db=db, stdin="1\n")

    lines = run.stdout.splitlines()
    assert lines[0].startswith("  1) cookies  ·  main  ·  ")
    assert lines[0].endswith(f"1 event  ·  {cookies.id}")
    assert "[cookie]" in lines[1]
    assert yaml.id not in run.stdout
    assert lines[-1] == f'resumed session {cookies.id} "cookies" on main (github.com/acme/app)'
    assert stored(db, cookies.id).status.value == "active"
    assert stored(db, yaml.id).status.value == "ended"


def test_pick_searches_again_with_new_words_then_resumes(
    repo: Path, env: dict[str, str], db: Path, two_talks: tuple[Session, Session]
) -> None:
    cookies, yaml = two_talks

    run = ok("sessions", "pick", "cookie", cwd=repo, env=env, db=db, stdin="7\nyaml\n1\n")

    assert "7 is not in the list (1-1)" in run.stderr
    assert run.stdout.splitlines()[-1].startswith(f"resumed session {yaml.id} ")
    assert stored(db, yaml.id).status.value == "active"
    assert stored(db, cookies.id).status.value == "ended"


def test_pick_q_quits_without_changing_anything(
    repo: Path, env: dict[str, str], db: Path, two_talks: tuple[Session, Session]
) -> None:
    before = [stored(db, s.id) for s in two_talks]

    for stdin in ("q\n", ""):  # q, and the end of input, both quit
        run = ok("sessions", "pick", cwd=repo, env=env, db=db, stdin=stdin)
        assert "nothing picked" in run.stderr
        assert "resumed" not in run.stdout

    assert [stored(db, s.id) for s in two_talks] == before


def test_pick_a_session_of_another_branch_warns_as_resume_does(
    repo: Path, env: dict[str, str], db: Path, two_talks: tuple[Session, Session]
) -> None:
    cookies, _ = two_talks
    switch(repo, "feature", create=True)

    run = ok("sessions", "pick", "cookie", "--scope", "repository",
             cwd=repo, env=env, db=db, stdin="1\n")  # fmt: skip

    assert run.stdout.splitlines()[-1].startswith(f"resumed session {cookies.id} ")
    assert "warning: Session 'cookies' was recorded on branch 'main'" in run.stderr


def test_pick_json_prints_the_candidates_and_does_not_ask(
    repo: Path, env: dict[str, str], db: Path, two_talks: tuple[Session, Session]
) -> None:
    cookies, yaml = two_talks

    run = ok("sessions", "pick", "--json", cwd=repo, env=env, db=db, stdin="1\n")

    data = run.json()
    assert [item["session"]["id"] for item in data["items"]] == [yaml.id, cookies.id]
    assert data["items"][0]["snippet"] == "parse the yaml settings file"
    assert run.stderr == ""
    assert stored(db, yaml.id).status.value == "ended"


# --------------------------------------------------------------------------- pin


def test_pin_and_unpin_show_in_list_and_cleanup_keeps_the_pinned(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    keep = old_session(repo, db, "keep me", days=40, ended=True)
    drop = old_session(repo, db, "drop me", days=40, ended=True)

    run = ok("sessions", "pin", keep.id, cwd=repo, env=env, db=db)

    assert run.stdout.startswith(f'pinned session {keep.id} "keep me"')
    assert [s.id for s in listing(repo, env, db, "--pinned")] == [keep.id]
    table = ok("sessions", "list", cwd=repo, env=env, db=db).stdout
    assert "📌 keep me" in table
    assert "📌 drop me" not in table
    ok("sessions", "cleanup", "--older-than", "30", cwd=repo, env=env, db=db)
    assert [s.id for s in listing(repo, env, db)] == [keep.id]

    ok("sessions", "unpin", keep.id, cwd=repo, env=env, db=db)

    assert listing(repo, env, db, "--pinned") == []
    assert not stored(db, keep.id).pinned
    ok("sessions", "cleanup", "--older-than", "30", cwd=repo, env=env, db=db)
    assert listing(repo, env, db) == []
    del drop


def test_pin_of_an_unknown_id_is_a_one_line_error(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    assert_one_line_error(
        cli("sessions", "pin", "01nosuchsession", cwd=repo, env=env, db=db), "01nosuchsession"
    )


# --------------------------------------------------------------------------- tag


def test_tag_adds_once_filters_the_list_and_removes(
    repo: Path, env: dict[str, str], db: Path
) -> None:
    session = start(repo, env, db, "api work")
    other = start(repo, env, db, "other")

    run = ok("sessions", "tag", session.id, "wip", "api", "wip", cwd=repo, env=env, db=db)

    assert run.stdout.strip().endswith(": [wip] [api]")
    ok("sessions", "tag", session.id, "api", cwd=repo, env=env, db=db)
    assert stored(db, session.id).tags == ["wip", "api"]
    assert [s.id for s in listing(repo, env, db, "--tag", "api")] == [session.id]
    assert "api work [wip] [api]" in ok("sessions", "list", cwd=repo, env=env, db=db).stdout

    ok("sessions", "tag", session.id, "api", "--remove", cwd=repo, env=env, db=db)

    assert stored(db, session.id).tags == ["wip"]
    assert listing(repo, env, db, "--tag", "api") == []
    assert stored(db, other.id).tags == []


@pytest.mark.parametrize(
    ("tag", "says"),
    [
        ("two words", "tag 'two words' contains whitespace"),
        ("x" * 41, "is 41 characters long; at most 40"),
        ("bell\x07", "contains the control character U+0007"),
        ("", "a tag cannot be empty"),
        ("hook", "tag 'hook' is set by the sidecar itself"),
    ],
)
def test_tag_rejects_a_bad_tag_naming_it(
    repo: Path, env: dict[str, str], db: Path, tag: str, says: str
) -> None:
    session = start(repo, env, db, "work")

    run = cli("sessions", "tag", session.id, "ok", tag, cwd=repo, env=env, db=db)

    assert_one_line_error(run, "add[1]", says)
    assert stored(db, session.id).tags == []


def test_tag_redacts_a_secret_looking_tag(repo: Path, env: dict[str, str], db: Path) -> None:
    session = start(repo, env, db, "work")

    run = ok("sessions", "tag", session.id, SECRET, cwd=repo, env=env, db=db)

    assert SECRET not in run.stdout
    assert stored(db, session.id).tags == ["[REDACTED:github_token]"]
    # Tagging it again keeps one copy; removing it by its raw text removes it.
    ok("sessions", "tag", session.id, SECRET, cwd=repo, env=env, db=db)
    assert stored(db, session.id).tags == ["[REDACTED:github_token]"]
    for path in db.parent.iterdir():
        assert SECRET.encode() not in path.read_bytes(), path
    ok("sessions", "tag", session.id, SECRET, "--remove", cwd=repo, env=env, db=db)
    assert stored(db, session.id).tags == []


# --------------------------------------------------------------------------- the LSP door


def _raw(obj: dict[str, Any], cls: type) -> Any:
    return cls(**obj)


@asynccontextmanager
async def server(env: dict[str, str], folder: Path) -> AsyncIterator[Client]:
    """The real server over stdio, initialized by a VS Code-like client on `folder`."""
    lsp = await ClientServerConfig(server_command=SERVER_COMMAND, server_env=env).start()
    assert isinstance(lsp, LanguageClient)
    converter = lsp.protocol._converter
    converter.register_structure_hook(JsonRPCResponseMessage, _raw)
    converter.register_structure_hook(JsonRPCNotification, _raw)
    client = Client(lsp)
    try:
        init = types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            workspace_folders=[types.WorkspaceFolder(uri=folder.as_uri(), name=folder.name)],
        )
        await asyncio.wait_for(lsp.initialize_session(init), TIMEOUT)
        yield client
    finally:
        await stop_client(client)


async def test_tag_method_over_the_real_server(repo: Path, home: Path, tmp_path: Path) -> None:
    db = tmp_path / "lsp" / "sessions.db"
    (tmp_path / "server-tmp").mkdir()
    async with server(isolated_env(home, db, tmp_path / "server-tmp"), repo) as client:
        started = await client.request("sidecar/sessions/start", {"name": "tagged"})
        session_id = started["session"]["id"]

        tagged = await client.request(
            "sidecar/sessions/tag", {"sessionId": session_id, "add": ["wip", "api", "wip", SECRET]}
        )
        assert tagged["session"]["tags"] == ["wip", "api", "[REDACTED:github_token]"]
        untagged = await client.request(
            "sidecar/sessions/tag", {"sessionId": session_id, "remove": ["api"]}
        )
        assert untagged["session"]["tags"] == ["wip", "[REDACTED:github_token]"]
        found = await client.request("sidecar/sessions/list", {"tag": "wip", "pinned": False})
        assert [s["id"] for s in found["items"]] == [session_id]

        with pytest.raises(JsonRpcException) as bad:
            await client.request(
                "sidecar/sessions/tag", {"sessionId": session_id, "add": ["ok", "two words"]}
            )
        assert bad.value.code == -32602
        assert "add[1]" in bad.value.message
        assert "tag 'two words' contains whitespace" in bad.value.message

        with pytest.raises(JsonRpcException) as reserved:
            await client.request(
                "sidecar/sessions/tag", {"sessionId": session_id, "remove": ["hook"]}
            )
        assert reserved.value.code == -32602
        assert "remove[0]: tag 'hook' is set by the sidecar itself" in reserved.value.message

        pinned = await client.request("sidecar/sessions/pin", {"sessionId": session_id})
        assert pinned["session"]["pinned"] is True
        assert pinned["session"]["tags"] == ["wip", "[REDACTED:github_token]"]
