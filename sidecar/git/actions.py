"""Git commands that change things: checkpoint snapshots and isolated branches.

Services call these; nothing here decides *when* to act.

Checkpoint snapshots
    A snapshot is a commit object whose tree is the whole working tree:
    tracked files as they are on disk (staged or not) *and* untracked files
    that are not ignored. It is built with a private, temporary index
    (``GIT_INDEX_FILE``), so the user's index, HEAD and branch are never
    touched. ``git stash create`` was not used because it leaves untracked
    files out, and those are often exactly what an agent just wrote. Ignored
    files (build output, ``.env``) are not captured. The commit is kept alive
    by the private ref ``refs/sidecar/checkpoints/<checkpoint id>``, which
    ``git gc`` honours and ``git push`` does not send (not under refs/heads
    or refs/tags).

    :func:`checkpoint_changes` and :func:`checkpoint_file` read a checkpoint
    back (what changed since, a file as it was) for the editors' diff views;
    they write no ref and touch no file (the working tree is hashed into a
    tree object with a private index, as a snapshot is).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from sidecar.git.command import GitError, git_output, run_git
from sidecar.git.reader import (
    GitState,
    NotARepository,
    default_branch,
    locate,
    resolve_branch,
)

__all__ = [
    "CHECKPOINT_REF_PREFIX",
    "MAX_FILE_BYTES",
    "GitError",
    "checkpoint_changes",
    "checkpoint_file",
    "checkpoint_ref",
    "create_checkpoint_snapshot",
    "create_isolated_branch",
    "delete_checkpoint_ref",
    "restore_checkpoint_snapshot",
]

CHECKPOINT_REF_PREFIX = "refs/sidecar/checkpoints/"
_CHECKPOINT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")

# Snapshot commits carry a fixed identity: they are the sidecar's objects, and a
# machine without user.name/user.email must still be able to create them.
_SNAPSHOT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Session Sidecar",
    "GIT_AUTHOR_EMAIL": "sidecar@localhost",
    "GIT_COMMITTER_NAME": "Session Sidecar",
    "GIT_COMMITTER_EMAIL": "sidecar@localhost",
}


def _state(path: str | os.PathLike[str]) -> GitState:
    state = locate(path)
    if isinstance(state, NotARepository):
        raise GitError(state.reason)
    return state


def checkpoint_ref(checkpoint_id: str) -> str:
    """The private ref that keeps a checkpoint's snapshot alive.

    >>> checkpoint_ref("01hx")
    'refs/sidecar/checkpoints/01hx'
    """
    if not _CHECKPOINT_ID.match(checkpoint_id):
        raise ValueError(
            f"checkpoint id {checkpoint_id!r} cannot be used in a git ref name: "
            "use 1-128 letters, digits, '-' or '_', starting with a letter or digit"
        )
    return CHECKPOINT_REF_PREFIX + checkpoint_id


def create_checkpoint_snapshot(
    worktree: str | os.PathLike[str], checkpoint_id: str
) -> tuple[str | None, str | None, str | None]:
    """Snapshot the working tree: ``(head sha, snapshot sha, ref)``.

    The snapshot holds tracked and untracked (non-ignored) files as they are on
    disk. When they equal HEAD's tree there is nothing to restore and the result
    is ``(head, None, None)``. HEAD, the branch and the user's index are unchanged.
    ``head sha`` is None on an unborn branch.
    """
    ref = checkpoint_ref(checkpoint_id)
    state = _state(worktree)
    root = state.worktree
    tree = _snapshot_tree(state)
    head = state.head_sha
    if head is not None and git_output(root, "rev-parse", f"{head}^{{tree}}") == tree:
        return head, None, None
    if head is None and not git_output(root, "ls-tree", tree):
        return None, None, None  # unborn branch and no files: nothing to restore
    parents = ["-p", head] if head is not None else []
    message = f"sidecar checkpoint {checkpoint_id}\n\non {state.branch_label}"
    snapshot = git_output(
        root, "commit-tree", tree, *parents, "-m", message, env=_SNAPSHOT_IDENTITY
    )
    run_git(root, "update-ref", "-m", f"sidecar: checkpoint {checkpoint_id}", ref, snapshot)
    return head, snapshot, ref


def _snapshot_tree(state: GitState) -> str:
    """Write the working tree (tracked + untracked, not ignored) as a tree object."""
    scratch = tempfile.mkdtemp(prefix="sidecar-index-")
    try:
        index = os.path.join(scratch, "index")
        real_index = os.path.join(state.git_dir, "index")
        # Starting from a copy of the real index lets `git add` reuse its cached
        # file stats instead of re-hashing every file. The copy keeps the index's
        # mtime: git re-reads the files changed in the same second as the index was
        # written ("racily clean" entries) only when it knows that time; a copy
        # stamped now would pass a same-size edit made in that second as unchanged.
        if os.path.exists(real_index):
            shutil.copy2(real_index, index)
        env = {"GIT_INDEX_FILE": index}
        run_git(state.worktree, "add", "--all", "--", ":/", env=env)
        return git_output(state.worktree, "write-tree", env=env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def restore_checkpoint_snapshot(worktree: str | os.PathLike[str], snapshot_sha: str) -> None:
    """Write the files of a snapshot back into the working tree.

    HEAD, the branch and the index do not move: afterwards ``git status`` shows
    the snapshot's content as unstaged changes (and its untracked files as
    untracked). Files the snapshot holds are overwritten with its content.
    Untracked files created after the checkpoint are left alone; tracked files
    (in the index) that the snapshot lacks are removed from the working tree,
    their content stays recoverable from the index or HEAD. Take a checkpoint
    first if the current files should be restorable too.
    """
    state = _state(worktree)
    run_git(state.worktree, "cat-file", "-e", f"{snapshot_sha}^{{commit}}")
    run_git(
        state.worktree,
        "restore",
        f"--source={snapshot_sha}",
        "--worktree",
        "--no-overlay",
        "--",
        ":/",
    )


#: Largest file :func:`checkpoint_file` returns (the diff editor is no place for more).
MAX_FILE_BYTES = 5 * 1024 * 1024

_CHANGE_LETTERS = {"A": "added", "D": "deleted", "M": "modified", "T": "modified"}
_SOURCE = re.compile(r"^[0-9a-f]{7,64}$")


def _source_tree(root: str, source_sha: str | None) -> str:
    """The tree of a checkpoint's source commit; the empty tree when it has none."""
    if source_sha is None:
        return git_output(root, "mktree")  # an unborn branch with no files: nothing
    if not _SOURCE.match(source_sha):
        raise GitError(f"not a commit id: {source_sha!r}")
    return git_output(root, "rev-parse", "--verify", "--quiet", f"{source_sha}^{{tree}}")


