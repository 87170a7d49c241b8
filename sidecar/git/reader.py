"""The git reader: the only code that parses git state.

It runs on every branch switch and in an agent hook on every prompt, so the
common questions (where is the worktree, which branch, which commit, which
origin, who is the user, is a rebase running) are answered by reading files
in the git directory directly, not by spawning git:

* ``.git`` is a folder (main worktree) or a file ``gitdir: <path>`` (linked
  worktree, submodule); a linked worktree's git dir holds ``commondir``,
  the path of the git dir it shares refs, objects and config with.
* ``HEAD`` is ``ref: refs/heads/<branch>`` or a bare commit id (detached).
* A ref is a loose file under the common dir (``refs/heads/x``) or a line of
  ``packed-refs``; a loose file wins. HEAD, ``refs/bisect/*``,
  ``refs/worktree/*`` and ``refs/rewritten/*`` are per worktree.
* Config files are parsed by :mod:`sidecar.git.config`; when one uses
  ``include``/``includeIf`` (or config comes from ``git -c``), the reader
  asks ``git config`` instead, so the answer always matches git's.

Anything unexpected (a reftable repository, a malformed HEAD) falls back to
the ``git`` executable. Questions about history (ancestry, commit lists) always
use git; so does a repository's root commit, asked once per process per
repository (it never changes) and only when there is no origin.

Repository identity (see :attr:`GitState.repository_id`) travels with the
repository: the normalized origin URL, else ``root:<sha>`` of its first
commit, else (before the first commit) the main worktree's root path.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from sidecar.git.command import GitError, run_git
from sidecar.git.config import (
    ConfigSyntaxError,
    environment_overrides_config,
    parse_config,
    user_config_paths,
    uses_includes,
)

_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_PER_WORKTREE_PREFIXES = ("refs/bisect/", "refs/worktree/", "refs/rewritten/")
_MAX_SYMREF_DEPTH = 5
SHORT_SHA_LENGTH = 7
DEFAULT_COMMIT_LIMIT = 100


class GitOperation(StrEnum):
    """A multi-step git operation in progress in a worktree (drift prompts wait for it)."""

    REBASE = "rebase"
    MERGE = "merge"
    CHERRY_PICK = "cherry-pick"
    REVERT = "revert"
    BISECT = "bisect"
    AM = "am"


@dataclass(frozen=True, slots=True)
class GitState:
    """What git says about one worktree at one moment.

    Paths are absolute with symbolic links resolved, so two states compare
    equal exactly when git would answer the same; compare whole states to
    detect a change (git may rewrite HEAD with identical content).
    """

    worktree: str
    """Root folder of the worktree."""
    git_dir: str
    """This worktree's own git dir (``.git``, or ``.git/worktrees/<name>`` for a linked one)."""
    common_dir: str
    """The git dir shared by all worktrees of the repository (refs, objects, config)."""
    branch: str | None
    """Checked-out branch name (also for an unborn branch); None when detached."""
    head_sha: str | None
    """Commit HEAD points at; None on an unborn branch (no commit yet)."""
    detached: bool
    origin_url: str | None
    """``remote.origin.url`` exactly as configured."""
    repository_id: str
    """Normalized origin URL, else ``root:<sha>`` of the first commit (see
    :func:`root_commit`), else (no commit yet) the main worktree's root path."""
    repository_path: str
    """The main worktree's root path: where the repository is now (a hint, not its id)."""
    user_email: str | None
    """``git config user.email`` (all levels), None when unset or empty."""
    operation: GitOperation | None
    """The rebase/merge/cherry-pick/revert/bisect/am in progress, if any."""
    operation_branch: str | None
    """The branch a rebase or bisect started from (HEAD is detached meanwhile)."""
    is_linked_worktree: bool

    @property
    def branch_label(self) -> str:
        """The branch name, or ``detached@<7-char sha>`` when HEAD is detached."""
        if self.branch is not None:
            return self.branch
        if self.head_sha:
            return f"detached@{self.head_sha[:SHORT_SHA_LENGTH]}"
        return "detached@unknown"


