"""Reading git configuration files without spawning git.

The sidecar needs two values on every branch switch: ``remote.origin.url``
and ``user.email``. Parsing the few config files by hand costs tens of
microseconds; ``git config`` costs a process spawn (milliseconds). The
parser here follows git's own grammar (sections, quoted subsections,
quoting, escapes, line continuations, comments) and reports when a file
uses something it does not evaluate (``include``/``includeIf``), so the
caller can ask git instead. The test-suite checks it against real git.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

_ESCAPES = {"n": "\n", "t": "\t", "b": "\b", "\\": "\\", '"': '"'}


class ConfigSyntaxError(ValueError):
    """A config file that git itself would refuse to read."""


def parse_config(text: str) -> list[tuple[str, str]]:
    """Parse git config text into ``(name, value)`` pairs, in file order.

    ``name`` is ``section.key`` or ``section.subsection.key``; section and key
    are lower case (git compares them case-insensitively), a quoted subsection
    keeps its case. A key without ``=`` is boolean true and yields ``"true"``.

    >>> parse_config('[remote "origin"]\\n\\turl = git@host:a/b.git  # x\\n')
    [('remote.origin.url', 'git@host:a/b.git')]
    """
    entries: list[tuple[str, str]] = []
    section: str | None = None
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif c in "#;":
            i = _end_of_line(text, i)
        elif c == "[":
            section, i = _parse_header(text, i + 1)
        elif c.isalpha():
            if section is None:
                raise ConfigSyntaxError("a key appears before any [section] header")
            start = i
            while i < n and (text[i].isalnum() or text[i] == "-"):
                i += 1
            key = text[start:i].lower()
            while i < n and text[i] in " \t":
                i += 1
            if i >= n or text[i] in "\r\n#;":
                entries.append((f"{section}.{key}", "true"))
            elif text[i] == "=":
                value, i = _parse_value(text, i + 1)
                entries.append((f"{section}.{key}", value))
            else:
                raise ConfigSyntaxError(f"unexpected {text[i]!r} after key {key!r}")
        else:
            raise ConfigSyntaxError(f"unexpected {c!r} at offset {i}")
    return entries


def _end_of_line(text: str, i: int) -> int:
    end = text.find("\n", i)
    return len(text) if end < 0 else end + 1


def _parse_header(text: str, i: int) -> tuple[str, int]:
    """Parse after ``[`` up to ``]``: ``[core]``, ``[remote "origin"]``, ``[branch.main]``."""
    close = text.find("]", i)
    if close < 0:
        raise ConfigSyntaxError("a [section header is not closed")
    quote = text.find('"', i, close)
    if quote < 0:
        # `[section]` or the deprecated `[section.sub]`: case-insensitive throughout.
        name = text[i:close].strip().lower()
        if not name:
            raise ConfigSyntaxError("empty [] section header")
        return name, close + 1
    name = text[i:quote].strip().lower()
    sub: list[str] = []
    j = quote + 1
    n = len(text)
    while j < n and text[j] != '"':
        if text[j] == "\n":
            raise ConfigSyntaxError("a quoted subsection runs past the end of the line")
        if text[j] == "\\" and j + 1 < n:
            j += 1
        sub.append(text[j])
        j += 1
    close = text.find("]", j)
    if j >= n or close < 0:
        raise ConfigSyntaxError('a [section "subsection"] header is not closed')
    return f"{name}.{''.join(sub)}", close + 1


def _parse_value(text: str, i: int) -> tuple[str, int]:
    """Parse a value after ``=`` the way git's config.c parse_value does."""
    out: list[str] = []
    quoted = False
    spaces = 0
    n = len(text)
    while i < n:
        c = text[i]
        i += 1
        if c == "\n":
            if quoted:
                raise ConfigSyntaxError("a quoted value runs past the end of the line")
            break
        if not quoted:
            if c in ";#":
                return "".join(out), _end_of_line(text, i)
            if c in " \t\r":
                if out:  # leading blanks are dropped, inner ones kept
                    spaces += 1
                continue
        if spaces:
            out.append(" " * spaces)
            spaces = 0
        if c == "\\":
            nxt = text[i] if i < n else ""
            i += 1
            if nxt == "\n":
                continue  # line continuation
            if nxt == "\r" and text[i : i + 1] == "\n":
                i += 1
                continue
            if nxt not in _ESCAPES:
                raise ConfigSyntaxError(f"bad escape \\{nxt} in a value")
            out.append(_ESCAPES[nxt])
        elif c == '"':
            quoted = not quoted
        else:
            out.append(c)
    if quoted:
        raise ConfigSyntaxError("a quoted value is not closed")
    return "".join(out), i


def uses_includes(entries: Iterable[tuple[str, str]]) -> bool:
    """True when the entries pull in other files (``include.path``, ``includeIf.*.path``)."""
    return any(name.startswith(("include.", "includeif.")) for name, _ in entries)


def env_flag(value: str | None) -> bool:
    """Git's boolean reading of an environment variable (``1``, ``true``, ``yes``, ``on``)."""
    return value is not None and value.strip().lower() in {"1", "true", "yes", "on"}


def user_config_paths(env: Mapping[str, str]) -> list[str]:
    """System then global config files, lowest precedence first, as git reads them.

    Honours ``GIT_CONFIG_NOSYSTEM``, ``GIT_CONFIG_SYSTEM``, ``GIT_CONFIG_GLOBAL``,
    ``XDG_CONFIG_HOME`` and ``HOME``. The system file is assumed at
    ``/etc/gitconfig`` (where distribution builds of git keep it); a git built
    with another prefix keeps it elsewhere, which matters only for a
    ``user.email`` set system-wide.
    """
    paths: list[str] = []
    if not env_flag(env.get("GIT_CONFIG_NOSYSTEM")):
        paths.append(env.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig")
    if "GIT_CONFIG_GLOBAL" in env:
        paths.append(env["GIT_CONFIG_GLOBAL"])
        return paths
    home = env.get("HOME")
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        paths.append(os.path.join(xdg, "git", "config"))
    elif home:
        paths.append(os.path.join(home, ".config", "git", "config"))
    if home:
        paths.append(os.path.join(home, ".gitconfig"))
    return paths


def environment_overrides_config(env: Mapping[str, str]) -> bool:
    """True when config comes from the environment (``git -c``, ``GIT_CONFIG_COUNT``)."""
    return "GIT_CONFIG_PARAMETERS" in env or "GIT_CONFIG_COUNT" in env or "HOME" not in env
