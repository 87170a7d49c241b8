"""Live ingestion in the core: real files under temp tool homes, imported slice by slice.

Watching is the door's (the language server's live-import feature, tested end
to end in tests/e2e/test_live_e2e.py); here the core's part is driven
directly: which files belong to the workspace, what a slice imports, and that
a half-written or held file is retried.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.importers.amplifier import project_slug as amplifier_slug
from sidecar.importers.claude_code import project_slug as claude_slug
from sidecar.importers.registry import PROVIDERS
from sidecar.services.live import LiveImport, lease_name, units_for, watch_roots
from sidecar.services.sessions import SessionService, Writer
from sidecar.store import Store
from tests.gitrepo import isolate_git_config, make_repo

FIXTURES = Path(__file__).parent / "fixtures" / "agents"
MAIN_ID = "11111111-1111-4111-8111-111111111111"
CLAUDE_MAIN = FIXTURES / "claude" / "projects" / "-home-u-app" / f"{MAIN_ID}.jsonl"
CODEX_MAIN = next((FIXTURES / "codex" / "sessions").rglob("rollout-*.jsonl"))
AMP_SESSION = (
    FIXTURES / "amplifier" / "projects" / "-home-u-app" / "sessions"
    / "5d6e7f80-1a2b-4c3d-9e8f-0a1b2c3d4e5f"
)  # fmt: skip


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path, Store]]:
    """(home, repo, store)."""
    for name in ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "GEMINI_CLI_HOME", "COPILOT_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    home = isolate_git_config(monkeypatch, tmp_path / "home")
    repo = make_repo(tmp_path)
    with Store.open(tmp_path / "sessions.db") as store:
        yield home, repo, store


def _lines(path: Path, repo: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    for old in ('"/home/u/app"', '"/home/u/api"'):
        text = text.replace(old, json.dumps(str(repo)))
    return text.splitlines(keepends=True)


def _live(store: Store, repo: Path, home: Path, **kw: object) -> LiveImport:
    sessions = SessionService(store, Writer.connection())
    return LiveImport(sessions, repo, home=home, **kw)  # type: ignore[arg-type]


def _drain(live: LiveImport) -> int:
    """Run slices until nothing is left; how many slices ran."""
    slices = 0
    while True:
        _, more = live.run()
        slices += 1
        if not more:
            return slices
        assert slices < 10_000


def test_claude_transcript_lines_are_imported_as_they_are_appended(
    env: tuple[Path, Path, Store],
) -> None:
    home, repo, store = env
    project = home / ".claude" / "projects" / claude_slug(repo)
    project.mkdir(parents=True)
    lines = _lines(CLAUDE_MAIN, repo)
    transcript = project / f"{MAIN_ID}.jsonl"
    live = _live(store, repo, home)
    root = next(r for r in live.roots if r.provider == "claude-code" and r.path == project)

    transcript.write_text("".join(lines[:6]), encoding="utf-8")
    live.mark(root, transcript)
    _drain(live)
    session = store.sessions.find_by_provider_ref("claude-code", MAIN_ID)
    assert session is not None and session.event_count > 0
    first = session.event_count

    with transcript.open("a", encoding="utf-8") as handle:
        handle.write("".join(lines[6:]))
    live.mark(root, transcript)
    _drain(live)
    again = store.sessions.get(session.id)
    assert again.event_count > first
    # Marking again without new lines adds nothing (the offset is kept in the store).
    live.mark(root, transcript)
    _drain(live)
    assert store.sessions.get(session.id).event_count == again.event_count


def test_a_half_written_line_waits_for_the_rest(env: tuple[Path, Path, Store]) -> None:
    home, repo, store = env
    project = home / ".claude" / "projects" / claude_slug(repo)
    project.mkdir(parents=True)
    lines = _lines(CLAUDE_MAIN, repo)
    transcript = project / f"{MAIN_ID}.jsonl"
    live = _live(store, repo, home)
    root = next(r for r in live.roots if r.path == project)
    partial = lines[2]
    transcript.write_text("".join(lines[:2]) + partial[: len(partial) // 2], encoding="utf-8")
    live.mark(root, transcript)
    _drain(live)
    session = store.sessions.find_by_provider_ref("claude-code", MAIN_ID)
    count = session.event_count if session is not None else 0
    with transcript.open("a", encoding="utf-8") as handle:
        handle.write(partial[len(partial) // 2 :])
    live.mark(root, transcript)
    _drain(live)
    session = store.sessions.find_by_provider_ref("claude-code", MAIN_ID)
    assert session is not None and session.event_count > count
    prompts = store.events.page(session.id, kinds=["prompt"])
    assert prompts and prompts[0].payload["text"] == "Please fix the login redirect loop"


def test_a_large_transcript_is_imported_in_slices(env: tuple[Path, Path, Store]) -> None:
    home, repo, store = env
    project = home / ".claude" / "projects" / claude_slug(repo)
    project.mkdir(parents=True)
    lines = _lines(CLAUDE_MAIN, repo)
    transcript = project / f"{MAIN_ID}.jsonl"
    transcript.write_text("".join(lines * 1000), encoding="utf-8")  # over 5,000 lines
    live = _live(store, repo, home)
    live.mark_existing(next(r for r in live.roots if r.path == project))
    slices = _drain(live)
    assert slices > 1  # the owner thread is given back between slices


def test_codex_rollouts_of_other_folders_are_ignored(
    env: tuple[Path, Path, Store], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, repo, store = env
    codex_home = tmp_path / "codex"
    monkeypatch.setenv("CODEX_HOME", str(codex_home))
    day = codex_home / "sessions" / "2025" / "09" / "14"
    day.mkdir(parents=True)
    live = _live(store, repo, home, providers=("codex",))
    (root,) = live.roots
    other = day / "rollout-2025-09-14T09-00-00-other.jsonl"
    shutil.copy(CODEX_MAIN, other)  # /home/u/api
    mine = day / CODEX_MAIN.name
    mine.write_text("".join(_lines(CODEX_MAIN, repo)), encoding="utf-8")
    live.mark(root, other)
    live.mark(root, mine)
    _drain(live)
    items = store.sessions.list(limit=10).items
    assert len(items) == 1 and items[0].boundary.worktree == str(repo)


def test_existing_amplifier_sessions_are_found(env: tuple[Path, Path, Store]) -> None:
    home, repo, store = env
    sessions = home / ".amplifier" / "projects" / amplifier_slug(repo) / "sessions"
    target = sessions / AMP_SESSION.name
    shutil.copytree(AMP_SESSION, target)
    meta = target / "metadata.json"
    meta.write_text(meta.read_text("utf-8").replace("/home/u/app", str(repo)), "utf-8")
    live = _live(store, repo, home, providers=("amplifier",))
    (root,) = live.roots
    live.mark_existing(root)
    _drain(live)
    (session,) = store.sessions.list(limit=10).items
    assert session.boundary.provider == "amplifier" and session.event_count > 0
    # A change inside a session folder maps to the session folder.
    assert units_for(root, target / "transcript.jsonl") == [target]
    assert units_for(root, target / "other.txt") == []


def test_roots_and_lease_names(env: tuple[Path, Path, Store]) -> None:
    home, repo, _ = env
    roots = watch_roots(repo, home=home)
    # Every tool is watched but Aider, whose history lies inside the worktree (the server
    # watches that once; a second recursive watch would double every inotify watch).
    assert {r.provider for r in roots} == set(PROVIDERS) - {"aider"}
    assert not any(r.path == repo or repo.is_relative_to(r.path) for r in roots)
    # The tools' folders are watched before they exist.
    existing = [r.path for r in roots if r.path.is_relative_to(home) and r.path.exists()]
    assert existing == [], f"roots that should not exist yet: {existing}"
    assert lease_name("repo-a") != lease_name("repo-b")
