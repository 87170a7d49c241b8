"""WorktreeWatcher and the ignore matcher: real folders, real inotify, bounded waits."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sidecar.watch.ignore import IgnoreMatcher, count_folders
from sidecar.watch.worktree import WorktreeWatcher, plan_watches

TIMEOUT_S = 5.0


class Batches:
    """Collects on_paths batches from the watcher; waits with a timeout."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self._cond = threading.Condition()

    def __call__(self, paths: list[str]) -> None:
        with self._cond:
            self.batches.append(paths)
            self._cond.notify_all()

    @property
    def paths(self) -> set[str]:
        with self._cond:
            return {p for batch in self.batches for p in batch}

    def wait_for(self, path: str, timeout: float = TIMEOUT_S) -> set[str]:
        """Wait until ``path`` was reported; returns every path reported so far."""
        with self._cond:
            seen = lambda: any(path in batch for batch in self.batches)  # noqa: E731
            if not self._cond.wait_for(seen, timeout):
                raise AssertionError(f"{path!r} not reported within {timeout} s: {self.batches}")
        return self.paths


def write(root: Path, rel: str, text: str = "x\n") -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def watch(tmp_path: Path) -> Iterator[Callable[..., tuple[WorktreeWatcher, Batches]]]:
    started: list[WorktreeWatcher] = []

    def start(**options: int | float) -> tuple[WorktreeWatcher, Batches]:
        batches = Batches()
        watcher = WorktreeWatcher(tmp_path, batches, coalesce_s=0.05, **options)  # type: ignore[arg-type]
        assert watcher.start() == "native"
        started.append(watcher)
        return watcher, batches

    yield start
    for watcher in started:
        watcher.stop()


def test_created_and_modified_files_are_reported_relative(
    tmp_path: Path, watch: Callable[..., tuple[WorktreeWatcher, Batches]]
) -> None:
    write(tmp_path, "src/old.py")
    _, batches = watch()
    write(tmp_path, "src/new.py")
    batches.wait_for("src/new.py")
    with (tmp_path / "src/old.py").open("a", encoding="utf-8") as file:
        file.write("more\n")
    batches.wait_for("src/old.py")
    assert all(not p.startswith("/") for p in batches.paths)


def test_deleted_and_renamed_files_are_reported(
    tmp_path: Path, watch: Callable[..., tuple[WorktreeWatcher, Batches]]
) -> None:
    write(tmp_path, "a.txt")
    write(tmp_path, "gone.txt")
    _, batches = watch()
    (tmp_path / "a.txt").rename(tmp_path / "b.txt")
    (tmp_path / "gone.txt").unlink()
    batches.wait_for("gone.txt")
    assert {"a.txt", "b.txt"} <= batches.wait_for("b.txt")


def test_gitignored_folder_and_node_modules_are_not_reported(
    tmp_path: Path, watch: Callable[..., tuple[WorktreeWatcher, Batches]]
) -> None:
    write(tmp_path, ".gitignore", "logs/\n*.log\n!keep.log\n")
    write(tmp_path, "logs/old.txt")
    write(tmp_path, "node_modules/pkg/index.js")
    watcher, batches = watch()
    # A heavy ignored folder is not watched at all, not merely filtered.
    assert "node_modules" not in watcher.watched_roots
    assert "" in watcher.watched_roots and not watcher.watched_roots[""]
    write(tmp_path, "logs/new.txt")
    write(tmp_path, "node_modules/pkg/new.js")
    write(tmp_path, "node_modules/top.js")
    write(tmp_path, "debug.log")
    write(tmp_path, "keep.log")
    write(tmp_path, "sentinel.txt")
    reported = batches.wait_for("sentinel.txt")
    assert "keep.log" in reported
    assert not [p for p in reported if p.startswith(("logs", "node_modules", "debug.log"))]


def test_nested_gitignore_is_honoured(
    tmp_path: Path, watch: Callable[..., tuple[WorktreeWatcher, Batches]]
) -> None:
    write(tmp_path, "sub/.gitignore", "*.tmp\n")
    _, batches = watch()
    write(tmp_path, "sub/deep/a.tmp")
    write(tmp_path, "sub/b.tmp")
    write(tmp_path, "top.tmp")  # the nested file does not apply above its folder
    write(tmp_path, "sub/deep/kept.txt")
    reported = batches.wait_for("sub/deep/kept.txt")
    batches.wait_for("top.tmp")
    assert not [p for p in reported if p.startswith("sub/") and p.endswith(".tmp")]


def test_changed_gitignore_applies_without_restart(
    tmp_path: Path, watch: Callable[..., tuple[WorktreeWatcher, Batches]]
) -> None:
    _, batches = watch()
    write(tmp_path, ".gitignore", "*.gen\n")
    batches.wait_for(".gitignore")
    write(tmp_path, "a.gen")
    write(tmp_path, "sentinel.txt")
    assert "a.gen" not in batches.wait_for("sentinel.txt")


