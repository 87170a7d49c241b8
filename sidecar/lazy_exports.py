"""Package namespaces that import their members on first use (PEP 562).

``sidecar.store`` and ``sidecar.watch`` re-export their main names so callers
write ``from sidecar.store import Store``. Importing those names eagerly in
the package ``__init__`` would make every import of a submodule (say
``sidecar.store.export``, which the server defers until after its initialize
reply) pay for the whole package: the store's models, pydantic, pathspec.

Example (in a package ``__init__``)::

    __getattr__, __all__ = lazy_exports(__name__, {"sidecar.store.facade": ["Store"]})
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lazy_exports(
    package: str, members: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], list[str]]:
    """A module ``__getattr__`` serving ``members`` ({module: [names]}) and the ``__all__`` list."""
    where = {name: module for module, names in members.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__, sorted(where)