def checkpoint_changes(
    worktree: str | os.PathLike[str], source_sha: str | None
) -> tuple[str, list[tuple[str, str]]]:
    """What differs between a checkpoint's files and the working tree now.

    ``source_sha`` is the checkpoint's snapshot commit, or its HEAD when the
    tree was clean then (None: an unborn branch with no files). The working
    tree counts as a snapshot does: tracked and untracked, non-ignored files.
    Returns the worktree root and ``(change, path)`` pairs, paths relative to
    that root, ``change`` one of ``added`` (since the checkpoint), ``deleted``,
    ``modified``.
    """
    state = _state(worktree)
    root = state.worktree
    before = _source_tree(root, source_sha)
    now = _snapshot_tree(state)
    out = run_git(
        root, "diff-tree", "-r", "-z", "--no-renames", "--name-status", before, now
    ).stdout
    parts = out.split("\0")
    changes: list[tuple[str, str]] = []
    for letter, path in zip(parts[::2], parts[1::2], strict=False):
        if letter and path:
            changes.append((_CHANGE_LETTERS.get(letter[0], "modified"), path))
    return root, changes


def checkpoint_file(
    worktree: str | os.PathLike[str], source_sha: str | None, path: str
) -> tuple[str | None, bool]:
    """A file as a checkpoint holds it: ``(text, binary)``.

    ``text`` is None when the checkpoint has no such file, and for a binary
    file (``(None, True)``). A file larger than :data:`MAX_FILE_BYTES` is a
    :class:`GitError`. ``path`` is relative to the worktree root.
    """
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in path.split("/")):
        raise ValueError(f"not a path inside the repository: {path!r}")
    state = _state(worktree)
    root = state.worktree
    if source_sha is None:
        return None, False
    tree = _source_tree(root, source_sha)
    spec = f"{tree}:{path}"
    kind = run_git(root, "cat-file", "-t", spec, ok_codes=(0, 128)).stdout.strip()
    if kind != "blob":
        return None, False
    size = int(git_output(root, "cat-file", "-s", spec))
    if size > MAX_FILE_BYTES:
        raise GitError(f"{path} is {size} bytes at the checkpoint, more than {MAX_FILE_BYTES}")
    text = run_git(root, "cat-file", "blob", spec).stdout
    if "\0" in text:
        return None, True
    return text, False


