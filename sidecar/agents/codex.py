"""Codex CLI's hook language (``session-sidecar hook codex``) and its hook installer.

Input (Codex 0.169): one JSON object on stdin with ``hook_event_name``,
``session_id``, ``cwd``, ``transcript_path`` (the rollout), ``model``,
``permission_mode``, ``turn_id`` (every event inside a turn) and per event
``source`` (SessionStart: startup, resume, clear, compact, fork), ``prompt``
(UserPromptSubmit), ``tool_name``/``tool_input``/``tool_use_id``
(PreToolUse, PostToolUse; the shell tool is named ``Bash`` with
``{"command": ...}``), ``tool_response`` (PostToolUse: the command's output
as text), ``agent_id``/``agent_type`` (SubagentStart, SubagentStop and the
events of a sub-agent), ``last_assistant_message`` (Stop, SubagentStop),
``reason`` (SessionEnd).

PostToolUse says nothing about failure: a command that exits non-zero gives
its output like any other. The rollout does: its ``item_completed`` line for
the call (written before the hook runs) has ``status: "failed"`` and the exit
code, so :func:`parse` reads the rollout's tail for that one line.

Output: Claude Code's shape, ``{"hookSpecificOutput": {"hookEventName",
"additionalContext"}}``; Codex adds the context to the model's input as a
``developer`` message on SessionStart (also on ``codex exec resume``) and
UserPromptSubmit. Block mode answers a prompt with ``{"decision": "block",
"reason"}``.

Hooks live in ``$CODEX_HOME/hooks.json`` (default ``~/.codex``), the same
shape as Claude Code's settings. Codex runs a hook only once it is trusted:
an untrusted one is skipped without a word. Trust is a hash per hook in
``config.toml`` (``[hooks.state."<key>"] trusted_hash``); :class:`CodexInstaller`
asks Codex itself (``codex app-server``: ``hooks/list``, ``config/batchWrite``)
for our hooks' keys and hashes and trusts exactly those, or says how to do it
by hand when no ``codex`` is on ``PATH``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sidecar.agents.dialect import Dialect, HookEvent, Step, Warning, event_fields, text_field
from sidecar.agents.hook_settings import (
    DEFAULT_TIMEOUT_S,
    HookLayout,
    SettingsChange,
    SettingsError,
    add_hooks,
    read_settings,
    remove_hooks,
    write_settings,
)
from sidecar.agents.transcript import branch_name, dig, head_lines, read_tail

#: The hook events the sidecar listens to, in the order Codex fires them.
HOOK_EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "SubagentStart",
    "SubagentStop",
    "Stop",
    "SessionEnd",
)
#: Events whose hook timeout Codex clamps to this many seconds (it says so on every run).
SHORT_EVENTS = frozenset({"SessionEnd"})
SHORT_TIMEOUT_S = 3
#: Bytes of the rollout read: the head for the branch, the tail for a tool's outcome.
TRANSCRIPT_HEAD_BYTES = 256 * 1024
TRANSCRIPT_TAIL_BYTES = 256 * 1024
#: Seconds ``hooks install`` waits for ``codex app-server`` to answer.
APP_SERVER_TIMEOUT_S = 60

_CONTEXT_EVENTS = frozenset({"SessionStart", "UserPromptSubmit"})
_TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse"})


def parse(data: Mapping[str, Any]) -> HookEvent:
    """Codex's hook input as a :class:`HookEvent`."""
    event, common = event_fields(data)
    common.update(
        carries_context=event in _CONTEXT_EVENTS,
        turn=text_field(data, "turn_id"),
    )
    if event == "SessionStart":
        return HookEvent(Step.START, source=text_field(data, "source"), **common)
    if event == "UserPromptSubmit":
        prompt = data.get("prompt")
        return HookEvent(Step.PROMPT, prompt=prompt if isinstance(prompt, str) else "", **common)
    if event in _TOOL_EVENTS:
        tool: dict[str, Any] = {
            "tool_name": text_field(data, "tool_name"),
            "tool_input": data.get("tool_input"),
            "tool_id": text_field(data, "tool_use_id"),
        }
        if event == "PreToolUse":
            return HookEvent(Step.TOOL_CALL, **tool, **common)
        failed = _tool_failed(common["transcript_path"], tool["tool_id"])
        output = data.get("tool_response")
        if failed and not (isinstance(output, str) and output):
            output = "the tool failed"
        return HookEvent(Step.TOOL_RESULT, tool_output=output, failed=failed, **tool, **common)
    if event == "Stop" and text_field(data, "last_assistant_message"):
        return HookEvent(Step.RESPONSE, text=text_field(data, "last_assistant_message"), **common)
    if event == "SessionEnd":
        return HookEvent(Step.END, text=text_field(data, "reason"), **common)
    if event in ("SubagentStart", "SubagentStop"):
        return HookEvent(Step.NOTE, text=_subagent_text(event, data), **common)
    return HookEvent(Step.NOTE, text=text_field(data, "message", "reason"), **common)


