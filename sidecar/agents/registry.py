"""The agents whose hooks the sidecar speaks, by name (stdlib only: read on every hook call).

Each name maps to a module of :mod:`sidecar.agents` that holds ``DIALECT``
(the agent's hook language, :class:`sidecar.agents.dialect.Dialect`) and
``INSTALLER`` (where and how ``hooks install`` writes the hook command).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.agents.dialect import Dialect

#: Agent name (as typed after ``hook`` and ``hooks install``) -> module in sidecar.agents.
AGENTS: dict[str, str] = {
    "claude-code": "claude_code",
    "codex": "codex",
    "gemini": "gemini",
    "copilot": "copilot",
    "opencode": "opencode",
}


class UnknownAgent(ValueError):
    """An agent name the sidecar has no hooks for."""

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown agent {name!r}; use one of: {', '.join(AGENTS)}")


def agent_module(name: str) -> Any:
    """The module of agent ``name``; raises :class:`UnknownAgent`."""
    module = AGENTS.get(name)
    if module is None:
        raise UnknownAgent(name)
    return importlib.import_module(f"sidecar.agents.{module}")


def dialect(name: str) -> Dialect:
    """The hook language of agent ``name``."""
    found: Dialect = agent_module(name).DIALECT
    return found
