"""Every stored text field goes through redaction: the secret is looked for in
the database's bytes (main file and WAL, full-text index included), as an
attacker reading the file would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.agents import hook
from sidecar.core.models import Boundary, NewEvent
from sidecar.core.redact import set_user_rules
from sidecar.store import Store
from sidecar.store.rules import load_user_rules
from tests.gitrepo import make_repo

GITHUB = "ghp_" + "Zq8xR2mN5vB7cL1kJ4hG6fD3sA9pW0eT2yUi"
AWS = "AKIA" + "Q7XRZ2MN5VB7CL1K"
SLACK = "xoxb-" + "2291824417-4410991372-pQ8rZ2mN5vB7cL1kJ4hG6fD3"


def _on_disk(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    return folder / "sessions.db"


def _boundary(task: str | None = None) -> Boundary:
    return Boundary(
        repository="r", worktree="/w", branch="main", requester="me", machine="m", task=task
    )


@pytest.mark.parametrize(
    "channel",
    ["name", "description", "tags", "task", "annotation", "approval", "decision",
     "checkpoint", "cache", "payload_key", "client_event_id"],
)  # fmt: skip
def test_a_secret_in_any_stored_field_never_reaches_the_file(db: Path, channel: str) -> None:
    secret = GITHUB
    with Store.open(db) as store:
        session = store.sessions.create(
            _boundary(task=f"deploy with {secret}" if channel == "task" else None),
            name=f"use {secret}" if channel == "name" else "",
            description=f"token {secret}" if channel == "description" else "",
            tags=[f"t-{secret}"] if channel == "tags" else (),
        )
        sid = session.id
        if channel == "annotation":
            store.reviews.annotate(sid, code=f"c {secret}", text=f"see {secret}")
        if channel in ("approval", "decision"):
            approval = store.reviews.request_approval(
                sid, title=f"push {secret}", detail=f"with {secret}"
            )
            if channel == "decision":
                store.reviews.decide_approval(
                    approval.id, grant=False, by=f"me {secret}", reason=f"leaks {secret}"
                )
        if channel == "checkpoint":
            store.checkpoints.add(
                sid, name=f"before {secret}", head_sha=None, snapshot_sha=None, ref=None
            )
        if channel == "cache":
            store.state.cache_put(sid, f"k {secret}", {"v": f"value {secret}", secret: 1})
        if channel == "payload_key":
            store.events.append(sid, [NewEvent(kind="note", payload={secret: "x"})], holder=None)
        if channel == "client_event_id":
            event = NewEvent(kind="note", payload={"text": "x"}, client_event_id=f"id-{secret}")
            store.events.append(sid, [event], holder=None)
            # Idempotency still holds with the redacted id.
            assert store.events.append(sid, [event], holder=None) == [1]
        store.events.index_pending()
    assert secret.encode() not in _on_disk(db)


@pytest.mark.parametrize("secret", [GITHUB, AWS, SLACK])
def test_a_session_named_after_its_first_prompt_is_named_without_the_secret(
    tmp_path: Path, db: Path, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Claude Code hook names a new session after its first prompt."""
    repo = make_repo(tmp_path)
    monkeypatch.setenv("SIDECAR_DB", str(db))
    raw = json.dumps({
        "hook_event_name": "UserPromptSubmit", "session_id": "abc", "cwd": str(repo),
        "prompt": f"export TOKEN={secret} and deploy",
    }).encode()  # fmt: skip
    with Store.open(db) as store:
        hook.run("claude-code", raw, store=store)
        sessions = store.sessions.list(limit=10).items
        assert sessions and all(secret not in s.name for s in sessions)
        store.events.index_pending()
    assert secret.encode() not in _on_disk(db)


@pytest.fixture
def rules_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "config" / "redaction.json"
    path.parent.mkdir()
    monkeypatch.setenv("SIDECAR_REDACTION", str(path))
    yield path
    set_user_rules()  # process-wide: leave none behind


def test_the_users_own_patterns_and_allow_list_apply_to_every_writer(
    db: Path, rules_file: Path
) -> None:
    internal = "ACME-" + "48151623"
    fixture_key = "ghp_" + "0" * 36  # a test fixture's fake token, allowed on purpose
    rules_file.write_text(
        json.dumps({"patterns": [r"ACME-\d{8}"], "allow": [fixture_key]}), encoding="utf-8"
    )
    with Store.open(db) as store:  # every door opens the store: it loads the rules
        session = store.sessions.create(_boundary(), name=f"ticket {internal}")
        text = f"{internal} uses {fixture_key} and {GITHUB}"
        note = NewEvent(kind="note", payload={"text": text})
        store.events.append(session.id, [note], holder=None)
        (event,) = store.events.page(session.id)
    assert event.payload["text"] == (
        f"[REDACTED:custom] uses {fixture_key} and [REDACTED:github_token]"
    )
    stored = _on_disk(db)
    assert internal.encode() not in stored and GITHUB.encode() not in stored


def test_rules_that_cannot_be_used_are_named(rules_file: Path) -> None:
    rules_file.write_text(json.dumps({"patterns": ["(unclosed"], "allow": "x"}), encoding="utf-8")
    problems = load_user_rules()
    assert any("'allow' must be a list of strings" in p for p in problems)
    assert any("(unclosed" in p for p in problems)
    rules_file.write_text("{not json", encoding="utf-8")
    assert any(str(rules_file) in p for p in load_user_rules())


def test_log_lines_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from sidecar.server.serve import RedactingFilter

    logger = logging.getLogger("sidecar.test.redaction")
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    try:
        logger.warning("could not push with %s", GITHUB)
    finally:
        logger.removeHandler(handler)
    err = capsys.readouterr().err
    assert GITHUB not in err and "[REDACTED:github_token]" in err


def test_the_hook_log_is_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    hook._log(f"failed on input with {AWS}")
    text = hook.log_path().read_text(encoding="utf-8")
    assert AWS not in text and "[REDACTED:aws_access_key]" in text
    assert hook.log_path().stat().st_mode & 0o777 == 0o600


def test_an_editors_rules_survive_a_later_store_open(db: Path, rules_file: Path) -> None:
    """A server's redactPatterns stay in force when the process opens another store."""
    assert load_user_rules([r"ACME-\d{8}"], []) == []
    with Store.open(db) as store:  # reloads the (missing) rules file
        session = store.sessions.create(_boundary(), name="ticket ACME-48151623")
    assert session.name == "ticket [REDACTED:custom]"
    load_user_rules([], [])