def delete_checkpoint_ref(repo: str | os.PathLike[str], checkpoint_id: str) -> bool:
    """Drop a checkpoint's private ref so git may collect the snapshot; False if there was none."""
    ref = checkpoint_ref(checkpoint_id)
    state = _state(repo)
    exists = run_git(state.worktree, "show-ref", "--verify", "--quiet", ref, ok_codes=(0, 1))
    if exists.returncode != 0:
        return False
    run_git(state.worktree, "update-ref", "-d", ref)
    return True


def create_isolated_branch(
    repo: str | os.PathLike[str],
    name: str,
    *,
    base: str | None = None,
    worktree_path: str | os.PathLike[str] | None = None,
) -> tuple[str, Path]:
    """Create branch ``name`` from ``base`` (default: the default branch) for isolated work.

    Without ``worktree_path`` the current worktree switches to the new branch in
    place; that needs no staged or unstaged changes to tracked files (untracked
    files are allowed; git refuses if the switch would overwrite one) and no
    rebase/merge/... in progress. With ``worktree_path`` a linked worktree is
    created there and the current worktree is left as it is. A base that exists
    only on origin (``origin/<base>``) is used without setting up tracking.
    Returns ``(branch, worktree root)``.
    """
    state = _state(repo)
    root = state.worktree
    check = run_git(root, "check-ref-format", "--branch", name, ok_codes=(0, 1, 128))
    if check.returncode != 0:
        raise GitError(f"{name!r} is not a valid branch name; pick another name")
    if resolve_branch(root, name) == f"refs/heads/{name}":
        raise GitError(f"branch {name!r} already exists; pick another name or resume its session")
    start = _start_point(root, base)
    if worktree_path is None:
        if state.operation is not None:
            raise GitError(
                f"a {state.operation.value} is in progress in {root}; finish or abort it first"
            )
        dirty = git_output(root, "status", "--porcelain", "--untracked-files=no")
        if dirty:
            first = dirty.splitlines()[0].strip()
            raise GitError(
                f"{root} has uncommitted changes (e.g. {first}); commit or stash them, "
                "or create the branch in a new worktree instead"
            )
        run_git(root, "switch", "--no-track", "-c", name, start)
        return name, Path(root)
    target = Path(worktree_path).absolute()
    if target.exists() and any(target.iterdir()):
        raise GitError(f"{target} already exists and is not empty; choose another worktree folder")
    run_git(root, "worktree", "add", "--no-track", "-b", name, str(target), start)
    return name, target.resolve()


def _start_point(root: str, base: str | None) -> str:
    """The commit-ish to branch from: a branch name, else any revision git accepts."""
    chosen = base if base is not None else default_branch(root)
    if chosen is None:
        raise GitError(
            f"cannot tell the default branch of {root} (HEAD is detached and there is no "
            "main, master or origin/HEAD); pass a base"
        )
    ref = resolve_branch(root, chosen)
    if ref is not None:
        return ref
    verify = run_git(root, "rev-parse", "-q", "--verify", f"{chosen}^{{commit}}", ok_codes=(0, 1))
    if verify.returncode != 0:
        raise GitError(f"base {chosen!r} is neither a branch nor a commit in {root}")
    return verify.stdout.strip()
