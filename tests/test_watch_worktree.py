"""TreeWatch and the ignore matcher: real folders on both hub backends, bounded waits."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sidecar.watch.hub import WatchHub
from sidecar.watch.ignore import IgnoreMatcher, count_folders
from sidecar.watch.worktree import NEW_FOLDER_SCAN_LIMIT, TreeWatch
from tests.gitrepo import commit, git, make_repo
from tests.watchrig import BACKENDS, HubProbe, Recorder, open_hub, overflow_queue, write

StartTree = Callable[..., tuple[TreeWatch, Recorder[str]]]


@pytest.fixture(params=BACKENDS)
def hub(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[WatchHub]:
    with open_hub(monkeypatch, request.param) as hub:
        yield hub


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    root.mkdir()
    return root


@pytest.fixture
def watch(hub: WatchHub, root: Path) -> Iterator[StartTree]:
    started: list[TreeWatch] = []

    def start(**options: int) -> tuple[TreeWatch, Recorder[str]]:
        paths: Recorder[str] = Recorder()
        tree = TreeWatch(hub, root, paths, **options)  # type: ignore[arg-type]
        started.append(tree)
        assert tree.start() == "native"
        return tree, paths

    yield start
    for tree in started:
        tree.close()


def test_created_and_modified_files_are_reported_relative(
    root: Path, hub: WatchHub, watch: StartTree
) -> None:
    write(root, "src/old.py")
    _, paths = watch()
    write(root, "src/new.py")
    paths.wait_for("src/new.py")
    with (root / "src/old.py").open("a", encoding="utf-8") as file:
        file.write("more\n")
    paths.wait_for("src/old.py")
    assert all(not p.startswith("/") for p in paths.items)
    assert paths.threads == {hub.thread}


def test_deleted_and_renamed_files_are_reported(root: Path, watch: StartTree) -> None:
    write(root, "a.txt")
    write(root, "gone.txt")
    _, paths = watch()
    (root / "a.txt").rename(root / "b.txt")
    (root / "gone.txt").unlink()
    paths.wait_for("gone.txt")
    assert {"a.txt", "b.txt"} <= set(paths.wait_for("b.txt"))


def test_folders_themselves_are_not_reported(root: Path, watch: StartTree) -> None:
    _, paths = watch()
    (root / "empty").mkdir()
    (root / "empty").rmdir()
    write(root, "sentinel")
    assert set(paths.wait_for("sentinel")) == {"sentinel"}, "no folder is reported"


def test_ignored_subtrees_get_no_watch_and_send_nothing(root: Path, watch: StartTree) -> None:
    write(root, ".gitignore", "logs/\n*.log\n!keep.log\n")
    write(root, "logs/old.txt")
    write(root, "node_modules/pkg/lib/index.js")
    write(root, "src/__pycache__/m.pyc")
    tree, paths = watch()
    assert tree.watched_folders == {"", "src"}
    assert tree.folder_count == 2
    write(root, "logs/new.txt")
    write(root, "node_modules/pkg/new.js")
    write(root, "node_modules/top.js")
    write(root, "src/__pycache__/n.pyc")
    write(root, "debug.log")
    write(root, "keep.log")
    write(root, "sentinel.txt")
    reported = paths.wait_for("sentinel.txt")
    assert "keep.log" in reported
    assert not [p for p in reported if p.startswith(("logs", "node_modules", "src/", "debug"))]


def test_an_ignored_folder_created_later_gets_no_watch(root: Path, watch: StartTree) -> None:
    tree, paths = watch()
    write(root, "node_modules/pkg/index.js")
    write(root, "sentinel")
    paths.wait_for("sentinel")
    assert tree.watched_folders == {""}
    assert "node_modules/pkg/index.js" not in paths.items


def test_the_roots_git_folder_is_not_watched(tmp_path: Path, hub: WatchHub) -> None:
    repo = make_repo(tmp_path)
    paths: Recorder[str] = Recorder()
    tree = TreeWatch(hub, repo, paths)
    try:
        assert tree.start() == "native"
        assert tree.watched_folders == {""}
        commit(repo, "second", {"a.txt": "a\n"})
        git(repo, "branch", "feature/x")
        write(repo, "sentinel")
        reported = paths.wait_for("sentinel")
        assert not [p for p in reported if p.startswith(".git")]
    finally:
        tree.close()


def test_nested_gitignore_is_honoured(root: Path, watch: StartTree) -> None:
    write(root, "sub/.gitignore", "*.tmp\n")
    (root / "sub" / "deep").mkdir()
    _, paths = watch()
    write(root, "sub/deep/a.tmp")
    write(root, "sub/b.tmp")
    write(root, "top.tmp")  # the nested file does not apply above its folder
    write(root, "sub/deep/kept.txt")
    reported = paths.wait_for("sub/deep/kept.txt")
    paths.wait_for("top.tmp")
    assert not [p for p in reported if p.startswith("sub/") and p.endswith(".tmp")]


def test_a_changed_gitignore_applies_without_restart(root: Path, watch: StartTree) -> None:
    write(root, "a.gen")
    _, paths = watch()
    write(root, "a.gen", "changed\n")
    paths.wait_for("a.gen")
    write(root, ".gitignore", "*.gen\n")
    # Events of one folder arrive in order: once .gitignore's is in, so are the
    # late ones of the first write (a closed event after the modified one).
    paths.wait_for(".gitignore")
    paths.clear()
    write(root, "a.gen", "changed again\n")
    write(root, "b.gen")
    write(root, "sentinel.txt")
    assert set(paths.wait_for("sentinel.txt")) <= {".gitignore", "sentinel.txt"}


def test_a_folder_created_with_files_inside_is_watched_and_reported(
    root: Path, watch: StartTree
) -> None:
    tree, paths = watch()
    # Written faster than the watcher can add watches: the scan catches what events miss.
    write(root, "fresh/deeper/file.txt")
    write(root, "fresh/top.txt")
    paths.wait_for("fresh/deeper/file.txt")
    paths.wait_for("fresh/top.txt")
    assert {"fresh", "fresh/deeper"} <= tree.watched_folders
    write(root, "fresh/deeper/later.txt")
    paths.wait_for("fresh/deeper/later.txt")


def test_a_folder_moved_in_is_watched_and_its_files_reported(
    root: Path, tmp_path: Path, watch: StartTree
) -> None:
    outside = tmp_path / "outside"
    write(outside, "pkg/a.py")
    write(outside, "pkg/sub/b.py")
    write(outside, "pkg/node_modules/dep/x.js")
    tree, paths = watch()
    (outside / "pkg").rename(root / "pkg")
    paths.wait_until(lambda items: {"pkg/a.py", "pkg/sub/b.py"} <= set(items), "moved-in files")
    assert {"pkg", "pkg/sub"} <= tree.watched_folders
    assert not [f for f in tree.watched_folders if "node_modules" in f]
    write(root, "pkg/sub/c.py")
    paths.wait_for("pkg/sub/c.py")
    assert not [p for p in paths.items if "node_modules" in p]


def test_a_folder_moved_out_loses_its_watches(root: Path, tmp_path: Path, watch: StartTree) -> None:
    write(root, "pkg/sub/a.py")
    tree, paths = watch()
    assert {"pkg", "pkg/sub"} <= tree.watched_folders
    (root / "pkg").rename(tmp_path / "elsewhere")
    paths.wait_until(lambda items: "pkg" not in tree.watched_folders, "watches dropped")
    assert tree.watched_folders == {""}
    write(tmp_path, "elsewhere/sub/after.py")
    write(root, "sentinel")
    reported = paths.wait_for("sentinel")
    assert not [p for p in reported if "after.py" in p]


def test_a_folder_renamed_inside_the_tree_moves_its_watches(root: Path, watch: StartTree) -> None:
    write(root, "old/sub/a.py")
    tree, paths = watch()
    (root / "old").rename(root / "new")
    paths.wait_for("new/sub/a.py")
    paths.wait_until(lambda items: "old" not in tree.watched_folders, "old watches dropped")
    assert {"", "new", "new/sub"} == tree.watched_folders
    write(root, "new/sub/b.py")
    paths.wait_for("new/sub/b.py")
    assert not [p for p in paths.items if p.startswith("old/")]


def test_a_deleted_folder_loses_its_watches(root: Path, watch: StartTree) -> None:
    write(root, "pkg/sub/a.py")
    tree, paths = watch()
    shutil.rmtree(root / "pkg")
    paths.wait_until(lambda items: tree.watched_folders == {""}, "watches dropped")


def test_new_folder_scan_is_bounded(root: Path, tmp_path: Path, watch: StartTree) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for i in range(NEW_FOLDER_SCAN_LIMIT + 50):
        (many / f"f{i:05d}.txt").write_text("x")
    _, paths = watch()
    many.rename(root / "many")
    write(root, "sentinel")
    reported = paths.wait_for("sentinel")
    assert len([p for p in reported if p.startswith("many/")]) == NEW_FOLDER_SCAN_LIMIT


def test_over_budget_leaves_watching_to_the_editor(root: Path, hub: WatchHub) -> None:
    for i in range(30):
        (root / f"d{i}").mkdir()
    tree = TreeWatch(hub, root, lambda path: None, folder_budget=10)
    assert tree.start() == "editor"
    assert tree.start() == "editor"
    assert tree.mode == "editor"
    assert tree.watched_folders == set()
    assert tree.folder_count == 11
    assert hub.handle_count == 0
    tree.close()
    roomy = TreeWatch(hub, root, lambda path: None, folder_budget=31)
    try:
        assert roomy.start() == "native"
        assert roomy.folder_count == 31
    finally:
        roomy.close()


def test_closing_stops_reports(root: Path, hub: WatchHub, watch: StartTree) -> None:
    closed, closed_paths = watch()
    closed.close()
    closed.close()  # idempotent
    assert closed.watched_folders == set()
    _, live = watch()
    write(root, "after.txt")
    live.wait_for("after.txt")
    assert closed_paths.items == []


def test_a_failing_callback_does_not_end_watching(root: Path, hub: WatchHub) -> None:
    paths: Recorder[str] = Recorder()

    def flaky(path: str) -> None:
        paths(path)
        raise RuntimeError("consumer bug")

    tree = TreeWatch(hub, root, flaky)
    try:
        tree.start()
        write(root, "one")
        paths.wait_for("one")
        write(root, "two")
        paths.wait_for("two")
    finally:
        tree.close()


@pytest.mark.parametrize("hub", ["inotify"], indirect=True)
def test_a_queue_overflow_rewalks_and_rearms(
    root: Path, tmp_path: Path, hub: WatchHub, watch: StartTree
) -> None:
    (root / "bulk").mkdir()
    tree, paths = watch()
    probe = HubProbe(hub, tmp_path / "probe")
    overflow_queue(hub, root / "bulk", tmp_path / "spare")
    probe.wait_overflow()
    # The folders whose events were lost are watched now.
    created = {f"bulk/{p.name}" for p in (root / "bulk").iterdir()}
    assert created <= tree.watched_folders
    last = max(created)
    write(root, f"{last}/late.txt")
    paths.wait_for(f"{last}/late.txt")


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


def test_git_init_in_a_watched_tree_is_not_reported(root: Path, watch: StartTree) -> None:
    _, paths = watch()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    write(root, "sentinel")
    assert not [p for p in paths.wait_for("sentinel") if p.startswith(".git")]


@pytest.mark.parametrize("hub", ["inotify"], indirect=True)
def test_a_big_tree_costs_a_table_entry_per_folder_not_an_object(
    tmp_path: Path, hub: WatchHub
) -> None:
    """Memory of the watch bookkeeping (Python allocations, not time): a tree of
    2,000 folders stays under 600 bytes per folder (per-folder handle objects,
    as before the compact tables, cost ~1,700)."""
    import gc
    import tracemalloc

    root = tmp_path / "big"
    for i in range(40):
        for j in range(50):
            (root / f"d{i:02}" / f"e{j:02}").mkdir(parents=True)
    tree = TreeWatch(hub, root, lambda path: None, matcher=IgnoreMatcher(root))
    folders = count_folders(root, limit=10_000)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        assert tree.start() == "native"
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        watched = tree.folder_count
    finally:
        tracemalloc.stop()
        tree.close()
    assert watched == folders == 2041
    assert grown / folders < 600, f"{grown / folders:.0f} bytes per watched folder"
