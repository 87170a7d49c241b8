"""Live import of Gemini CLI, Copilot CLI, opencode and legacy Codex sessions.

Each test runs a live importer the way the language server's door does: a
real watch hub watches every root :func:`watch_roots` names (recursively,
before the folders exist), every change is marked and imported. The tools'
files are written into a temp HOME while it runs, line by line as the tools
write them (opencode: rows inserted into a real SQLite database in WAL mode
by another connection), and each event must arrive once. Sessions of other
folders under the same shared root must not be imported.
"""

from __future__ import annotations

import json
import queue
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from sidecar.core.models import Session
from sidecar.services.imports import BRANCH_INFERRED_TAG
from sidecar.services.live import LiveImport, WatchRoot
from sidecar.services.sessions import SessionService, Writer
from sidecar.store import Store
from sidecar.watch.folders import FolderWatch
from sidecar.watch.hub import WatchHub
from tests.gitrepo import isolate_git_config, make_repo

pytestmark = pytest.mark.timeout(60)

FIXTURES = Path(__file__).parent / "fixtures" / "agents"
GEMINI_ID = "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
GEMINI_CHAT = (
    FIXTURES / "gemini" / ".gemini" / "tmp" / "webapp" / "chats"
    / "session-2026-01-05T10-00-7d1e2f3a.jsonl"
)  # fmt: skip
COPILOT_ID = "8e9f0a1b-2c3d-4e5f-a6b7-c8d9e0f1a2b3"
COPILOT_EVENTS = FIXTURES / "copilot" / "session-state" / COPILOT_ID / "events.jsonl"
OPENCODE_SQL = FIXTURES / "opencode" / "opencode.sql"
CODEX_LEGACY_ID = "01991234-5678-7abc-8def-0123456789ab"
CODEX_LEGACY = next((FIXTURES / "codex-legacy").rglob(f"*{CODEX_LEGACY_ID}.jsonl"))
TOOL_HOMES = ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME", "COPILOT_HOME")
WAIT_SECONDS = 15.0


class Running:
    """A live importer fed by a real watch hub, driven from the test's thread."""

    def __init__(self, live: LiveImport) -> None:
        self.live = live
        self.hub = WatchHub()
        self.changes: queue.Queue[tuple[WatchRoot, str]] = queue.Queue()
        self.watches = [
            FolderWatch(
                self.hub, root.path, lambda p, r=root: self.changes.put((r, p)), recursive=True
            )
            for root in live.roots
        ]
        for root in live.roots:
            live.mark_existing(root)

    def until(self, condition: Callable[[], bool], what: str) -> None:
        """Import what changes until ``condition`` holds; fail naming ``what`` after a timeout."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            while True:
                try:
                    root, path = self.changes.get_nowait()
                except queue.Empty:
                    break
                self.live.mark(root, Path(path))
            while self.live.run()[1]:
                pass
            if condition():
                return
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"live import: {what} did not happen within {WAIT_SECONDS}s")
            try:
                root, path = self.changes.get(timeout=left)
            except queue.Empty:
                continue
            self.live.mark(root, Path(path))

    def settle(self) -> None:
        """Import every change reported so far, and those they cause, until quiet."""
        while True:
            try:
                root, path = self.changes.get(timeout=0.3)
            except queue.Empty:
                return
            self.live.mark(root, Path(path))
            while self.live.run()[1]:
                pass

    def close(self) -> None:
        for watch in self.watches:
            watch.close()
        self.hub.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (*TOOL_HOMES, "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    return isolate_git_config(monkeypatch, tmp_path / "home")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "sessions.db") as opened:
        yield opened


@pytest.fixture
def start(store: Store, repo: Path, home: Path) -> Iterator[Callable[[str], Running]]:
    """Start a live importer of ``repo`` for one provider (closed afterwards)."""
    started: list[Running] = []

    def _start(provider: str) -> Running:
        live = LiveImport(
            SessionService(store, Writer.connection()), repo, home=home, providers=(provider,)
        )
        started.append(Running(live))
        return started[-1]

    yield _start
    for running in started:
        running.close()


def _session(store: Store, provider: str, ref: str) -> Session | None:
    return store.sessions.find_by_provider_ref(provider, ref)


def _kinds(store: Store, session: Session) -> list[str]:
    events = store.events.page(session.id)
    return [e.kind.value for e in events if e.payload.get("subtype") != BRANCH_INFERRED_TAG]


def _count(store: Store, provider: str, ref: str) -> int:
    session = _session(store, provider, ref)
    return session.event_count if session is not None else 0


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(lines))


def _retarget(path: Path, old: str, new: str) -> list[str]:
    """The fixture's lines with the folder ``old`` replaced by ``new``."""
    return path.read_text("utf-8").replace(old, new).splitlines(keepends=True)


