"""The SQLite session store: the only package that writes SQL.

Its main names are served from the submodules on first use
(:mod:`sidecar.lazy_exports`), so importing one submodule stays cheap.
"""

from typing import TYPE_CHECKING

from sidecar.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from sidecar.store.errors import (
        DEFAULT_MAX_PAYLOAD_BYTES as DEFAULT_MAX_PAYLOAD_BYTES,
        CorruptDatabase as CorruptDatabase,
        DatabaseReplaced as DatabaseReplaced,
        DiskFullError as DiskFullError,
        InvalidRequest as InvalidRequest,
        PayloadTooLarge as PayloadTooLarge,
        ReadOnlyError as ReadOnlyError,
        SessionHeld as SessionHeld,
        StoreError as StoreError,
        UnknownId as UnknownId,
        UnknownSession as UnknownSession,
        UntrustedLocation as UntrustedLocation,
    )
    from sidecar.store.facade import Store as Store
    from sidecar.store.leases import (
        holder_is_gone as holder_is_gone,
        new_holder_id as new_holder_id,
    )
    from sidecar.store.paths import default_db_path as default_db_path

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "sidecar.store.errors": [
            "DEFAULT_MAX_PAYLOAD_BYTES",
            "CorruptDatabase",
            "DatabaseReplaced",
            "DiskFullError",
            "InvalidRequest",
            "PayloadTooLarge",
            "ReadOnlyError",
            "SessionHeld",
            "StoreError",
            "UnknownId",
            "UnknownSession",
            "UntrustedLocation",
        ],
        "sidecar.store.facade": ["Store"],
        "sidecar.store.leases": ["holder_is_gone", "new_holder_id"],
        "sidecar.store.paths": ["default_db_path"],
    },
)
