"""Where an export may be written, and what it may replace (SPEC 11).

Exports are requested over JSON-RPC, so a path is untrusted input: a client
that could aim a write anywhere the user can write would overwrite dotfiles.
The rules:

- the folders are fixed by the server, not the request: the workspace folders
  of the first ``initialize`` (later folder changes do not add any) and the
  ``exports`` folder beside the database;
- the path is resolved, symbolic links included, and must stay inside one of
  them (a link pointing out is refused, as is ``..``);
- an existing file is replaced only if the sidecar wrote it as an export and
  it is unchanged since (the store remembers a digest of each export);
  anything else there is refused, never overwritten;
- without a path, the content is returned for the client to save through its
  own dialog.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from sidecar.services.errors import InvalidArgument
from sidecar.store import Store

#: The folder beside the database where exports may always go.
EXPORTS_FOLDER = "exports"
_WRITTEN_KEY = "export-written:"


def exports_dir(store: Store) -> Path:
    """The ``exports`` folder beside the database (private, like the database's folder)."""
    return Path(store.path).resolve().parent / EXPORTS_FOLDER


def allowed_roots(first_folders: Iterable[str], exports: Path) -> list[Path]:
    """The folders exports may go to: the first initialize's folders, then ``exports``."""
    roots = [Path(p).resolve() for p in first_folders]
    roots.append(exports.resolve())
    return roots


def check_export_path(path: str, roots: Iterable[Path], store: Store) -> Path:
    """The resolved target for ``path``, or InvalidArgument saying why it cannot be.

    Relative paths are taken relative to the first root (the first workspace
    folder, else the exports folder).
    """
    root_list = list(roots)
    raw = Path(os.path.expanduser(path))
    if not raw.is_absolute():
        raw = root_list[0] / raw
    if raw.parent == root_list[-1] and not raw.parent.exists():
        raw.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = raw.parent.resolve() / raw.name
    if not any(target == root or root in target.parents for root in root_list):
        allowed = ", ".join(str(r) for r in root_list)
        raise InvalidArgument(
            f"export path {path!r} is outside the allowed folders ({allowed}); export into "
            "a workspace folder or the exports folder, or omit the path and save the content"
        )
    if not target.parent.is_dir():
        raise InvalidArgument(f"the folder of export path {str(target)!r} does not exist")
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return target
    if stat.S_ISDIR(info.st_mode):
        raise InvalidArgument(f"export path {str(target)!r} is a folder; name a file")
    if not stat.S_ISREG(info.st_mode) or not _is_our_export(target, store):
        raise InvalidArgument(
            f"export path {str(target)!r} already exists and is not an export the sidecar "
            "wrote; exports never replace other files: choose a new name"
        )
    return target


def write_export(target: Path, content: str, store: Store) -> None:
    """Write ``content`` to ``target`` atomically and remember it as an export."""
    data = content.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=".sidecar-export-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    store.state.put(_WRITTEN_KEY + str(target), hashlib.sha256(data).hexdigest())


def _is_our_export(target: Path, store: Store) -> bool:
    remembered = store.state.get(_WRITTEN_KEY + str(target))
    if not isinstance(remembered, str):
        return False
    try:
        with open(target, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest() == remembered
    except OSError:
        return False
