"""The SQLite session store: the only package that writes SQL."""

from sidecar.store.errors import (
    CorruptDatabase,
    DiskFullError,
    InvalidRequest,
    ReadOnlyError,
    StoreError,
    UnknownId,
    UnknownSession,
)
from sidecar.store.paths import default_db_path
from sidecar.store.store import Store

__all__ = [
    "CorruptDatabase",
    "DiskFullError",
    "InvalidRequest",
    "ReadOnlyError",
    "Store",
    "StoreError",
    "UnknownId",
    "UnknownSession",
    "default_db_path",
]
