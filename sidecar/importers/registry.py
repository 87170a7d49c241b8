"""Every importer, declared once: its name, where its files are, how one is parsed.

The loader (:mod:`sidecar.services.imports`), ``session-sidecar import`` and
live ingestion read this table instead of naming the tools one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import amplifier, claude_code, codex, copilot, gemini, opencode
from .common import Cursor, ImportedSession

Discover = Callable[[Path | None, str | None], Iterator[Path]]
"""``(home, cwd) ->`` the tool's units (files, folders), parents first; ``cwd`` filters."""
Parse = Callable[[Path, Cursor | None, int | None], ImportedSession]
"""``(unit, cursor, max_lines) ->`` the unit's session from the cursor on."""


@dataclass(frozen=True)
class Importer:
    """One tool's importer."""

    name: str
    """The provider name sessions are stored under (``claude-code``)."""
    title: str
    """The tool's name for people."""
    discover: Discover
    parse: Parse
    records_branch: bool
    """False: the tool records no branch, the loader infers it from the reflog."""


IMPORTERS: dict[str, Importer] = {
    spec.name: spec
    for spec in (
        Importer(
            "claude-code",
            "Claude Code",
            lambda home, cwd: claude_code.discover_claude_code(home=home, cwd=cwd),
            lambda path, cursor, n: claude_code.parse_claude_code(path, cursor, max_lines=n),
            records_branch=True,
        ),
        Importer(
            "codex",
            "Codex CLI",
            lambda home, cwd: codex.discover_codex(home=home, cwd=cwd),
            lambda path, cursor, n: codex.parse_codex(path, cursor, max_lines=n),
            records_branch=True,
        ),
        Importer(
            "amplifier",
            "Amplifier",
            lambda home, cwd: amplifier.discover_amplifier(home=home, cwd=cwd),
            lambda path, cursor, n: amplifier.parse_amplifier(path, cursor, max_lines=n),
            records_branch=False,
        ),
        Importer(
            "gemini",
            "Gemini CLI",
            lambda home, cwd: gemini.discover_gemini(home, cwd=cwd),
            lambda path, cursor, n: gemini.parse_gemini(path, cursor, max_lines=n),
            records_branch=False,
        ),
        Importer(
            "copilot",
            "GitHub Copilot CLI",
            lambda home, cwd: copilot.discover_copilot(home, cwd=cwd),
            lambda path, cursor, n: copilot.parse_copilot(path, cursor, max_lines=n),
            records_branch=True,
        ),
        Importer(
            "opencode",
            "opencode",
            lambda home, cwd: opencode.discover_opencode(home, cwd=cwd),
            lambda path, cursor, n: opencode.parse_opencode(path, cursor, max_lines=n),
            records_branch=False,
        ),
    )
}

PROVIDERS = tuple(IMPORTERS)


def importer(provider: str) -> Importer:
    """The importer of ``provider``; ValueError naming the known ones otherwise."""
    found = IMPORTERS.get(provider)
    if found is None:
        raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    return found
