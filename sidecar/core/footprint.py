"""Session footprints: which paths a session touched, and how far recent work strays.

A footprint maps worktree-relative POSIX paths to a weight accumulated from
events (a file change counts more than a tool call, which counts more than an
open file). Footprint *drift* compares a list of recently touched paths with
the footprint: when most recent activity lies outside it, the work has
probably wandered to another task. The score is explained in docs/policy.md.

Everything here is pure: strings in, numbers out, no file system access.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from sidecar.core.kinds import Appendable, EventKind, ReasonCode, Severity

if TYPE_CHECKING:
    from sidecar.core.models import Event, Reason

#: Weight an event adds to each path it names, by kind. Changing a file says
#: more about what a session is *for* than asking a tool about it, which says
#: more than merely opening it.
KIND_WEIGHTS: dict[EventKind, float] = {
    EventKind.FILE_CHANGE: 3.0,
    EventKind.TOOL_CALL: 2.0,
    EventKind.COMMIT: 2.0,
    EventKind.FILE_OPEN: 1.0,
}
#: Weight for paths named by any other kind of event (tool results, commands).
OTHER_KIND_WEIGHT = 0.5

#: Drift is reported when at least this share of recent activity lies outside.
DEFAULT_DRIFT_THRESHOLD = 0.7
#: Fewer recent paths than this are too little evidence to call drift.
DEFAULT_MIN_RECENT = 5

# Payload fields that name one path or a list of paths. `input`/`tool_input`
# hold tool-call arguments (Claude Code hooks use `tool_input`, transcripts
# use `input`); `uri` is what LSP editors send.
_SINGLE_FIELDS = ("path", "file", "file_path", "filePath", "notebook_path", "uri")
_LIST_FIELDS = ("paths", "files")
_TOOL_INPUT_FIELDS = ("input", "tool_input", "toolInput", "arguments")


@functools.lru_cache(maxsize=4096)  # pure; a session names the same few paths again and again
def normalize_path(raw: str, worktree: str | None) -> str | None:
    """A worktree-relative POSIX path for ``raw``, or None when it lies outside.

    Accepts absolute paths, paths relative to the worktree and ``file://`` URIs.
    Backslashes are read as separators (Windows clients). Paths inside ``.git``
    are ignored: they are git's bookkeeping, not the session's work.

    >>> normalize_path("/repo/src/a.py", "/repo")
    'src/a.py'
    >>> normalize_path("./src/../README.md", "/repo")
    'README.md'
    >>> normalize_path("/elsewhere/a.py", "/repo") is None
    True
    """
    text = raw.strip()
    if not text:
        return None
    if text.startswith("file:"):
        text = unquote(urlsplit(text).path)
        # file:///C:/x arrives as /C:/x; drop the slash before a drive letter.
        if len(text) > 2 and text[0] == "/" and text[2] == ":":
            text = text[1:]
    text = text.replace("\\", "/")
    if _is_absolute(text):
        if worktree is None:
            return None
        root = posixpath.normpath(worktree.replace("\\", "/"))
        full = posixpath.normpath(text)
        if _is_windows_drive(root):
            # Windows paths compare case-insensitively.
            root_cmp, full_cmp = root.lower(), full.lower()
        else:
            root_cmp, full_cmp = root, full
        if full_cmp == root_cmp:
            return None
        prefix = root_cmp.rstrip("/") + "/"
        if not full_cmp.startswith(prefix):
            return None
        relative = full[len(prefix) :]
    else:
        relative = posixpath.normpath(text)
    if relative in (".", "") or relative == ".." or relative.startswith("../"):
        return None
    if relative == ".git" or relative.startswith(".git/"):
        return None
    return relative


def _is_windows_drive(path: str) -> bool:
    return len(path) >= 2 and path[1] == ":" and path[0].isalpha()


def _is_absolute(path: str) -> bool:
    return path.startswith("/") or _is_windows_drive(path)


def _strings_in(value: Any) -> Iterable[str]:
    """Path strings held by a payload field: a string, or a list of strings/{path} objects."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                yield item
            elif isinstance(item, dict):
                for key in _SINGLE_FIELDS:
                    inner = item.get(key)
                    if isinstance(inner, str):
                        yield inner


def _raw_paths(payload: Mapping[str, Any]) -> Iterable[str]:
    for key in (*_SINGLE_FIELDS, *_LIST_FIELDS):
        if key in payload:
            yield from _strings_in(payload[key])
    for key in _TOOL_INPUT_FIELDS:
        tool_input = payload.get(key)
        if isinstance(tool_input, dict):
            for inner_key in (*_SINGLE_FIELDS, *_LIST_FIELDS):
                if inner_key in tool_input:
                    yield from _strings_in(tool_input[inner_key])