def _subagent_text(event: str, data: Mapping[str, Any]) -> str:
    """A note for a sub-agent's start or stop: its type, id and (at stop) its answer."""
    kind = text_field(data, "agent_type") or "sub-agent"
    ident = text_field(data, "agent_id")
    who = f"Codex sub-agent {kind}" + (f" ({ident})" if ident else "")
    if event == "SubagentStart":
        return f"{who} started."
    answer = text_field(data, "last_assistant_message")
    return f"{who} stopped: {answer}" if answer else f"{who} stopped."


def _tool_failed(transcript_path: str | None, tool_id: str | None) -> bool:
    """True when the rollout records the call ``tool_id`` as failed (non-zero exit)."""
    if transcript_path is None or tool_id is None:
        return False
    found = read_tail(transcript_path, TRANSCRIPT_TAIL_BYTES)
    tail = found[0] if found is not None else None
    if tail is None:
        return False
    needle = json.dumps(tool_id).encode()
    for raw in reversed(tail.split(b"\n")):
        if needle not in raw or b'"item_completed"' not in raw:
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        payload = line.get("payload") if isinstance(line, dict) else None
        item = payload.get("item") if isinstance(payload, dict) else None
        if not isinstance(item, dict) or item.get("id") != tool_id:
            continue
        code = item.get("exit_code")
        return item.get("status") == "failed" or (isinstance(code, int) and code != 0)
    return False


def output(hook: HookEvent, warning: Warning | None, title: str | None) -> dict[str, Any] | None:
    """The JSON Codex reads back (Codex has no session title to set: ``title`` is unused)."""
    if warning is None or not hook.carries_context:
        return None
    if warning.block and hook.step is Step.PROMPT:
        return {"decision": "block", "reason": warning.text}
    return {"hookSpecificOutput": {"hookEventName": hook.event, "additionalContext": warning.text}}


def began_on(hook: HookEvent) -> str | None:
    """The branch the rollout's ``session_meta`` line recorded (``git.branch``), if any.

    Used when the hook meets a session it has not seen start (hooks installed
    mid-session). Codex records the branch only when the session is created.
    """
    lines = head_lines(hook.transcript_path, b'"session_meta"', TRANSCRIPT_HEAD_BYTES, 8)
    return branch_name(dig(next(lines, None), "payload", "git", "branch"))


DIALECT = Dialect(
    provider="codex",
    label="Codex",
    id_prefix="cx",
    resume_command="codex resume {ref}",
    parse=parse,
    output=output,
    began_on=began_on,
)


# ---------------------------------------------------------------- installer


def hooks_path(scope: str, folder: Path | None = None) -> Path:
    """``$CODEX_HOME/hooks.json`` (default ``~/.codex/hooks.json``)."""
    if scope != "user":
        raise SettingsError(f"codex has no {scope!r} scope; use: user")
    from sidecar.importers.codex import codex_home

    return codex_home() / "hooks.json"


_LAYOUT = HookLayout(
    agent="codex",
    events=tuple(e for e in HOOK_EVENTS if e not in SHORT_EVENTS),
    paths=hooks_path,
    tool_events=_TOOL_EVENTS,
)
_SHORT_LAYOUT = HookLayout(
    agent="codex", events=tuple(e for e in HOOK_EVENTS if e in SHORT_EVENTS), paths=hooks_path
)

#: The note shown when the installer could not trust the hooks itself.
TRUST_BY_HAND = (
    "Codex runs a hook only once you trust it (untrusted hooks are skipped without a "
    "word): start `codex`, type /hooks, and trust the session-sidecar hooks; or run "
    "`session-sidecar hooks install codex` again with `codex` on PATH."
)


