"""The SQLite session store: the only package that writes SQL."""

from sidecar.store.errors import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    CorruptDatabase,
    DiskFullError,
    InvalidRequest,
    PayloadTooLarge,
    ReadOnlyError,
    SessionHeld,
    StoreError,
    UnknownId,
    UnknownSession,
)
from sidecar.store.facade import Store
from sidecar.store.leases import holder_is_gone, new_holder_id
from sidecar.store.paths import default_db_path

__all__ = [
    "DEFAULT_MAX_PAYLOAD_BYTES",
    "CorruptDatabase",
    "DiskFullError",
    "InvalidRequest",
    "PayloadTooLarge",
    "ReadOnlyError",
    "SessionHeld",
    "Store",
    "StoreError",
    "UnknownId",
    "UnknownSession",
    "default_db_path",
    "holder_is_gone",
    "new_holder_id",
]