def paths_from_event(event: Appendable | Event, worktree: str | None) -> dict[str, float]:
    """The paths an event names, each with the weight its kind adds to a footprint.

    Reads ``path``, ``paths``, ``file``, ``files``, ``file_path`` and ``uri`` from
    the payload and from tool-call arguments (``input``/``tool_input``). A
    command's ``cwd`` is deliberately not counted: a directory says where a
    command ran, not which files the session works on. Paths outside
    ``worktree`` are dropped; with no worktree only relative paths are kept.

    >>> from sidecar.core.models import NewEvent
    >>> paths_from_event(NewEvent(kind="file_change", payload={"path": "/r/a.py"}), "/r")
    {'a.py': 3.0}
    """
    weight = KIND_WEIGHTS.get(event.kind, OTHER_KIND_WEIGHT)
    found: dict[str, float] = {}
    for raw in _raw_paths(event.payload):
        path = normalize_path(raw, worktree)
        if path is not None:
            # One event naming a path twice still touched it once.
            found[path] = weight
    return found


def merge_footprint(
    footprint: Mapping[str, float], additions: Mapping[str, float]
) -> dict[str, float]:
    """A new footprint with ``additions`` added to the weights of ``footprint``."""
    merged = dict(footprint)
    for path, weight in additions.items():
        merged[path] = merged.get(path, 0.0) + weight
    return merged


def _dirs(path: str) -> tuple[str, ...]:
    return tuple(path.split("/")[:-1])


class _FootprintIndex:
    """Footprint paths indexed by directory prefix, so each lookup costs O(depth)."""

    def __init__(self, footprint: Mapping[str, float]) -> None:
        self.paths = {path for path, weight in footprint.items() if weight > 0}
        # For every directory prefix: the smallest directory depth of a footprint
        # file under it. The closest file gives the highest affinity.
        self.min_depth: dict[tuple[str, ...], int] = {}
        for path in self.paths:
            dirs = _dirs(path)
            for length in range(1, len(dirs) + 1):
                prefix = dirs[:length]
                known = self.min_depth.get(prefix)
                if known is None or len(dirs) < known:
                    self.min_depth[prefix] = len(dirs)

    def affinity(self, path: str) -> float:
        """How much ``path`` belongs to the footprint, from 0 (unrelated) to 1 (inside)."""
        if path in self.paths:
            return 1.0
        dirs = _dirs(path)
        best = 0.0
        for shared in range(len(dirs), 0, -1):
            depth = self.min_depth.get(dirs[:shared])
            if depth is not None:
                best = max(best, shared / max(len(dirs), depth))
                if best == 1.0:
                    break
        return best


def footprint_affinity(footprint: Mapping[str, float], path: str) -> float:
    """Affinity of one path to a footprint: 1 inside, 0 unrelated, a fraction near it.

    A path touched by the session, or a file in the same directory as one,
    scores 1. Otherwise the score is the number of leading directories it
    shares with the closest footprint file, divided by the larger of the two
    directory depths: ``src/billing/x.py`` against ``src/auth/y.py`` shares one
    of two directories and scores 0.5. Files at the repository root share no
    directory, so they count only when touched themselves.

    >>> footprint_affinity({"src/auth/y.py": 1.0}, "src/billing/x.py")
    0.5
    """
    return _FootprintIndex(footprint).affinity(path)


def footprint_score(footprint: Mapping[str, float], recent_paths: Sequence[str]) -> float:
    """The share of recent activity outside the footprint, from 0 (all inside) to 1.

    Each entry of ``recent_paths`` is one unit of activity (repeat a path to
    count it more); the score is ``1 - mean(affinity)``. An empty footprint
    makes everything outside (score 1); no recent paths score 0.
    """
    return _score(_FootprintIndex(footprint), recent_paths)


def _score(index: _FootprintIndex, recent_paths: Sequence[str]) -> float:
    if not recent_paths:
        return 0.0
    inside = sum(index.affinity(path) for path in recent_paths)
    return 1.0 - inside / len(recent_paths)


def footprint_drift(
    footprint: Mapping[str, float],
    recent_paths: Sequence[str],
    threshold: float = DEFAULT_DRIFT_THRESHOLD,
    min_recent: int = DEFAULT_MIN_RECENT,
) -> Reason | None:
    """A medium ``footprint_drift`` reason when recent work lies mostly outside the footprint.

    Returns None when there is too little evidence: fewer than ``min_recent``
    recent paths, or an empty footprint (a new session has no scope to leave
    yet), or when the score stays below ``threshold``.
    """
    if len(recent_paths) < min_recent or not any(w > 0 for w in footprint.values()):
        return None
    index = _FootprintIndex(footprint)
    score = _score(index, recent_paths)
    if score < threshold:
        return None
    from sidecar.core.models import Reason  # only when there is something to say

    outside = sorted({p for p in recent_paths if index.affinity(p) == 0.0})
    return Reason(
        code=ReasonCode.FOOTPRINT_DRIFT,
        severity=Severity.MEDIUM,
        message=(
            f"{score:.0%} of recent activity lies outside the files this session worked on "
            f"(threshold {threshold:.0%})."
        ),
        evidence={
            "score": round(score, 3),
            "threshold": threshold,
            "recentCount": len(recent_paths),
            "outside": outside[:10],
            "footprintSize": len(index.paths),
        },
    )