class CodexInstaller:
    """``hooks install|uninstall codex``: the hooks in ``hooks.json``, then Codex's trust step.

    ``codex`` is the executable asked for the hooks' trust keys and hashes
    (default: the one on ``PATH``; none there leaves the trust step to the user).
    """

    scopes: tuple[str, ...] = ("user",)

    def __init__(self, codex: str | None = None) -> None:
        self._codex = codex

    def path(self, scope: str, folder: Path | None = None) -> Path:
        """The hooks file of ``scope`` (only ``user``: ``$CODEX_HOME/hooks.json``)."""
        return hooks_path(scope, folder)

    def is_ours(self, command: str) -> bool:
        """True for a command ``uninstall`` will recognise."""
        return _LAYOUT.is_ours(command)

    def install(
        self, path: Path, command: str, *, timeout: int = DEFAULT_TIMEOUT_S
    ) -> SettingsChange:
        """Add our hooks to ``path`` (backup first; twice adds nothing), then trust them."""
        settings = read_settings(path)
        updated, changed = add_hooks(_LAYOUT, settings, command, timeout=timeout)
        updated, short = add_hooks(
            _SHORT_LAYOUT, updated, command, timeout=min(timeout, SHORT_TIMEOUT_S)
        )
        changed += short
        backup = write_settings(path, updated) if changed else None
        change = SettingsChange(path, changed, backup, command, list(HOOK_EVENTS))
        change.notes.extend(self._trust(path))
        return change

    def uninstall(self, path: Path) -> SettingsChange:
        """Remove exactly our hooks from ``path`` (backup first) and forget their trust."""
        if not path.exists():
            return SettingsChange(path, 0)
        updated, removed = remove_hooks(_LAYOUT, read_settings(path))
        if not removed:
            return SettingsChange(path, 0)
        # The trust keys name a hook by position: read them while our hooks are still there.
        keys, problem = self._our_hooks(path)
        change = SettingsChange(path, removed, write_settings(path, updated))
        if keys:
            problem = problem or self._forget(path, keys)
        if problem:
            change.notes.append(
                f"could not clear the trust entries of the removed hooks ({problem}); "
                "they are harmless: a trusted hash only matches the hook it was made for"
            )
        return change

    # -------------------------------------------------------- trust (codex app-server)

    def _executable(self) -> str | None:
        return self._codex or shutil.which("codex")

    def _trust(self, path: Path) -> list[str]:
        """Trust our hooks through ``codex app-server``; the notes to show the user."""
        codex = self._executable()
        if codex is None:
            return [TRUST_BY_HAND]
        backup: Path | None = None
        try:
            with _AppServer(codex, path.parent) as server:
                hooks = server.our_hooks(path, self.is_ours)
                pending = {
                    h["key"]: h["currentHash"] for h in hooks if h.get("trustStatus") != "trusted"
                }
                if pending:
                    backup = _backup(path.parent / "config.toml")
                    server.write_trust({key: {"trusted_hash": v} for key, v in pending.items()})
                untrusted = [
                    h["key"]
                    for h in server.our_hooks(path, self.is_ours)
                    if h.get("trustStatus") != "trusted"
                ]
        except (OSError, SettingsError, subprocess.SubprocessError, ValueError) as error:
            return [f"Codex did not trust the hooks: {error}. {TRUST_BY_HAND}"]
        if untrusted or not hooks:
            return [f"Codex still lists {len(untrusted)} hook(s) as untrusted. {TRUST_BY_HAND}"]
        if not pending:
            return ["Codex already trusts the session-sidecar hooks."]
        done = f"trusted {len(pending)} session-sidecar hooks in Codex's config.toml"
        return [done + (f" (backup: {backup})" if backup else "")]

    def _our_hooks(self, path: Path) -> tuple[list[str], str | None]:
        """The trust keys of our hooks as Codex lists them now, or a problem."""
        codex = self._executable()
        if codex is None:
            return [], "no codex on PATH"
        try:
            with _AppServer(codex, path.parent) as server:
                return [h["key"] for h in server.our_hooks(path, self.is_ours)], None
        except (OSError, SettingsError, subprocess.SubprocessError, ValueError) as error:
            return [], str(error)

    def _forget(self, path: Path, keys: list[str]) -> str | None:
        """Remove the trust entries ``keys`` from Codex's config; a problem or None.

        The user's ``hooks.state`` is read from ``config.toml`` beside ``path``
        (the user layer only, not the merged config) and written back without
        those keys by Codex itself, which keeps the rest of the file as it was.
        """
        codex = self._executable()
        assert codex is not None
        try:
            state = _trust_state(path.parent / "config.toml")
            kept = {k: v for k, v in state.items() if k not in keys}
            if len(kept) != len(state):
                _backup(path.parent / "config.toml")
                with _AppServer(codex, path.parent) as server:
                    server.write_trust(kept, replace=True)
        except (OSError, SettingsError, subprocess.SubprocessError, ValueError) as error:
            return str(error)
        return None