@dataclass(frozen=True, slots=True)
class NotARepository:
    """Why a path has no git state; ``reason`` is a sentence to show a person."""

    path: str
    reason: str


class _NeedsGit(Exception):
    """File parsing met something only git itself can answer."""


# --------------------------------------------------------------------------- discovery


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _is_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _existing_folder(path: str) -> str:
    """``path`` if it is a folder, else its nearest existing ancestor folder."""
    current = path
    while True:
        try:
            if stat.S_ISDIR(os.stat(current).st_mode):
                return current
        except OSError:
            pass
        parent = os.path.dirname(current)
        if parent == current:
            return current
        current = parent


def _gitfile_target(dotgit: str) -> str | None:
    """The git dir named by a ``.git`` file (``gitdir: <path>``), resolved."""
    content = _read_text(dotgit)
    if content is None or not content.startswith("gitdir:"):
        return None
    target = content[len("gitdir:") :].strip()
    if not target:
        return None
    return os.path.realpath(os.path.join(os.path.dirname(dotgit), target))


def _discover(path: str | os.PathLike[str]) -> tuple[str, str] | NotARepository:
    """Walk up from ``path`` to ``(worktree root, git dir)``, like git's discovery."""
    start = os.path.realpath(os.fspath(path))
    current = _existing_folder(start)
    if not os.path.isdir(current):
        return NotARepository(str(path), f"{path} does not exist")
    while True:
        dotgit = os.path.join(current, ".git")
        try:
            mode = os.stat(dotgit).st_mode
        except OSError:
            mode = 0
        if stat.S_ISDIR(mode) and _is_file(os.path.join(dotgit, "HEAD")):
            return current, dotgit
        if stat.S_ISREG(mode):
            target = _gitfile_target(dotgit)
            if target is None:
                return NotARepository(
                    str(path), f"{dotgit} is not a valid .git file (expected `gitdir: <path>`)"
                )
            if not _is_file(os.path.join(target, "HEAD")):
                return NotARepository(
                    str(path),
                    f"{dotgit} points to {target}, which is not a git directory; "
                    "if this worktree was moved, run `git worktree repair`",
                )
            return current, target
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    if _looks_bare(start):
        return NotARepository(str(path), f"{path} is a bare git repository (no working tree)")
    return NotARepository(
        str(path), f"{path} is not inside a git repository (no .git in it or any parent folder)"
    )


def _looks_bare(folder: str) -> bool:
    return all(os.path.exists(os.path.join(folder, name)) for name in ("HEAD", "objects", "refs"))


def find_worktree_root(path: str | os.PathLike[str]) -> Path | None:
    """The root folder of the git worktree containing ``path`` (a folder or file), or None.

    >>> find_worktree_root("/")  # doctest: +SKIP
    """
    found = _discover(path)
    return None if isinstance(found, NotARepository) else Path(found[0])


def _common_dir(git_dir: str) -> str:
    content = _read_text(os.path.join(git_dir, "commondir"))
    if content is None or not content.strip():
        return git_dir
    return os.path.realpath(os.path.join(git_dir, content.strip()))


# --------------------------------------------------------------------------- refs

# packed-refs can hold thousands of tags: parse it once per (inode, size, mtime).
_packed_cache: dict[str, tuple[tuple[int, int, int], dict[str, str]]] = {}