# ---------------------------------------------------------------- Gemini CLI


@pytest.mark.parametrize("registry", ["project_root", "projects_json"])
def test_a_gemini_chat_of_the_workspace_is_imported_as_it_is_written(
    start: Callable[[str], Running], store: Store, home: Path, repo: Path, registry: str
) -> None:
    running = start("gemini")
    gemini = home / ".gemini"
    mine = gemini / "tmp" / "webapp"
    (mine / "chats").mkdir(parents=True)
    if registry == "project_root":
        (mine / ".project_root").write_text(str(repo), "utf-8")
    else:
        (gemini / "projects.json").write_text(json.dumps({"projects": {str(repo): "webapp"}}))
    other = gemini / "tmp" / "elsewhere"
    (other / "chats").mkdir(parents=True)
    (other / ".project_root").write_text(str(repo.parent / "elsewhere"), "utf-8")
    lines = GEMINI_CHAT.read_text("utf-8").splitlines(keepends=True)
    other_chat = other / "chats" / "session-2026-01-05T11-00-0000aaaa.jsonl"
    other_chat.write_text(
        "".join(lines).replace(GEMINI_ID, "0000aaaa-0000-4000-8000-000000000000"), "utf-8"
    )

    chat = mine / "chats" / GEMINI_CHAT.name
    chat.write_text("".join(lines[:3]), "utf-8")  # metadata, /help, the prompt
    running.until(lambda: _count(store, "gemini", GEMINI_ID) > 0, "the first prompt")
    _append(chat, lines[3:5])  # m3 with its tool call, then m3 again with the result
    _append(chat, lines[5:])
    running.until(lambda: "response" in _kinds_of(store), "the answer")
    running.settle()

    session = _session(store, "gemini", GEMINI_ID)
    assert session is not None and session.boundary.worktree == str(repo)
    # m3 was written twice: its tool call and result are there once.
    assert _kinds(store, session) == ["note", "prompt", "tool_call", "tool_result", "response"]
    assert [s.boundary.provider for s in store.sessions.list(limit=10).items] == ["gemini"]


def _kinds_of(store: Store) -> list[str]:
    session = _session(store, "gemini", GEMINI_ID)
    return _kinds(store, session) if session is not None else []


# ---------------------------------------------------------------- Copilot CLI


def test_a_copilot_session_is_matched_by_its_session_start_cwd(
    start: Callable[[str], Running], store: Store, home: Path, repo: Path
) -> None:
    running = start("copilot")
    state = home / ".copilot" / "session-state"
    lines = _retarget(COPILOT_EVENTS, "/home/u/shop", str(repo))
    other_id = "00000000-0000-4000-8000-00000000cafe"
    (state / other_id).mkdir(parents=True)
    (state / other_id / "events.jsonl").write_text(
        COPILOT_EVENTS.read_text("utf-8").replace(COPILOT_ID, other_id), "utf-8"
    )  # /home/u/shop: another folder

    events = state / COPILOT_ID / "events.jsonl"
    events.parent.mkdir()
    half = len(lines[0]) // 2
    events.write_text(lines[0][:half], "utf-8")  # session.start, half written: no folder yet
    running.settle()
    assert _session(store, "copilot", COPILOT_ID) is None
    _append(events, [lines[0][half:], *lines[1:8]])
    running.until(lambda: _count(store, "copilot", COPILOT_ID) >= 4, "the first turn")
    _append(events, lines[8:])  # resumed on another branch
    running.until(
        lambda: "branch_change" in _kinds(store, _must(store, "copilot", COPILOT_ID)), "the resume"
    )
    running.settle()

    session = _must(store, "copilot", COPILOT_ID)
    assert session.boundary.worktree == str(repo)
    assert _kinds(store, session) == [
        "prompt", "tool_call", "tool_result", "response", "branch_change", "prompt", "note",
    ]  # fmt: skip
    assert _session(store, "copilot", other_id) is None


def _must(store: Store, provider: str, ref: str) -> Session:
    session = _session(store, provider, ref)
    assert session is not None, f"no {provider} session {ref}"
    return session


# ---------------------------------------------------------------- opencode


