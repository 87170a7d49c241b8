"""Parsers of other tools' session files: Claude Code, Codex CLI, Amplifier, Gemini CLI,
GitHub Copilot CLI and opencode.

Each provider module offers ``discover_*`` (where the files are) and
``parse_*`` (one file, folder or database session to an
:class:`ImportedSession`); :mod:`.registry` declares them all once. Nothing
here touches the sidecar's database.
"""

from .amplifier import discover_amplifier, parse_amplifier
from .claude_code import discover_claude_code, parse_claude_code
from .codex import discover_codex, parse_codex
from .common import Cursor, ImportedEvent, ImportedSession

__all__ = [
    "Cursor",
    "ImportedEvent",
    "ImportedSession",
    "discover_amplifier",
    "discover_claude_code",
    "discover_codex",
    "parse_amplifier",
    "parse_claude_code",
    "parse_codex",
]