def _backup(path: Path) -> Path | None:
    """Copy ``path`` to ``<name>.bak-<timestamp>`` before Codex rewrites it; None if absent."""
    if not path.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.bak-{stamp}")
    counter = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.bak-{stamp}-{counter}")
        counter += 1
    shutil.copy2(path, backup)
    return backup


def _trust_state(config: Path) -> dict[str, Any]:
    """The ``hooks.state`` table of a Codex ``config.toml`` (empty when there is none)."""
    import tomllib

    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    hooks = data.get("hooks")
    state = hooks.get("state") if isinstance(hooks, dict) else None
    return dict(state) if isinstance(state, dict) else {}


class _AppServer:
    """One ``codex app-server`` over stdio (JSON-RPC, one JSON object per line)."""

    def __init__(self, codex: str, cwd: Path | None) -> None:
        self._argv = [codex, "app-server"]
        self._cwd = cwd if cwd is not None and cwd.is_dir() else None
        self._next = 0
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> _AppServer:
        self._proc = subprocess.Popen(
            self._argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=self._cwd,
        )
        self.call("initialize", {"clientInfo": {"name": "session-sidecar", "version": "1"}})
        self._send({"method": "initialized"})
        return self

    def __exit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def _send(self, message: dict[str, Any]) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(message) + "\n")
        self._proc.stdin.flush()

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Send one request and return its result (notifications in between are skipped)."""
        assert self._proc is not None and self._proc.stdout is not None
        self._next += 1
        ident = self._next
        self._send({"id": ident, "method": method, "params": params})
        import selectors

        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            while True:
                if not selector.select(timeout=APP_SERVER_TIMEOUT_S):
                    raise SettingsError(f"codex app-server did not answer {method}")
                line = self._proc.stdout.readline()
                if not line:
                    raise SettingsError(f"codex app-server exited before answering {method}")
                message = json.loads(line)
                if not isinstance(message, dict) or message.get("id") != ident:
                    continue
                if "error" in message:
                    error = message["error"]
                    text = error.get("message") if isinstance(error, dict) else error
                    raise SettingsError(f"codex app-server {method}: {text}")
                return message.get("result")

    def our_hooks(self, path: Path, ours: Callable[[Any], bool]) -> list[dict[str, Any]]:
        """Codex's view (key, currentHash, trustStatus) of our hooks in the file ``path``."""
        result = self.call("hooks/list", {"cwds": [str(path.parent)]})
        found: list[dict[str, Any]] = []
        resolved = path.resolve()
        for entry in (result or {}).get("data") or []:
            for hook in entry.get("hooks") or []:
                source = hook.get("sourcePath")
                if (
                    isinstance(hook, dict)
                    and isinstance(source, str)
                    and Path(source).resolve() == resolved
                    and ours(hook.get("command"))
                    and isinstance(hook.get("key"), str)
                    and isinstance(hook.get("currentHash"), str)
                    and hook["key"] not in {h["key"] for h in found}
                ):
                    found.append(hook)
        return found

    def write_trust(self, state: dict[str, Any], *, replace: bool = False) -> None:
        """Merge ``state`` into (or, with ``replace``, set) ``hooks.state`` in ``config.toml``."""
        edit = {
            "keyPath": "hooks.state",
            "mergeStrategy": "replace" if replace else "upsert",
            "value": state,
        }
        self.call("config/batchWrite", {"edits": [edit]})


INSTALLER = CodexInstaller()