def test_folder_created_beside_a_heavy_folder_is_followed(
    tmp_path: Path, watch: Callable[..., tuple[WorktreeWatcher, Batches]]
) -> None:
    write(tmp_path, "node_modules/pkg/index.js")
    watcher, batches = watch()
    assert watcher.watched_roots[""] is False  # root watched non-recursively
    (tmp_path / "fresh").mkdir()
    batches.wait_for("fresh")
    write(tmp_path, "fresh/deeper/file.txt")
    batches.wait_for("fresh/deeper/file.txt")
    assert watcher.watched_roots.get("fresh") is True


def test_stop_stops_reports(
    tmp_path: Path, watch: Callable[..., tuple[WorktreeWatcher, Batches]]
) -> None:
    stopped, stopped_batches = watch()
    stopped.stop()
    stopped.stop()
    assert not stopped.running
    _, live = watch()
    write(tmp_path, "after.txt")
    live.wait_for("after.txt")
    assert stopped_batches.batches == []


def test_plan_covers_tree_with_few_watches(tmp_path: Path) -> None:
    for rel in ["a/x", "a/y", "b/node_modules/p/q", "b/src", "c/__pycache__"]:
        (tmp_path / rel).mkdir(parents=True)
    plan = plan_watches(IgnoreMatcher(tmp_path), folder_budget=100)
    # node_modules has subfolders (heavy): its ancestors are split; __pycache__
    # is a leaf, cheap enough to stay inside c's recursive watch.
    assert sorted(plan.flat) == ["", "b"]
    assert sorted(plan.recursive) == ["a", "b/src", "c"]
    assert plan.folder_count == 7  # root, a, a/x, a/y, b, b/src, c
    assert not plan.over_budget


def test_over_budget_reports_editor_mode(tmp_path: Path) -> None:
    for i in range(30):
        (tmp_path / f"d{i}").mkdir()
    watcher = WorktreeWatcher(tmp_path, lambda paths: None, folder_budget=10)
    assert watcher.start() == "editor"
    assert watcher.start() == "editor"
    assert not watcher.running
    assert watcher.folder_count == 11
    watcher.stop()
    assert WorktreeWatcher(tmp_path, lambda paths: None, folder_budget=31).start() == "native"


def test_count_folders_stops_at_limit_and_honours_excludes(tmp_path: Path) -> None:
    for i in range(50):
        (tmp_path / "node_modules" / f"p{i}").mkdir(parents=True)
    (tmp_path / "ignored" / "a" / "b").mkdir(parents=True)
    (tmp_path / ".gitignore").write_text("ignored/\n", encoding="utf-8")
    for i in range(5):
        (tmp_path / "src" / f"m{i}").mkdir(parents=True)
    assert count_folders(tmp_path, limit=1000) == 7  # root, src, src/m0..m4
    assert count_folders(tmp_path, limit=3) == 4


@pytest.mark.parametrize(
    ("rel", "is_dir", "ignored"),
    [
        ("node_modules", True, True),
        ("a/b/node_modules/x.js", False, True),
        ("build", False, False),  # a *file* named like an excluded folder
        ("build", True, True),
        (".git", False, True),  # the .git file of a linked worktree
        ("src/app.py", False, False),
        ("out/x.js", False, True),
        ("src/out/x.js", False, False),  # /out is anchored at the root
        ("x.log", False, True),
        ("keep.log", False, False),
        ("sub/x.log", False, False),  # sub/.gitignore re-includes *.log below sub
        ("sub/cache/a", False, True),
        ("vault/key.pem", False, True),  # inside an ignored folder: no re-include
    ],
)
def test_ignore_matcher(tmp_path: Path, rel: str, is_dir: bool, ignored: bool) -> None:
    write(tmp_path, ".gitignore", "/out\n*.log\n!keep.log\nvault/\n")
    write(tmp_path, "sub/.gitignore", "!*.log\ncache/\n")
    write(tmp_path, "vault/.gitignore", "!*.pem\n")
    assert IgnoreMatcher(tmp_path).is_ignored(rel, is_dir=is_dir) is ignored


def test_info_exclude_counts_as_root_gitignore(tmp_path: Path) -> None:
    write(tmp_path, ".git/info/exclude", "secret.txt\n")
    matcher = IgnoreMatcher(tmp_path)
    assert matcher.is_ignored("secret.txt")
    assert not matcher.is_ignored("public.txt")


def test_the_roots_git_folder_does_not_split_the_root_into_many_watches(tmp_path: Path) -> None:
    # One watchdog thread per watch: a root split around .git would cost one per folder.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for i in range(30):
        (tmp_path / f"pkg{i}" / "sub").mkdir(parents=True)
    plan = plan_watches(IgnoreMatcher(tmp_path), 20_000)
    assert plan.recursive == [""]
    assert plan.flat == []