def _packed_refs(common_dir: str) -> dict[str, str]:
    path = os.path.join(common_dir, "packed-refs")
    try:
        st = os.stat(path)
    except OSError:
        return {}
    key = (st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _packed_cache.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    refs: dict[str, str] = {}
    for line in (_read_text(path) or "").splitlines():
        if not line or line[0] in "#^":  # header, or the peeled target of the tag above
            continue
        sha, _, name = line.partition(" ")
        if name:
            refs[name.strip()] = sha
    _packed_cache[path] = (key, refs)
    return refs


def _ref_base(git_dir: str, common_dir: str, name: str) -> str:
    if "/" not in name or name.startswith(_PER_WORKTREE_PREFIXES):
        return git_dir
    return common_dir


def _resolve_ref(git_dir: str, common_dir: str, name: str) -> str | None:
    """The commit id ``name`` (e.g. ``refs/heads/main``) points at, following symbolic refs."""
    for _ in range(_MAX_SYMREF_DEPTH):
        content = _read_text(os.path.join(_ref_base(git_dir, common_dir, name), name))
        if content is None or not content.strip():
            return _packed_refs(common_dir).get(name)
        content = content.strip()
        if content.startswith("ref:"):
            name = content[4:].strip()
            continue
        if _SHA.match(content):
            return content
        raise _NeedsGit(f"unreadable ref {name}")
    raise _NeedsGit(f"symbolic ref chain too long at {name}")


def _ref_exists(git_dir: str, common_dir: str, name: str) -> bool:
    try:
        return _resolve_ref(git_dir, common_dir, name) is not None
    except _NeedsGit:
        return False


def _read_head(git_dir: str, common_dir: str) -> tuple[str | None, str | None]:
    """``(branch, head sha)`` from HEAD; branch None means detached."""
    content = (_read_text(os.path.join(git_dir, "HEAD")) or "").strip()
    if content.startswith("ref:"):
        target = content[4:].strip()
        # A reftable repository keeps a placeholder HEAD for old tools: ask git.
        if target == "refs/heads/.invalid" or not target.startswith("refs/heads/"):
            raise _NeedsGit("HEAD is not a plain branch reference")
        return target[len("refs/heads/") :], _resolve_ref(git_dir, common_dir, target)
    if _SHA.match(content):
        return None, content
    raise _NeedsGit("HEAD is neither a branch reference nor a commit id")


def _read_head_with_git(worktree: str) -> tuple[str | None, str | None]:
    symbolic = run_git(worktree, "symbolic-ref", "-q", "HEAD", ok_codes=(0, 1))
    branch = (
        symbolic.stdout.strip().removeprefix("refs/heads/") if symbolic.returncode == 0 else None
    )
    verify = run_git(worktree, "rev-parse", "-q", "--verify", "HEAD^{commit}", ok_codes=(0, 1))
    sha = verify.stdout.strip() if verify.returncode == 0 else None
    return branch or None, sha or None


# --------------------------------------------------------------------------- operations


def _operation(git_dir: str) -> tuple[GitOperation | None, str | None]:
    """The operation in progress in this worktree's git dir and the branch it started from."""
    for folder in ("rebase-merge", "rebase-apply"):
        base = os.path.join(git_dir, folder)
        if os.path.isdir(base):
            if folder == "rebase-apply" and os.path.exists(os.path.join(base, "applying")):
                return GitOperation.AM, None
            head_name = (_read_text(os.path.join(base, "head-name")) or "").strip()
            branch = (
                head_name.removeprefix("refs/heads/") if head_name.startswith("refs/") else None
            )
            return GitOperation.REBASE, branch
    if os.path.exists(os.path.join(git_dir, "MERGE_HEAD")):
        return GitOperation.MERGE, None
    if os.path.exists(os.path.join(git_dir, "CHERRY_PICK_HEAD")):
        return GitOperation.CHERRY_PICK, None
    if os.path.exists(os.path.join(git_dir, "REVERT_HEAD")):
        return GitOperation.REVERT, None
    if os.path.exists(os.path.join(git_dir, "BISECT_LOG")):
        start = (_read_text(os.path.join(git_dir, "BISECT_START")) or "").strip()
        return GitOperation.BISECT, (start if start and not _SHA.match(start) else None)
    return None, None


# --------------------------------------------------------------------------- config


def _read_config_file(path: str) -> list[tuple[str, str]]:
    text = _read_text(path)
    if text is None:
        return []
    entries = parse_config(text)
    if uses_includes(entries):
        raise _NeedsGit(f"{path} includes other files")
    return entries


def _config_values(git_dir: str, common_dir: str, keys: tuple[str, ...]) -> dict[str, str]:
    """The effective value (last one wins) of each key, across system, global, local, worktree."""
    env = os.environ
    if environment_overrides_config(env):
        raise _NeedsGit("configuration comes from the environment")
    try:
        layers = [_read_config_file(path) for path in user_config_paths(env)]
        local = _read_config_file(os.path.join(common_dir, "config"))
        layers.append(local)
        if any(
            k == "extensions.worktreeconfig" and v.lower() in {"true", "yes", "on", "1"}
            for k, v in local
        ):
            layers.append(_read_config_file(os.path.join(git_dir, "config.worktree")))
    except (ConfigSyntaxError, PermissionError) as exc:
        raise _NeedsGit(str(exc)) from exc
    found: dict[str, str] = {}
    for entries in layers:
        for name, value in entries:
            if name in keys:
                found[name] = value
    return found


def _config_values_with_git(worktree: str, keys: tuple[str, ...]) -> dict[str, str]:
    pattern = "^(" + "|".join(re.escape(k) for k in keys) + ")$"
    proc = run_git(worktree, "config", "-z", "--get-regexp", pattern, ok_codes=(0, 1))
    found: dict[str, str] = {}
    for record in proc.stdout.split("\0"):
        if record:
            name, _, value = record.partition("\n")
            found[name] = value
    return found


# --------------------------------------------------------------------------- state


def normalize_origin_url(url: str) -> str:
    """A stable repository id from a remote URL: ``host/path``, lower case, no credentials.

    All spellings of one remote give the same id: scp-like (``git@host:org/repo.git``),
    ``ssh://``, ``git://``, ``http(s)://`` with or without user, token or port, with or
    without ``.git`` and trailing slashes. The path is lower-cased too, because the
    big hosts (GitHub, GitLab, Bitbucket, Azure DevOps) treat it case-insensitively and
    people clone with whatever case they typed. Azure DevOps' ssh and https forms map
    to one id. A local path (or ``file://`` URL) keeps its case and only loses the
    trailing ``/`` and ``.git``.

    >>> normalize_origin_url("git@github.com:Org/Repo.git")
    'github.com/org/repo'
    >>> normalize_origin_url("https://user:token@GitHub.com/org/repo/")
    'github.com/org/repo'
    """
    raw = url.strip()
    if not raw:
        return ""
    if "://" in raw:
        parts = urlsplit(raw)
        if parts.scheme.lower() == "file":
            return _strip_repo_suffix(parts.path or raw)
        host = (parts.hostname or "").lower()
        path = parts.path
    else:
        scp = re.match(r"^(?:[^@/]+@)?(\[[^\]]+\]|[^:/]+):(.*)$", raw)
        if scp is None or len(scp.group(1)) == 1:  # a local path, or a Windows drive `C:`
            return _strip_repo_suffix(raw)
        host = scp.group(1).strip("[]").lower()
        path = scp.group(2)
    path = "/".join(segment for segment in path.split("/") if segment)
    path = _strip_repo_suffix(path).lower()
    if host == "ssh.dev.azure.com" and path.startswith("v3/"):
        host, path = "dev.azure.com", path[len("v3/") :]
    elif host == "dev.azure.com" and "/_git/" in path:
        path = path.replace("/_git/", "/", 1)
    return f"{host}/{path}" if path else host


def _strip_repo_suffix(path: str) -> str:
    path = path.rstrip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")].rstrip("/")
    return path or "/"


#: Repository ids taken from a root commit: ``root:<sha>``.
ROOT_PREFIX = "root:"

#: Root commits found, per common dir (and its inode, in case the folder is replaced).
_ROOTS: dict[tuple[str, int], str] = {}


def root_commit(worktree: str, git_dir: str, common_dir: str) -> str | None:
    """The repository's first commit, or None before there is one.

    Followed along first parents from ``main`` or ``master`` when such a branch
    exists, else from HEAD, so merging another history in, or the branch that
    happens to be checked out, does not change it. Remembered per process: one
    ``git`` call per repository.
    """
    try:
        key = (common_dir, os.stat(common_dir).st_ino)
    except OSError:
        return None
    found = _ROOTS.get(key)
    if found is not None:
        return found
    start = "HEAD"
    for name in ("main", "master"):
        if _ref_exists(git_dir, common_dir, f"refs/heads/{name}"):
            start = f"refs/heads/{name}"
            break
    proc = run_git(
        worktree, "rev-list", "--first-parent", "--max-parents=0", start, "--", ok_codes=(0, 128)
    )
    roots = proc.stdout.split()
    if proc.returncode != 0 or not roots or not _SHA.match(roots[-1]):
        return None  # unborn: no commit yet (not remembered: the first one is coming)
    _ROOTS[key] = roots[-1]
    return roots[-1]


def _main_worktree_root(common_dir: str, local_config: dict[str, str]) -> str:
    if os.path.basename(common_dir) == ".git":
        return os.path.dirname(common_dir)
    configured = local_config.get("core.worktree")
    if configured:  # submodules and `--separate-git-dir` repositories
        return os.path.realpath(os.path.join(common_dir, configured))
    return common_dir


def locate(path: str | os.PathLike[str]) -> GitState | NotARepository:
    """The git state of the worktree containing ``path``, or why there is none.

    >>> locate("/").reason  # doctest: +SKIP
    '/ is not inside a git repository (no .git in it or any parent folder)'
    """
    found = _discover(path)
    if isinstance(found, NotARepository):
        return found
    worktree, git_dir = found
    common_dir = _common_dir(git_dir)
    keys = ("remote.origin.url", "user.email", "core.worktree")
    try:
        branch, head_sha = _read_head(git_dir, common_dir)
    except _NeedsGit:
        branch, head_sha = _read_head_with_git(worktree)
    try:
        config = _config_values(git_dir, common_dir, keys)
    except _NeedsGit:
        config = _config_values_with_git(worktree, keys)
    operation, operation_branch = _operation(git_dir)
    origin_url = config.get("remote.origin.url") or None
    repository_path = _main_worktree_root(common_dir, config)
    if origin_url:
        repository_id = normalize_origin_url(origin_url)
    else:
        root = root_commit(worktree, git_dir, common_dir)
        repository_id = ROOT_PREFIX + root if root else repository_path
    return GitState(
        worktree=worktree,
        git_dir=git_dir,
        common_dir=common_dir,
        branch=branch,
        head_sha=head_sha,
        detached=branch is None,
        origin_url=origin_url,
        repository_id=repository_id,
        repository_path=repository_path,
        user_email=config.get("user.email") or None,
        operation=operation,
        operation_branch=operation_branch,
        is_linked_worktree=git_dir != common_dir,
    )


def read_git_state(path: str | os.PathLike[str]) -> GitState | None:
    """The git state of the worktree containing ``path``; None outside a git repository.

    Use :func:`locate` instead when the caller must tell the user why. Raises
    GitError only when git itself cannot read the repository (e.g. a malformed
    config file), because guessing would silently change the session boundary.
    """
    state = locate(path)
    return state if isinstance(state, GitState) else None


def describe_location(path: str | os.PathLike[str]) -> str:
    """One sentence for people: where ``path`` is in git terms, or why it is not in git."""
    state = locate(path)
    if isinstance(state, NotARepository):
        return state.reason
    kind = "linked worktree" if state.is_linked_worktree else "worktree"
    text = f"{kind} {state.worktree} of {state.repository_id}, on {state.branch_label}"
    if state.operation is not None:
        text += f" ({state.operation.value} in progress)"
    return text


# --------------------------------------------------------------------------- history


def _require_state(repo: str | os.PathLike[str]) -> GitState:
    state = locate(repo)
    if isinstance(state, NotARepository):
        raise GitError(state.reason)
    return state


def is_ancestor(repo: str | os.PathLike[str], old_sha: str, new_sha: str) -> bool:
    """True when ``old_sha`` is ``new_sha`` or one of its ancestors (history only grew).

    False means history was rewritten (rebase, reset, amend). An ``old_sha`` the
    repository no longer has also counts as rewritten: only a rewrite followed
    by garbage collection removes a commit. An unknown ``new_sha`` raises GitError.
    """
    proc = run_git(repo, "merge-base", "--is-ancestor", old_sha, new_sha, ok_codes=(0, 1, 128))
    if proc.returncode == 128:
        if not commit_exists(repo, old_sha) and commit_exists(repo, new_sha):
            return False
        run_git(repo, "merge-base", "--is-ancestor", old_sha, new_sha, ok_codes=(0, 1))
    return proc.returncode == 0


def commit_exists(repo: str | os.PathLike[str], sha: str) -> bool:
    """True when ``sha`` names a commit in the repository."""
    proc = run_git(repo, "cat-file", "-e", f"{sha}^{{commit}}", ok_codes=(0, 1, 128))
    return proc.returncode == 0


def commits_between(
    repo: str | os.PathLike[str],
    old_sha: str | None,
    new_sha: str,
    *,
    limit: int = DEFAULT_COMMIT_LIMIT,
) -> list[tuple[str, str]]:
    """``(sha, subject)`` of commits reachable from ``new_sha`` but not ``old_sha``, oldest first.

    At most ``limit`` commits: the newest ones when there are more. With
    ``old_sha`` None (a first commit on an unborn branch) all history of
    ``new_sha`` counts.
    """
    return [(c.sha, c.subject) for c in commit_log(repo, old_sha, new_sha, limit=limit)]


@dataclass(frozen=True)
class CommitInfo:
    """One commit as the history of a session records it."""

    sha: str
    subject: str
    author_email: str


def commit_log(
    repo: str | os.PathLike[str],
    old_sha: str | None,
    new_sha: str,
    *,
    limit: int = DEFAULT_COMMIT_LIMIT,
) -> list[CommitInfo]:
    """The commits of :func:`commits_between`, oldest first, with their author emails."""
    if limit <= 0:
        return []
    revs = [new_sha] if old_sha is None else [new_sha, f"^{old_sha}"]
    out = run_git(
        repo, "log", f"--max-count={limit}", "--format=%H%x00%ae%x00%s", *revs, "--"
    ).stdout
    commits = []
    for line in out.splitlines():
        sha, _, rest = line.partition("\0")
        email, _, subject = rest.partition("\0")
        if sha:
            commits.append(CommitInfo(sha=sha, subject=subject, author_email=email))
    commits.reverse()  # git lists newest first; --reverse would apply after the limit anyway
    return commits


def commit_subject(repo: str | os.PathLike[str], sha: str) -> str:
    """The subject line of commit ``sha``; GitError when there is no such commit."""
    return run_git(repo, "log", "-1", "--format=%s", f"{sha}^{{commit}}", "--").stdout.rstrip("\n")


def default_branch(repo: str | os.PathLike[str]) -> str | None:
    """The repository's default branch name.

    ``origin/HEAD`` when the clone knows it, else ``main`` or ``master`` when such
    a local branch exists, else the current branch (None when HEAD is detached).
    """
    state = _require_state(repo)
    git_dir, common_dir = state.git_dir, state.common_dir
    origin_head = (_read_text(os.path.join(common_dir, "refs/remotes/origin/HEAD")) or "").strip()
    if origin_head.startswith("ref: refs/remotes/origin/"):
        return origin_head[len("ref: refs/remotes/origin/") :]
    for name in ("main", "master"):
        if _ref_exists(git_dir, common_dir, f"refs/heads/{name}"):
            return name
    return state.branch


def resolve_branch(repo: str | os.PathLike[str], branch: str) -> str | None:
    """The ref of a branch name: ``refs/heads/<b>``, else ``refs/remotes/origin/<b>``, else None."""
    state = _require_state(repo)
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        if _ref_exists(state.git_dir, state.common_dir, ref):
            return ref
    return None
