"""Which branch HEAD was on at a past moment, from the HEAD reflog.

Some agents (Gemini CLI, opencode, Amplifier) record no branch with their
sessions. When the repository is still there, its HEAD reflog
(``<git dir>/logs/HEAD``) knows: every ``checkout: moving from A to B`` line is
a switch, with its time. :func:`parse_reflog` and :func:`branch_at` are pure
(text and a time in, an answer out); :func:`branch_at_time` reads the file.

The answer is an inference: a reflog can be expired or rewritten, and a
session may have run in a linked worktree whose own reflog is read then.
Callers mark the branch as inferred.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_LINE = re.compile(
    r"^(?P<old>[0-9a-f]+) (?P<new>[0-9a-f]+) .*?> (?P<epoch>\d+) [+-]\d{4}\t(?P<msg>.*)$"
)
_CHECKOUT = re.compile(r"^checkout: moving from (?P<src>.+) to (?P<dst>.+)$")
_RETURNING = re.compile(r"^rebase(?: -i)? \(finish\): returning to refs/heads/(?P<dst>.+)$")
_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
_REFLOG_LIMIT = 16 * 1024 * 1024
"""A larger reflog is read from its last bytes only."""


@dataclass(frozen=True)
class Move:
    """One change of the checked-out branch: at ``time``, from ``source`` to ``target``.

    A branch is a name; a detached HEAD is ``"detached"``.
    """

    time: datetime
    source: str
    target: str


def _label(ref: str) -> str:
    ref = ref.strip()
    ref = ref.removeprefix("refs/heads/")
    return "detached" if _SHA.match(ref) else ref


def parse_reflog(text: str) -> list[Move]:
    """The branch moves in a HEAD reflog's text, oldest first (other lines are left out).

    >>> moves = parse_reflog(
    ...     "0000 1111 A <a@x> 1700000000 +0000\\tcommit (initial): one\\n"
    ...     "1111 1111 A <a@x> 1700000100 +0000\\tcheckout: moving from main to feat\\n"
    ... )
    >>> [(m.source, m.target) for m in moves]
    [('main', 'feat')]
    """
    moves: list[Move] = []
    for raw in text.splitlines():
        match = _LINE.match(raw)
        if match is None:
            continue
        when = datetime.fromtimestamp(int(match.group("epoch")), UTC)
        message = match.group("msg")
        checkout = _CHECKOUT.match(message)
        if checkout is not None:
            moves.append(Move(when, _label(checkout["src"]), _label(checkout["dst"])))
            continue
        returning = _RETURNING.match(message)
        if returning is not None:
            moves.append(Move(when, "detached", _label(returning["dst"])))
    return moves


def branch_at(moves: list[Move], when: datetime, current: str | None = None) -> str | None:
    """The branch checked out at ``when``: the target of the last move before it, else
    the source of the first move after it, else ``current`` (HEAD never moved).

    >>> t = datetime(2025, 1, 1, tzinfo=UTC)
    >>> moves = [Move(t, "main", "feat")]
    >>> branch_at(moves, datetime(2024, 12, 31, tzinfo=UTC)), branch_at(moves, t)
    ('main', 'feat')
    """
    before = [m for m in moves if m.time <= when]
    if before:
        return before[-1].target
    if moves:
        return moves[0].source
    return current


def branch_at_time(worktree: str | Path, when: datetime) -> str | None:
    """The branch HEAD of the repository at ``worktree`` was on at ``when``.

    None when ``worktree`` is not in a git repository, the answer is a detached
    HEAD, or nothing can be told.
    """
    from sidecar.git.reader import GitState, locate

    state = locate(worktree)
    if not isinstance(state, GitState):
        return None
    path = Path(state.git_dir) / "logs" / "HEAD"
    try:
        with path.open("rb") as handle:
            size = path.stat().st_size
            handle.seek(max(0, size - _REFLOG_LIMIT))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        text = ""
    found = branch_at(parse_reflog(text), when, state.branch)
    return None if found in (None, "detached") else found
