"""Live ingestion: real files appended under temp tool homes are imported as they grow."""

from __future__ import annotations

import json
import queue
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.importers.amplifier import project_slug as amplifier_slug
from sidecar.importers.claude_code import project_slug as claude_slug
from sidecar.agents.live import LiveImporter
from sidecar.store import Store
from tests.gitrepo import isolate_git_config, make_repo

pytestmark = pytest.mark.timeout(120)

FIXTURES = Path(__file__).parent / "fixtures" / "agents"
MAIN_ID = "11111111-1111-4111-8111-111111111111"
CLAUDE_MAIN = FIXTURES / "claude" / "projects" / "-home-u-app" / f"{MAIN_ID}.jsonl"
CODEX_MAIN = next((FIXTURES / "codex" / "sessions").rglob("rollout-*.jsonl"))
AMP_SESSION = (
    FIXTURES / "amplifier" / "projects" / "-home-u-app" / "sessions"
    / "5d6e7f80-1a2b-4c3d-9e8f-0a1b2c3d4e5f"
)  # fmt: skip
WAIT_S = 15.0


class Recorder:
    """Collects on_history_changed calls; ``next()`` waits for one."""

    def __init__(self) -> None:
        self.calls: queue.Queue[tuple[str, int, float]] = queue.Queue()

    def __call__(self, session_id: str, last_seq: int) -> None:
        self.calls.put((session_id, last_seq, time.monotonic()))

    def next(self) -> tuple[str, int, float]:
        try:
            return self.calls.get(timeout=WAIT_S)
        except queue.Empty:
            pytest.fail(f"no history change reported within {WAIT_S} s")


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path, Path]]:
    """(home, repo, db path)."""
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CODEX_HOME", raising=False)
    home = isolate_git_config(monkeypatch, tmp_path / "home")
    repo = make_repo(tmp_path)
    yield home, repo, tmp_path / "sessions.db"


def _lines(path: Path, repo: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    for old in ('"/home/u/app"', '"/home/u/api"'):
        text = text.replace(old, json.dumps(str(repo)))
    return text.splitlines(keepends=True)


def _start(home: Path, repo: Path, db: Path, recorder: Recorder, **kw: object) -> LiveImporter:
    live = LiveImporter(
        lambda: Store.open(db),
        repo,
        on_history_changed=recorder,
        home=home,
        **kw,  # type: ignore[arg-type]
    )
    live.start()
    return live


def test_claude_transcript_lines_are_imported_as_they_are_appended(
    env: tuple[Path, Path, Path],
) -> None:
    home, repo, db = env
    project = home / ".claude" / "projects" / claude_slug(repo)
    project.mkdir(parents=True)
    lines = _lines(CLAUDE_MAIN, repo)
    transcript = project / f"{MAIN_ID}.jsonl"
    recorder = Recorder()
    live = _start(home, repo, db, recorder)
    try:
        written = time.monotonic()
        transcript.write_text("".join(lines[:6]), encoding="utf-8")
        session_id, first_seq, seen = recorder.next()
        first_latency = seen - written
        assert first_seq > 0

        written = time.monotonic()
        with transcript.open("a", encoding="utf-8") as handle:
            handle.write("".join(lines[6:]))
        again_id, last_seq, seen = recorder.next()
        second_latency = seen - written
    finally:
        live.stop()
    assert again_id == session_id
    assert last_seq > first_seq
    with Store.open(db) as store:
        session = store.get_session(session_id)
        assert session.provider_ref == MAIN_ID
        assert store.last_seq(session_id) == last_seq
    # "Within a second" on an idle machine; generous here because CI machines are shared.
    assert max(first_latency, second_latency) < 5.0, (first_latency, second_latency)


def test_a_project_folder_created_later_is_picked_up(env: tuple[Path, Path, Path]) -> None:
    home, repo, db = env
    recorder = Recorder()
    live = _start(home, repo, db, recorder)
    try:
        project = home / ".claude" / "projects" / claude_slug(repo)
        project.mkdir(parents=True)
        (project / f"{MAIN_ID}.jsonl").write_text("".join(_lines(CLAUDE_MAIN, repo)), "utf-8")
        session_id, last_seq, _ = recorder.next()
    finally:
        live.stop()
    with Store.open(db) as store:
        assert store.last_seq(session_id) == last_seq > 0


def test_codex_rollouts_of_other_folders_are_ignored(
    env: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    home, repo, db = env
    codex_home = tmp_path / "codex"
    day = codex_home / "sessions" / "2025" / "09" / "14"
    day.mkdir(parents=True)
    recorder = Recorder()
    live = _start(home, repo, db, recorder, codex_home=codex_home, providers=("codex",))
    try:
        shutil.copy(CODEX_MAIN, day / "rollout-2025-09-14T09-00-00-other.jsonl")  # /home/u/api
        mine = day / CODEX_MAIN.name
        mine.write_text("".join(_lines(CODEX_MAIN, repo)), encoding="utf-8")
        session_id, _, _ = recorder.next()
        assert live.wait_idle(WAIT_S)
    finally:
        live.stop()
    assert recorder.calls.empty()
    with Store.open(db) as store:
        assert store.get_session(session_id).boundary.worktree == str(repo)
        assert len(store.list_sessions(limit=10).items) == 1


def test_existing_amplifier_sessions_are_imported_at_start(
    env: tuple[Path, Path, Path],
) -> None:
    home, repo, db = env
    sessions = home / ".amplifier" / "projects" / amplifier_slug(repo) / "sessions"
    target = sessions / AMP_SESSION.name
    shutil.copytree(AMP_SESSION, target)
    meta = target / "metadata.json"
    meta.write_text(meta.read_text("utf-8").replace("/home/u/app", str(repo)), "utf-8")
    recorder = Recorder()
    live = _start(home, repo, db, recorder, providers=("amplifier",))
    try:
        session_id, last_seq, _ = recorder.next()
    finally:
        live.stop()
    with Store.open(db) as store:
        session = store.get_session(session_id)
    assert session.boundary.provider == "amplifier"
    assert last_seq > 0


def test_without_initial_import_only_new_lines_count(env: tuple[Path, Path, Path]) -> None:
    home, repo, db = env
    project = home / ".claude" / "projects" / claude_slug(repo)
    project.mkdir(parents=True)
    (project / "old.jsonl").write_text("".join(_lines(CLAUDE_MAIN, repo)), encoding="utf-8")
    recorder = Recorder()
    live = _start(home, repo, db, recorder, initial_import=False)
    try:
        lines = _lines(CLAUDE_MAIN, repo)
        fresh = project / "22222222-2222-4222-8222-000000000000.jsonl"
        fresh.write_text(
            "".join(line.replace(MAIN_ID, fresh.stem) for line in lines), encoding="utf-8"
        )
        session_id, _, _ = recorder.next()
        assert live.wait_idle(WAIT_S)
    finally:
        live.stop()
    with Store.open(db) as store:
        assert store.get_session(session_id).provider_ref == fresh.stem
        assert store.find_by_provider_ref("claude-code", MAIN_ID) is None
