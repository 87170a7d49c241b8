"""Parsers for Claude Code, Codex CLI and Amplifier session files.

Each provider module offers ``discover_*`` (where the files are) and
``parse_*`` (one file or folder to an :class:`ImportedSession`); nothing here
touches the database.
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
