"""Reading a checkpoint back, end to end: which files changed since it and what a file
held then (what the editors' "Open Changes" shows), through the real server on a real
repository. Nothing is written: the working tree, the index and the refs stay as they are.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import stop_client
from tests.e2e.drifthelp import DriftClient, start_client
from tests.gitrepo import git, isolate_git_config

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def client(
    server_env: dict[str, str], home: Path, monkeypatch: pytest.MonkeyPatch, repo: Path
) -> AsyncIterator[DriftClient]:
    """A server watching ``repo``."""
    isolate_git_config(monkeypatch, home)
    client = await start_client([repo], server_env)
    yield client
    await stop_client(client)


async def _checkpoint(client: DriftClient, repo: Path, name: str) -> dict[str, Any]:
    started = await client.request("sidecar/sessions/start", {"folder": str(repo), "name": name})
    result = await client.request(
        "sidecar/checkpoints/create", {"sessionId": started["session"]["id"], "name": name}
    )
    return dict(result["checkpoint"])


def _tree_state(repo: Path) -> tuple[str, str, str]:
    return (
        git(repo, "status", "--porcelain", "--untracked-files=all"),
        git(repo, "rev-parse", "HEAD"),
        git(repo, "for-each-ref"),
    )


async def test_changes_since_a_snapshot_and_the_files_as_they_were(
    client: DriftClient, repo: Path
) -> None:
    (repo / "src" / "app.py").write_text("print('at the checkpoint')\n", encoding="utf-8")
    (repo / "notes.txt").write_text("an untracked idea\n", encoding="utf-8")
    checkpoint = await _checkpoint(client, repo, "before the refactor")
    assert checkpoint["snapshotSha"]

    # After the checkpoint: one file edited, one deleted, one added (untracked).
    (repo / "src" / "app.py").write_text("print('refactored')\n", encoding="utf-8")
    (repo / "notes.txt").unlink()
    (repo / "src" / "new.py").write_text("NEW = 1\n", encoding="utf-8")
    before = _tree_state(repo)

    changes = await client.request(
        "sidecar/checkpoints/changes", {"checkpointId": checkpoint["id"]}
    )
    assert changes["checkpoint"]["id"] == checkpoint["id"]
    assert Path(changes["worktree"]).resolve() == repo.resolve()
    assert sorted((f["path"], f["change"]) for f in changes["files"]) == [
        ("notes.txt", "deleted"),
        ("src/app.py", "modified"),
        ("src/new.py", "added"),
    ]

    app = await client.request(
        "sidecar/checkpoints/file", {"checkpointId": checkpoint["id"], "path": "src/app.py"}
    )
    assert app == {
        "path": "src/app.py",
        "exists": True,
        "binary": False,
        "content": "print('at the checkpoint')\n",
    }
    notes = await client.request(
        "sidecar/checkpoints/file", {"checkpointId": checkpoint["id"], "path": "notes.txt"}
    )
    assert notes["exists"] and notes["content"] == "an untracked idea\n"
    new = await client.request(
        "sidecar/checkpoints/file", {"checkpointId": checkpoint["id"], "path": "src/new.py"}
    )
    assert new["exists"] is False and new["content"] is None

    # Read-only: the files, the index, HEAD and the refs are as they were.
    assert _tree_state(repo) == before
    assert (repo / "src" / "app.py").read_text(encoding="utf-8") == "print('refactored')\n"


async def test_a_clean_checkpoint_compares_against_its_head(
    client: DriftClient, repo: Path
) -> None:
    checkpoint = await _checkpoint(client, repo, "clean")
    assert checkpoint["snapshotSha"] is None
    unchanged = await client.request(
        "sidecar/checkpoints/changes", {"checkpointId": checkpoint["id"]}
    )
    assert unchanged["files"] == []

    (repo / "README.md").write_text("# demo, edited\n", encoding="utf-8")
    changes = await client.request(
        "sidecar/checkpoints/changes", {"checkpointId": checkpoint["id"]}
    )
    assert changes["files"] == [{"path": "README.md", "change": "modified"}]
    readme = await client.request(
        "sidecar/checkpoints/file", {"checkpointId": checkpoint["id"], "path": "README.md"}
    )
    assert readme["content"] == "# demo\n"


async def test_binary_files_and_bad_paths(client: DriftClient, repo: Path) -> None:
    (repo / "logo.bin").write_bytes(b"\x89PNG\x00\x01\x02")
    checkpoint = await _checkpoint(client, repo, "with a binary")
    binary = await client.request(
        "sidecar/checkpoints/file", {"checkpointId": checkpoint["id"], "path": "logo.bin"}
    )
    assert binary == {"path": "logo.bin", "exists": True, "binary": True, "content": None}

    for bad in ("../outside.txt", "/etc/passwd", "src/../README.md"):
        with pytest.raises(JsonRpcException) as refused:
            await client.request(
                "sidecar/checkpoints/file", {"checkpointId": checkpoint["id"], "path": bad}
            )
        assert refused.value.code == -32602 and "not a path inside" in str(refused.value)

    with pytest.raises(JsonRpcException) as unknown:
        await client.request("sidecar/checkpoints/changes", {"checkpointId": "nope"})
    assert unknown.value.code == -32602 and "nope" in str(unknown.value)


async def test_a_same_size_edit_in_the_second_of_the_index_is_seen(
    client: DriftClient, repo: Path
) -> None:
    """Git trusts a file whose size and mtime match its index entry, except when the
    entry was written in the same second as the index ("racily clean"): then it reads
    the file. The sidecar hashes the working tree with a copy of the index, which must
    keep the index's mtime, or such an edit passes as unchanged."""
    checkpoint = await _checkpoint(client, repo, "clean")
    # Without ctime in the comparison (as on many file systems), size and mtime decide.
    git(repo, "config", "core.trustctime", "false")
    readme = repo / "README.md"
    stamp = readme.stat().st_mtime_ns
    readme.write_text("# DEMO\n", encoding="utf-8")  # the same size
    os.utime(readme, ns=(stamp, stamp))
    index = repo / ".git" / "index"
    os.utime(index, ns=(stamp, stamp))  # the index written in the entry's second
    changes = await client.request(
        "sidecar/checkpoints/changes", {"checkpointId": checkpoint["id"]}
    )
    assert changes["files"] == [{"path": "README.md", "change": "modified"}]