def test_opencode_sessions_are_imported_as_opencode_writes_its_database(
    start: Callable[[str], Running], store: Store, home: Path, repo: Path
) -> None:
    running = start("opencode")
    database = home / ".local" / "share" / "opencode" / "opencode.db"
    database.parent.mkdir(parents=True)
    sql = OPENCODE_SQL.read_text("utf-8")
    schema, _, rows = sql.partition("INSERT INTO session")
    with closing(sqlite3.connect(database, isolation_level=None)) as opencode:
        opencode.execute("PRAGMA journal_mode=WAL")  # as opencode opens it
        opencode.executescript(schema)
        # opencode writes the session, the sub-agent's, and their messages.
        opencode.executescript("INSERT INTO session" + rows.replace("/home/u/api", str(repo)))
        opencode.execute(
            "INSERT INTO session VALUES ('ses_other', 'prj2', NULL, 'shy-fox', '/home/u/api', "
            "'Another project', '1.18.33', 1767225600000, 1767225600000)"
        )
        running.until(lambda: _count(store, "opencode", "ses_main01") >= 5, "the main session")
        running.until(lambda: _count(store, "opencode", "ses_sub01") >= 2, "the sub-agent session")

        # The next turn: a prompt, then an answer written while it streams.
        opencode.execute(
            "INSERT INTO message VALUES ('msg_05', 'ses_main01', 1767225700000, 1767225700000, "
            '\'{"role":"user","time":{"created":1767225700000}}\')'
        )
        opencode.execute(
            "INSERT INTO part VALUES ('prt_08', 'msg_05', 'ses_main01', 1767225700000, "
            '1767225700000, \'{"type":"text","text":"Run it 50 times to be sure"}\')'
        )
        opencode.execute(
            "INSERT INTO message VALUES ('msg_06', 'ses_main01', 1767225701000, 1767225701000, "
            '\'{"role":"assistant","time":{"created":1767225701000}}\')'
        )
        opencode.execute(
            "INSERT INTO part VALUES ('prt_09', 'msg_06', 'ses_main01', 1767225702000, "
            '1767225702000, \'{"type":"text","text":"Running"}\')'
        )
        running.until(
            lambda: (
                _must(store, "opencode", "ses_main01").last_prompt == "Run it 50 times to be sure"
            ),
            "the next prompt",
        )
        running.settle()
        assert "Running" not in _texts(store, "ses_main01")  # not completed yet
        opencode.execute(
            "UPDATE part SET time_updated = 1767225760000, "
            'data = \'{"type":"text","text":"50 of 50 passed"}\' WHERE id = \'prt_09\''
        )
        opencode.execute(
            "UPDATE message SET time_updated = 1767225760000, data = "
            '\'{"role":"assistant","time":{"created":1767225701000,"completed":1767225760000}}\' '
            "WHERE id = 'msg_06'"
        )
        running.until(lambda: "50 of 50 passed" in _texts(store, "ses_main01"), "the answer")
        running.settle()

    main = _must(store, "opencode", "ses_main01")
    sub = _must(store, "opencode", "ses_sub01")
    assert main.boundary.worktree == str(repo) and sub.parent_id == main.id
    assert _kinds(store, main) == [
        "prompt", "note", "tool_call", "tool_result", "response", "prompt", "response",
    ]  # fmt: skip
    assert _session(store, "opencode", "ses_other") is None


def _texts(store: Store, ref: str) -> list[str]:
    session = _must(store, "opencode", ref)
    return [str(e.payload.get("text")) for e in store.events.page(session.id)]


# ---------------------------------------------------------------- Codex 2025


def test_a_legacy_codex_rollout_is_matched_by_its_environment_context(
    start: Callable[[str], Running], store: Store, home: Path, repo: Path
) -> None:
    running = start("codex")
    day = home / ".codex" / "sessions" / "2025" / "09" / "03"
    day.mkdir(parents=True)
    lines = _retarget(CODEX_LEGACY, "/home/u/docs", str(repo))
    rollout = day / CODEX_LEGACY.name
    rollout.write_text(lines[0], "utf-8")  # session_meta without cwd: not known yet
    running.settle()
    assert _session(store, "codex", CODEX_LEGACY_ID) is None
    _append(rollout, lines[1:])  # the <environment_context> names the folder
    running.until(lambda: _count(store, "codex", CODEX_LEGACY_ID) >= 4, "the rollout")
    running.settle()

    session = _must(store, "codex", CODEX_LEGACY_ID)
    assert session.boundary.worktree == str(repo)
    assert _kinds(store, session) == ["prompt", "tool_call", "tool_call", "response"]


def test_a_legacy_codex_rollout_of_another_folder_is_not_imported(
    start: Callable[[str], Running], store: Store, home: Path
) -> None:
    running = start("codex")
    day = home / ".codex" / "sessions" / "2025" / "09" / "03"
    day.mkdir(parents=True)
    shutil.copy(CODEX_LEGACY, day / CODEX_LEGACY.name)  # /home/u/docs
    running.settle()
    assert store.sessions.list(limit=10).items == []
