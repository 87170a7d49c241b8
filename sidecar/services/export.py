"""Where an export may be written: inside a workspace folder or the system temp dir.

Exports are requested over JSON-RPC, so a path is untrusted input: writing
anywhere the user can write would let any client overwrite dotfiles. The
rule is an allow-list of roots, checked after resolving symbolic links.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from sidecar.services.errors import InvalidArgument


def allowed_roots(workspace_paths: Iterable[str]) -> list[Path]:
    """The folders exports may go to: the workspace folders and the temp dir."""
    roots = [Path(p).resolve() for p in workspace_paths]
    roots.append(Path(tempfile.gettempdir()).resolve())
    return roots


def check_export_path(path: str, roots: Iterable[Path]) -> Path:
    """The resolved target for ``path``, or InvalidArgument when it lies outside ``roots``.

    Relative paths are taken relative to the first root (the first workspace folder).
    """
    root_list = list(roots)
    raw = Path(os.path.expanduser(path))
    if not raw.is_absolute():
        raw = root_list[0] / raw
    target = raw.resolve()
    if not any(target == root or root in target.parents for root in root_list):
        allowed = ", ".join(str(r) for r in root_list)
        raise InvalidArgument(
            f"export path {path!r} is outside the allowed folders ({allowed}); "
            "export into a workspace folder or the temp dir"
        )
    if target.is_dir():
        raise InvalidArgument(f"export path {str(target)!r} is a folder; name a file")
    if not target.parent.is_dir():
        raise InvalidArgument(f"the folder of export path {str(target)!r} does not exist")
    return target


def write_export(target: Path, content: str) -> None:
    """Write ``content`` to ``target`` atomically (a reader never sees half a file)."""
    fd, tmp = tempfile.mkstemp(prefix=".sidecar-export-", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
