"""Parsers of other tools' session files: Claude Code, Codex CLI, Amplifier, Gemini CLI,
GitHub Copilot CLI and opencode.

Each provider module offers ``discover_*`` (where the files are) and
``parse_*`` (one file, folder or database session to an
:class:`ImportedSession`); :mod:`.registry` declares them all once. Nothing
here touches the sidecar's database.
"""

from typing import TYPE_CHECKING

from sidecar.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from .amplifier import (
        discover_amplifier as discover_amplifier,
        parse_amplifier as parse_amplifier,
    )
    from .claude_code import (
        discover_claude_code as discover_claude_code,
        parse_claude_code as parse_claude_code,
    )
    from .codex import discover_codex as discover_codex, parse_codex as parse_codex
    from .common import (
        Cursor as Cursor,
        ImportedEvent as ImportedEvent,
        ImportedSession as ImportedSession,
    )

# Served on first use: an agent hook imports `common`'s payload shapes alone.
__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "sidecar.importers.amplifier": ["discover_amplifier", "parse_amplifier"],
        "sidecar.importers.claude_code": ["discover_claude_code", "parse_claude_code"],
        "sidecar.importers.codex": ["discover_codex", "parse_codex"],
        "sidecar.importers.common": ["Cursor", "ImportedEvent", "ImportedSession"],
    },
)
