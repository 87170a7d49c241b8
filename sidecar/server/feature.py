"""Server features and the method registry: a method is declared once, where it is handled.

A feature is one concern of the server (sessions, drift, live import,
documents...) as a class with lifecycle hooks. Features are created and
registered at one point (:mod:`sidecar.server.setup`), and a feature asks the
server for another by type (``self.server.get_feature(DriftFeature)``).

A request method is one declaration: a feature method decorated with
:func:`request` and the method name, whose annotations name the params and
result models::

    @request("sidecar/sessions/list")
    def list_sessions(self, params: m.ListParams) -> m.ListResult: ...

From it the server derives the route, the ``workspace/executeCommand`` alias
(``sidecar.sessions.list``), and ``scripts/gen_protocol.py`` derives
docs/protocol.md and the VS Code client's TypeScript types. Nothing else
lists methods.

Start-up must stay short (the initialize reply waits for imports), so
feature modules import the models and services lazily (:func:`lazy`): the
annotations are resolved, and the models built, on the owner thread after
the reply is written.
"""

from __future__ import annotations

import importlib.util
import sys
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

    from sidecar.server.app import SidecarServer
    from sidecar.server.state import ServerState
    from sidecar.services.workspace import Folder

F = TypeVar("F", bound=Callable[..., Any])

_REQUEST_ATTR = "__sidecar_request__"


def lazy(name: str) -> ModuleType:
    """Module ``name``, imported at its first attribute access (keeps start-up short).

    The owner thread touches every lazy module once after start-up
    (:func:`load_lazy_modules`), so no two threads race on a first import.
    """
    module = sys.modules.get(name)
    if module is not None:
        return module
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    _lazy.append(module)
    return module


_lazy: list[ModuleType] = []


def load_lazy_modules() -> None:
    """Finish importing every lazy module (on the owner thread, after the initialize reply)."""
    for module in list(_lazy):
        getattr(module, "__name__", None)
        vars(module)  # any attribute access runs the deferred import
    _lazy.clear()


def request(name: str) -> Callable[[F], F]:
    """Declare a feature method as the handler of request ``name`` (see the module docstring)."""

    def mark(fn: F) -> F:
        setattr(fn, _REQUEST_ATTR, name)
        return fn

    return mark


def command_name(method: str) -> str:
    """The ``workspace/executeCommand`` name of a request method.

    >>> command_name("sidecar/sessions/list")
    'sidecar.sessions.list'
    """
    return method.replace("/", ".")


@dataclass(frozen=True)
class MethodDecl:
    """One request method: its name and its handler; the models come from the annotations."""

    name: str
    feature: type[Feature]
    attribute: str

    @property
    def handler(self) -> Callable[..., Any]:
        """The unbound handler function."""
        fn: Callable[..., Any] = getattr(self.feature, self.attribute)
        return fn

    @cached_property
    def _hints(self) -> dict[str, Any]:
        return typing.get_type_hints(self.handler)

    @property
    def params(self) -> type[BaseModel]:
        """The params model (the handler's one argument after ``self``)."""
        names = [n for n in self._hints if n != "return"]
        if len(names) != 1:
            raise TypeError(f"{self.name}: the handler must take exactly one params argument")
        model: type[BaseModel] = self._hints[names[0]]
        return model

    @property
    def result(self) -> type[BaseModel]:
        """The result model (the handler's return annotation)."""
        model: type[BaseModel] = self._hints["return"]
        return model

    @property
    def command(self) -> str:
        """The ``workspace/executeCommand`` alias."""
        return command_name(self.name)

    @property
    def summary(self) -> str:
        """The first line of the params model's docstring, without the method name."""
        first = (self.params.__doc__ or "").strip().splitlines()[0] if self.params.__doc__ else ""
        return first.partition(": ")[2] or first


def declared_methods(features: Iterable[type[Feature]]) -> Iterator[MethodDecl]:
    """Every request method the features declare, in declaration order."""
    seen: set[str] = set()
    for feature in features:
        for attribute, value in vars(feature).items():
            name = getattr(value, _REQUEST_ATTR, None)
            if name is None:
                continue
            if name in seen:
                raise ValueError(f"request {name} is declared twice")
            seen.add(name)
            yield MethodDecl(name, feature, attribute)


class Feature:
    """One concern of the server. Hooks run on the owner thread unless said otherwise."""

    def __init__(self, server: SidecarServer) -> None:
        self.server = server

    @property
    def state(self) -> ServerState:
        """The server's state (available from :meth:`started` on)."""
        state = self.server.state
        if state is None:
            raise RuntimeError("the server is not started")
        return state

    def started(self) -> None:
        """The store is open and the state built; folders open next."""

    def folder_added(self, folder: Folder) -> None:
        """A workspace folder was added; its session is attached next (start watching here)."""

    def folder_opened(self, folder: Folder) -> None:
        """A workspace folder was added and its session attached."""

    def folder_closed(self, folder: Folder) -> None:
        """A workspace folder is being closed (still in the workspace)."""

    def settings_changed(self) -> None:
        """``state.settings`` changed."""

    def tick(self) -> None:
        """Called every third of a lease, after holds are renewed."""

    def shutdown(self) -> None:
        """The server is stopping: stop watching, give up leases (idempotent)."""
