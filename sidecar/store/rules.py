"""The user's own redaction rules, applied by every writer (SPEC 11).

A JSON file holds extra patterns (Python regular expressions, redacted as
``[REDACTED:custom]``) and strings never to redact::

    {"patterns": ["ACME-[0-9]{8}"], "allow": ["sk_test_fixture_not_a_secret_0001"]}

It lives at ``$SIDECAR_REDACTION``, else ``redaction.json`` in the user's
config folder (``~/.config/session-sidecar/`` on Linux). Every door opens the
store, which loads it, so the CLI, the hook, the importers and the editors'
server all redact alike; an editor's ``redactPatterns`` / ``redactAllow``
settings add to it for that server.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from sidecar.core.redact import set_user_rules
from sidecar.store.paths import user_dir

RULES_ENV = "SIDECAR_REDACTION"
RULES_FILENAME = "redaction.json"


def rules_path() -> Path:
    """Where the user's redaction rules are read from."""
    override = os.environ.get(RULES_ENV)
    if override:
        return Path(override).expanduser()
    return user_dir("config") / RULES_FILENAME


#: The editor's rules of this process (a server's settings), kept across store opens.
_extra: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())


def load_user_rules(
    extra_patterns: Sequence[str] | None = None, extra_allow: Sequence[str] | None = None
) -> list[str]:
    """Read the rules file, add the editor's rules, and use them in this process.

    ``extra_*`` replace the editor's rules when given; None keeps the last ones
    (a store opened later in the same process does not drop a server's settings).
    Returns the problems, each a sentence naming the file or the pattern; a
    missing file is no problem.
    """
    global _extra
    if extra_patterns is not None or extra_allow is not None:
        _extra = (tuple(extra_patterns or ()), tuple(extra_allow or ()))
    extra_patterns, extra_allow = _extra
    path = rules_path()
    patterns: list[str] = []
    allow: list[str] = []
    problems: list[str] = []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = {}
    except (OSError, ValueError) as error:
        problems.append(f"redaction rules {path} not read: {error}")
        data = {}
    if not isinstance(data, dict):
        problems.append(f"redaction rules {path} ignored: expected a JSON object")
        data = {}
    for key, into in (("patterns", patterns), ("allow", allow)):
        values = data.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            problems.append(f"redaction rules {path}: {key!r} must be a list of strings")
            continue
        into.extend(values)
    problems += set_user_rules([*patterns, *extra_patterns], [*allow, *extra_allow])
    for problem in problems:
        import logging  # only when there is a problem to report

        logging.getLogger(__name__).warning("%s", problem)
    return problems
