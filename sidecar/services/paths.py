"""Folder and document locations as clients send them: ``file:`` URIs or plain paths."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit


def uri_to_path(uri_or_path: str) -> str | None:
    """The real filesystem path of a ``file:`` URI or a plain path; None for other schemes.

    >>> uri_to_path("untitled:Untitled-1") is None
    True
    """
    if "://" in uri_or_path or uri_or_path.startswith("file:"):
        parts = urlsplit(uri_or_path)
        if parts.scheme != "file":
            return None
        raw = unquote(parts.path)
    elif len(uri_or_path.split(":", 1)[0]) > 1 and ":" in uri_or_path.split("/", 1)[0]:
        return None  # another scheme without slashes (untitled:, git:); `C:` is a drive
    else:
        raw = uri_or_path
    if not raw or "\0" in raw:
        return None
    return os.path.realpath(os.path.expanduser(raw))


def path_to_uri(path: str) -> str:
    """A ``file:`` URI for an absolute path."""
    return Path(path).as_uri()
