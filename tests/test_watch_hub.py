"""WatchHub: real folders, both backends (inotify hub and the observer fallback)."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.watch.hub import BACKEND_ENV, WatchEvent, WatchHub, choose_backend
from tests.watchrig import (
    BACKENDS,
    TIMEOUT_S,
    HubProbe,
    Recorder,
    open_hub,
    overflow_queue,
    write,
)

inotify_only = pytest.mark.parametrize("hub", ["inotify"], indirect=True)


@pytest.fixture(params=BACKENDS)
def hub(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[WatchHub]:
    with open_hub(monkeypatch, request.param) as hub:
        yield hub


def seen(events: list[WatchEvent]) -> list[tuple[str, str, bool]]:
    """(kind, name, is_dir) of each event."""
    return [(e.kind, os.path.basename(e.path), e.is_dir) for e in events]


def has(name: str, kind: str | None = None) -> object:
    """A Recorder test: an event for entry ``name`` (of ``kind``) arrived."""

    def test(events: list[WatchEvent]) -> bool:
        return any(
            os.path.basename(e.path) == name and (kind is None or e.kind == kind) for e in events
        )

    return test


def test_entry_events_carry_absolute_paths_kinds_and_is_dir(hub: WatchHub, tmp_path: Path) -> None:
    events: Recorder[WatchEvent] = Recorder()
    hub.watch_folder(tmp_path, events)
    (tmp_path / "a.txt").write_text("one")
    with (tmp_path / "a.txt").open("a") as file:
        file.write("two")
    (tmp_path / "a.txt").rename(tmp_path / "b.txt")
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.txt").unlink()
    (tmp_path / "sub").rmdir()
    got = events.wait_until(has("sub", "deleted"), "sub deleted")

    assert all(e.path == str(tmp_path / os.path.basename(e.path)) for e in got)
    kinds = seen(got)
    expected = [
        ("created", "a.txt", False),
        ("modified", "a.txt", False),
        ("moved_from", "a.txt", False),
        ("moved_to", "b.txt", False),
        ("created", "sub", True),
        ("deleted", "b.txt", False),
        ("deleted", "sub", True),
    ]
    positions = [kinds.index(item) for item in expected]
    assert positions == sorted(positions), kinds
    assert events.threads == {hub.thread}


def test_the_watch_is_not_recursive(hub: WatchHub, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    events: Recorder[WatchEvent] = Recorder()
    hub.watch_folder(tmp_path, events)
    write(tmp_path, "sub/inner.txt")
    write(tmp_path, "sub/deeper/x.txt")
    write(tmp_path, "sentinel")
    got = events.wait_until(has("sentinel"), "sentinel")
    assert not [e for e in got if "sub" + os.sep in e.path]


def test_reading_and_listing_send_nothing(hub: WatchHub, tmp_path: Path) -> None:
    # No IN_OPEN / IN_ACCESS / IN_CLOSE_NOWRITE: a walk of the tree must not flood the queue.
    write(tmp_path, "old.txt", "content\n")
    events: Recorder[WatchEvent] = Recorder()
    hub.watch_folder(tmp_path, events)
    for _ in range(20):
        (tmp_path / "old.txt").read_text()
        os.listdir(tmp_path)
        os.stat(tmp_path / "old.txt")
    write(tmp_path, "sentinel")
    got = events.wait_until(has("sentinel", "modified"), "sentinel written")
    assert {os.path.basename(e.path) for e in got} == {"sentinel"}


def test_a_move_between_watched_folders(hub: WatchHub, tmp_path: Path) -> None:
    left, right = tmp_path / "left", tmp_path / "right"
    left.mkdir()
    right.mkdir()
    write(left, "f.txt")
    left_events: Recorder[WatchEvent] = Recorder()
    right_events: Recorder[WatchEvent] = Recorder()
    hub.watch_folder(left, left_events)
    hub.watch_folder(right, right_events)
    (left / "f.txt").rename(right / "f.txt")
    out = left_events.wait_until(has("f.txt"), "left side")
    into = right_events.wait_until(has("f.txt"), "right side")
    if hub.backend == "inotify":
        assert seen(out) == [("moved_from", "f.txt", False)]
        assert seen(into) == [("moved_to", "f.txt", False)]
    else:  # watchdog pairs moves per watch only: the fallback sees deleted + created
        assert seen(out) in ([("deleted", "f.txt", False)], [("moved_from", "f.txt", False)])
        assert seen(into) in ([("created", "f.txt", False)], [("moved_to", "f.txt", False)])


def test_several_handles_on_one_folder(hub: WatchHub, tmp_path: Path) -> None:
    first: Recorder[WatchEvent] = Recorder()
    second: Recorder[WatchEvent] = Recorder()
    handle = hub.watch_folder(tmp_path, first)
    hub.watch_folder(tmp_path, second)
    assert hub.handle_count == 2
    write(tmp_path, "both")
    first.wait_until(has("both"), "first handle")
    second.wait_until(has("both"), "second handle")

    handle.close()
    assert hub.handle_count == 1
    write(tmp_path, "after")
    second.wait_until(has("after"), "second handle after the first closed")
    assert not has("after")(first.items)


def test_closing_a_handle_stops_its_callbacks(hub: WatchHub, tmp_path: Path) -> None:
    closed: Recorder[WatchEvent] = Recorder()
    live: Recorder[WatchEvent] = Recorder()
    handle = hub.watch_folder(tmp_path, closed)
    handle.close()
    handle.close()  # idempotent
    assert handle.closed
    hub.watch_folder(tmp_path, live)
    write(tmp_path, "a")
    write(tmp_path, "b")
    live.wait_until(has("b"), "b")
    assert closed.items == []


def test_close_waits_for_a_running_callback(hub: WatchHub, tmp_path: Path) -> None:
    entered, release = threading.Event(), threading.Event()
    order: list[str] = []

    def slow(event: WatchEvent) -> None:
        entered.set()
        release.wait(TIMEOUT_S)
        order.append("callback done")

    handle = hub.watch_folder(tmp_path, slow)
    write(tmp_path, "go")
    assert entered.wait(TIMEOUT_S)

    def close() -> None:
        handle.close()
        order.append("closed")

    closer = threading.Thread(target=close)
    closer.start()
    closer.join(0.2)  # bounded: close must still be waiting for the callback
    assert closer.is_alive()
    release.set()
    closer.join(TIMEOUT_S)
    assert not closer.is_alive()
    assert order[:2] == ["callback done", "closed"]


def test_a_callback_may_close_its_own_handle(hub: WatchHub, tmp_path: Path) -> None:
    events: Recorder[WatchEvent] = Recorder()
    live: Recorder[WatchEvent] = Recorder()

    def once(event: WatchEvent) -> None:
        events(event)
        handle.close()  # on the hub thread: must not wait for itself

    handle = hub.watch_folder(tmp_path, once)
    hub.watch_folder(tmp_path, live)
    write(tmp_path, "first")
    write(tmp_path, "second")
    live.wait_until(has("second", "modified"), "second")
    assert len(events.items) == 1
    assert handle.closed


def test_a_failing_callback_does_not_stop_the_hub(hub: WatchHub, tmp_path: Path) -> None:
    events: Recorder[WatchEvent] = Recorder()

    def flaky(event: WatchEvent) -> None:
        events(event)
        raise RuntimeError("consumer bug")

    hub.watch_folder(tmp_path, flaky)
    write(tmp_path, "one")
    events.wait_until(has("one"), "one")
    write(tmp_path, "two")
    events.wait_until(has("two"), "two")
    assert hub.thread.is_alive()


def test_a_deleted_folder_ends_its_handle(hub: WatchHub, tmp_path: Path) -> None:
    folder = tmp_path / "doomed"
    write(folder, "f.txt")
    events: Recorder[WatchEvent] = Recorder()
    handle = hub.watch_folder(folder, events)
    shutil.rmtree(folder)
    got = events.wait_until(lambda items: any(e.kind == "folder_gone" for e in items), "gone")
    gone = [e for e in got if e.kind == "folder_gone"]
    assert gone == [WatchEvent(str(folder), "folder_gone", True)]
    assert handle.closed
    assert hub.handle_count == 0


@inotify_only
def test_a_moved_folder_ends_its_handle_but_not_one_opened_at_its_new_path(
    hub: WatchHub, tmp_path: Path
) -> None:
    # Both handles share the kernel watch of one inode: the second must not
    # take the first one's IN_MOVE_SELF for its own.
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    before: Recorder[WatchEvent] = Recorder()
    after: Recorder[WatchEvent] = Recorder()
    old_handle = hub.watch_folder(old, before)
    old.rename(new)
    new_handle = hub.watch_folder(new, after)
    before.wait_until(lambda items: any(e.kind == "folder_gone" for e in items), "gone")
    assert old_handle.closed
    write(new, "still.txt")
    got = after.wait_until(has("still.txt"), "event at the new path")
    assert not new_handle.closed
    assert all(e.path.startswith(str(new)) for e in got)
    assert "folder_gone" not in {e.kind for e in got}


def test_unwatchable_paths_raise_oserror_naming_the_path(hub: WatchHub, tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError, match="missing"):
        hub.watch_folder(missing, lambda event: None)
    a_file = write(tmp_path, "file.txt")
    with pytest.raises(NotADirectoryError, match=r"file\.txt"):
        hub.watch_folder(a_file, lambda event: None)
    assert hub.handle_count == 0


def test_a_symlinked_folder_is_watched_under_the_given_path(hub: WatchHub, tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    events: Recorder[WatchEvent] = Recorder()
    hub.watch_folder(link, events)
    write(real, "x.txt")
    got = events.wait_until(has("x.txt"), "x.txt")
    assert got[0].path == str(link / "x.txt")


def test_closing_the_hub_stops_its_thread_and_refuses_watches(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for backend in ("inotify", "observer") if choose_backend() == "inotify" else ("observer",):
        with open_hub(monkeypatch, backend) as hub:
            handle = hub.watch_folder(tmp_path, lambda event: None)
            thread = hub.thread
            assert thread.is_alive()
        assert hub.closed
        assert handle.closed
        thread.join(TIMEOUT_S)
        assert not thread.is_alive()
        with pytest.raises(RuntimeError):
            hub.watch_folder(tmp_path, lambda event: None)
        hub.close()  # idempotent


def test_the_shared_hub_is_one_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    hub = WatchHub.shared()
    try:
        assert WatchHub.shared() is hub
        assert hub.backend == choose_backend()
    finally:
        hub.close()
    again = WatchHub.shared()
    try:
        assert again is not hub  # a closed shared hub is replaced
    finally:
        again.close()


def test_the_backend_is_chosen_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BACKEND_ENV, "observer")
    assert choose_backend() == "observer"
    monkeypatch.setenv(BACKEND_ENV, "bogus")
    with pytest.raises(ValueError, match="bogus"):
        choose_backend()
    assert choose_backend("observer") == "observer"


@inotify_only
def test_a_queue_overflow_reaches_every_handle_once(hub: WatchHub, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    events: Recorder[WatchEvent] = Recorder()
    hub.watch_folder(busy, events)
    probe = HubProbe(hub, tmp_path / "probe")
    overflow_queue(hub, busy, tmp_path / "spare")
    probe.wait_overflow()
    assert hub.overflow_count == 1
    overflows = [e for e in events.items if e.kind == "overflow"]
    assert overflows == [WatchEvent(str(busy), "overflow", True)]


def test_a_folder_set_reports_by_key_and_forgets_a_gone_folder_first(
    hub: WatchHub, tmp_path: Path
) -> None:
    for rel in ("a", "a/b", "c"):
        (tmp_path / rel).mkdir()
    events: Recorder[tuple[str, WatchEvent]] = Recorder()
    keys_when_gone: list[list[str]] = []

    def on_event(key: str, event: WatchEvent) -> None:
        if event.kind == "folder_gone":
            keys_when_gone.append(folders.keys())
        events((key, event))

    folders = hub.folder_set(tmp_path, on_event)
    assert [folders.add(rel) for rel in ("", "a", "a/b", "c")] == [True] * 4
    assert folders.add("a") is False  # already watched
    assert len(folders) == 4 and hub.handle_count == 1
    write(tmp_path, "a/b/f.txt")
    got = events.wait_until(lambda items: any(k == "a/b" for k, _ in items), "a/b")
    assert ("a/b", WatchEvent(str(tmp_path / "a/b/f.txt"), "created", False)) in got
    shutil.rmtree(tmp_path / "c")
    events.wait_until(lambda items: any(e.kind == "folder_gone" for _, e in items), "c gone")
    assert keys_when_gone == [["", "a", "a/b"]]
    folders.discard(["a/b"])
    assert sorted(folders) == ["", "a"]
    folders.close()
    assert hub.handle_count == 0 and len(folders) == 0
    write(tmp_path, "a/after.txt")
    probe = HubProbe(hub, tmp_path / "probe")
    probe.sync()
    assert not any("after.txt" in e.path for _, e in events.items)


@inotify_only
def test_a_queue_overflow_reaches_a_folder_set_once(hub: WatchHub, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    for rel in ("x", "y", "z"):
        (busy / rel).mkdir(parents=True)
    events: Recorder[tuple[str, WatchEvent]] = Recorder()
    folders = hub.folder_set(busy, lambda key, event: events((key, event)))
    for rel in ("", "x", "y", "z"):
        folders.add(rel)
    probe = HubProbe(hub, tmp_path / "probe")
    overflow_queue(hub, busy, tmp_path / "spare")
    probe.wait_overflow()
    overflows = [item for item in events.items if item[1].kind == "overflow"]
    assert overflows == [("", WatchEvent(str(busy), "overflow", True))]
