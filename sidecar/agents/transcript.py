"""Reading an agent's transcript file from a hook, safely and cheaply (stdlib only)."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from typing import Any


def read_head(path: str, limit: int) -> bytes | None:
    """The first ``limit`` bytes of the regular file at ``path``; None for anything else.

    The path comes from the hook's input: a FIFO, a device or a socket there
    must not block or feed the hook (opened non-blocking, checked, refused),
    nor a file the user cannot read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_tail(path: str, limit: int) -> tuple[bytes, bool] | None:
    """The last ``limit`` bytes of the regular file at ``path`` and whether that is the whole
    file; None for anything else (opened and checked like :func:`read_head`)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        os.set_blocking(fd, True)
        start = max(0, info.st_size - limit)
        os.lseek(fd, start, os.SEEK_SET)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit), start == 0
    except OSError:
        return None
    finally:
        os.close(fd)


def transcript_size(path: str | None) -> int:
    """Size of the transcript file, -1 when unknown.

    It tells two identical prompts apart (the transcript grew in between)
    while a second run for the same hook call sees the same size.
    """
    if path is None:
        return -1
    try:
        return os.stat(path).st_size
    except OSError:
        return -1


def head_lines(
    path: str | None, marker: bytes, limit: int, max_lines: int | None = None
) -> Iterator[dict[str, Any] | None]:
    """The lines holding ``marker`` among the first ``limit`` bytes (and ``max_lines``
    lines) of the regular file at ``path``, parsed; None for one that is not a JSON object."""
    head = read_head(path, limit) if path is not None else None
    if head is None:
        return
    for raw in head.split(b"\n")[:max_lines]:
        if marker not in raw:
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            line = None
        yield line if isinstance(line, dict) else None


def branch_name(value: Any) -> str | None:
    """``value`` when it names a branch: ``HEAD`` (detached) and ``""`` (outside git) do not."""
    return value if isinstance(value, str) and value and value != "HEAD" else None


def dig(value: Any, *keys: str) -> Any:
    """``value[k1][k2]...`` through JSON objects; None where one is missing or not an object."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value
