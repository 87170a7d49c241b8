"""Cline and Roo Code tasks: ``<VS Code globalStorage>/<extension id>/tasks/<taskId>/``.

Both extensions keep a folder per task under their VS Code ``globalStorage``
folder (``saoudrizwan.claude-dev`` for Cline, ``rooveterinaryinc.roo-cline``
for Roo Code, a fork that kept the format). The format is read from their
sources: Cline 3.89 (github.com/cline/cline, ``apps/vscode/src/core/storage/disk.ts``,
``shared/ExtensionMessage.ts``, ``shared/HistoryItem.ts``,
``core/task/index.ts``) and Roo Code 3.52 (github.com/RooCodeInc/Roo-Code,
``src/shared/globalFileNames.ts``, ``packages/types/src/message.ts`` and
``history.ts``, ``src/core/environment/getEnvironmentDetails.ts``):

- ``ui_messages.json``: the task's transcript as shown, a JSON list of
  ``ClineMessage`` ``{ts, type: ask | say, ask?, say?, text?, images?,
  partial?}`` (``ts`` epoch milliseconds), rewritten whole on every change;
- ``api_conversation_history.json``: the model conversation (Anthropic
  ``MessageParam`` list); its first user message holds the
  ``<environment_details>`` with ``# Current Working Directory (<path>) Files``
  (Cline) or ``# Current Workspace Directory (<path>) Files`` (Roo Code);
- the task's folder: Roo Code's ``history_item.json`` ``workspace``, Cline's
  ``state/taskHistory.json`` ``cwdOnTaskInitialization`` (Cline 3.x; older
  versions kept that list in VS Code's own ``state.vscdb``, not read here),
  else the environment details above;
- ``task_metadata.json`` (files in context, model usage) carries no event.

Mapping of ``ui_messages.json`` (source id ``<ts>``, ``<ts>~<n>`` for a
repeated ``ts``): ``say: task`` (or a first ``say: text``, as Roo Code and
older Cline write the task) and ``say: user_feedback`` -> ``prompt``;
``say: text``, ``say: completion_result`` and the questions (``ask:
followup``, ``plan_mode_respond``, ``act_mode_respond``: JSON ``question`` /
``response``) -> ``response``; ``tool`` (JSON ``ClineSayTool``) ->
``tool_call`` named after its ``tool``, with a ``tool_result`` for the tools
whose ``content`` is their output (listing, search, code definitions);
``command`` -> ``tool_call`` ``execute_command`` and the ``command_output``
after it -> its ``tool_result`` once a later message shows it finished;
``use_mcp_server`` -> ``tool_call`` ``mcp:<server>/<tool>`` and
``mcp_server_response`` its ``tool_result``; errors -> ``note``. Partial
(still streaming) messages wait for the next import; API request records,
reasoning, checkpoints and the like are counted in ``ignored``.

A Roo Code subtask names its parent (``parentTaskId``, ``rootTaskId``).
Neither tool records a branch.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sidecar.core.models import Actor, EventKind

from .common import (
    Cursor,
    ImportedEvent,
    ImportedSession,
    clipped_text_payload,
    flatten_text,
    parse_time,
    tool_call_payload,
    tool_result_payload,
)

CLINE = "saoudrizwan.claude-dev"
ROO_CODE = "rooveterinaryinc.roo-cline"
PROVIDERS = {CLINE: "cline", ROO_CODE: "roo-code"}
UI_MESSAGES = "ui_messages.json"
API_HISTORY = "api_conversation_history.json"
_EDITORS = ("Code", "Code - Insiders", "VSCodium", "Cursor", "Windsurf")
_FILE_LIMIT = 64 * 1024 * 1024
_CWD = re.compile(r"# Current (?:Working|Workspace) Directory \(([^)\n]+)\) Files")
_OUTPUT_TOOLS = frozenset(
    ("listFilesTopLevel", "listFilesRecursive", "listCodeDefinitionNames", "searchFiles")
)
_QUESTIONS = ("followup", "plan_mode_respond", "act_mode_respond")
_ERRORS = ("error", "diff_error", "clineignore_error", "rooignore_error", "api_req_failed")


def global_storages(home: Path | None = None, env: Mapping[str, str] | None = None) -> list[Path]:
    """The ``User/globalStorage`` folders of VS Code and its forks on this system."""
    environ = os.environ if env is None else env
    base = home or Path.home()
    if sys.platform == "darwin":
        config = base / "Library" / "Application Support"
    elif sys.platform == "win32":
        config = Path(environ.get("APPDATA") or base / "AppData" / "Roaming")
    else:
        config = Path(environ.get("XDG_CONFIG_HOME") or base / ".config")
    folders = [config / editor / "User" / "globalStorage" for editor in _EDITORS]
    folders.append(base / ".vscode-server" / "data" / "User" / "globalStorage")
    return folders


def task_roots(
    extension: str, home: Path | None = None, env: Mapping[str, str] | None = None
) -> list[Path]:
    """Every ``tasks`` folder of ``extension`` (Cline's own hosts too: ``~/.cline/data``)."""
    roots = [storage / extension / "tasks" for storage in global_storages(home, env)]
    if extension == CLINE:
        roots.append((home or Path.home()) / ".cline" / "data" / "tasks")
    return roots


def discover_cline(
    extension: str,
    home: Path | None = None,
    *,
    root: Path | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """Yield task folders (parents before Roo Code subtasks), oldest first.

    ``root`` is one ``tasks`` folder (default: :func:`task_roots`); ``cwd``
    keeps the tasks that ran in that folder.
    """
    found: list[tuple[bool, float, Path]] = []
    for tasks in [root] if root is not None else task_roots(extension, home, env):
        if not tasks.is_dir():
            continue
        for task in tasks.iterdir():
            messages = task / UI_MESSAGES
            if not messages.is_file():
                continue
            if cwd is not None and task_folder(task) != str(cwd):
                continue
            child = bool(_history_item(task).get("parentTaskId"))
            found.append((child, messages.stat().st_mtime, task))
    for _, _, task in sorted(found, key=lambda f: (f[0], _first_ts(f[2]) or f[1], f[2].name)):
        yield task


def _read(path: Path) -> Any:
    try:
        if path.stat().st_size > _FILE_LIMIT:
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def _first_ts(task: Path) -> float | None:
    """The task id is its start in epoch milliseconds (Cline: ``Date.now()``)."""
    return int(task.name) / 1000 if task.name.isdigit() else None


def _history_item(task: Path) -> dict[str, Any]:
    """Roo Code's ``history_item.json`` (empty for Cline)."""
    data = _read(task / "history_item.json")
    return data if isinstance(data, dict) else {}


def _task_history_cwd(task: Path) -> str | None:
    """Cline's ``state/taskHistory.json`` entry of the task: ``cwdOnTaskInitialization``."""
    data = _read(task.parent.parent / "state" / "taskHistory.json")
    for item in data if isinstance(data, list) else []:
        if isinstance(item, dict) and item.get("id") == task.name:
            where = item.get("cwdOnTaskInitialization")
            return where if isinstance(where, str) and where else None
    return None


def _environment_cwd(task: Path) -> str | None:
    """The working folder in the environment details of the first user message."""
    data = _read(task / API_HISTORY)
    for message in data if isinstance(data, list) else []:
        if isinstance(message, dict) and message.get("role") == "user":
            found = _CWD.search(flatten_text(message.get("content")))
            return found.group(1) if found else None
    return None


def task_folder(task: Path) -> str | None:
    """The folder a task ran in, read the way :func:`parse_cline` reads it."""
    workspace = _history_item(task).get("workspace")
    if isinstance(workspace, str) and workspace:
        return workspace
    return _task_history_cwd(task) or _environment_cwd(task)


def _fingerprint(path: Path) -> str:
    info = path.stat()
    return f"{info.st_size}:{info.st_mtime_ns}"


def parse_cline(
    provider: str, task: Path, cursor: Cursor | None = None, *, max_lines: int | None = None
) -> ImportedSession:
    """Parse one task folder; nothing new when ``ui_messages.json`` is unchanged since ``cursor``.

    ``max_lines`` is accepted for the loader's signature; the file is one JSON
    document and read whole.
    """
    start = cursor or Cursor()
    session = ImportedSession(provider=provider, provider_ref=task.name, path=task, start=start)
    messages_file = task / UI_MESSAGES
    try:
        fingerprint = _fingerprint(messages_file)
    except OSError:
        session.end = start
        return session
    item = _history_item(task)
    session.cwd = task_folder(task)
    if isinstance(item.get("parentTaskId"), str):
        session.parent_ref = item["parentTaskId"]
        root = item.get("rootTaskId")
        session.root_ref = root if isinstance(root, str) else session.parent_ref
        mode = item.get("mode")
        session.agent_name = mode if isinstance(mode, str) else "subtask"
    data = _read(messages_file)
    if not isinstance(data, list):
        session.skipped = 1
        session.end = Cursor(1, 0, fingerprint, {})
        return session
    session.end = Cursor(1, len(data), fingerprint, {})
    _Transcript(session, data, unchanged=start.check == fingerprint).read()
    return session


class _Transcript:
    """Turns ``ClineMessage`` items into events."""

    def __init__(self, session: ImportedSession, data: list[Any], *, unchanged: bool) -> None:
        self.session = session
        self.data = data
        self.unchanged = unchanged
        self.ids: dict[int, int] = {}
        self.command: tuple[str, list[str], Any] | None = None
        """The open command: its call id, the output so far, the time of its last output."""
        self.mcp: tuple[str, str] | None = None

    def add(
        self, kind: EventKind, actor: Actor, when: Any, payload: dict[str, Any], sid: str
    ) -> None:
        if not self.unchanged:
            self.session.events.append(ImportedEvent(kind, actor, when, payload, sid))

    def read(self) -> None:
        for index, message in enumerate(self.data):
            ts = message.get("ts") if isinstance(message, dict) else None
            if not isinstance(ts, int | float) or isinstance(ts, bool):
                self.session.skipped += 1
                continue
            when = parse_time(ts)
            self.session.note_time(when)
            count = self.ids[int(ts)] = self.ids.get(int(ts), 0) + 1
            source = f"{int(ts)}" if count == 1 else f"{int(ts)}~{count}"
            if message.get("partial"):
                continue  # still streaming: read once it is complete
            kind = message.get("say") if message.get("type") == "say" else message.get("ask")
            if kind != "command_output":
                self._close_command()
            self._message(index, str(kind), message, when, source)

    def _close_command(self) -> None:
        if self.command is not None:
            call_id, output, when = self.command
            result = tool_result_payload(call_id, "\n".join(output), name="execute_command")
            self.add(EventKind.TOOL_RESULT, Actor.AGENT, when, result, f"cl:{call_id}:result")
            self.command = None

    def _message(
        self, index: int, kind: str, message: dict[str, Any], when: Any, source: str
    ) -> None:
        raw = message.get("text")
        text = raw if isinstance(raw, str) else ""
        say = message.get("type") == "say"
        if say and (kind in ("task", "user_feedback") or (kind == "text" and index == 0)):
            self._prompt(text, message, when, source)
        elif say and kind in ("text", "completion_result"):
            if text.strip():
                self.add(
                    EventKind.RESPONSE,
                    Actor.AGENT,
                    when,
                    clipped_text_payload(text),
                    f"{source}:text",
                )
        elif not say and kind in _QUESTIONS:
            question = _json(text)
            shown = (
                question.get("question") or question.get("response") or ("" if question else text)
            )
            if isinstance(shown, str) and shown.strip():
                self.add(
                    EventKind.RESPONSE,
                    Actor.AGENT,
                    when,
                    clipped_text_payload(shown),
                    f"{source}:text",
                )
        elif kind == "tool":
            self._tool(text, when, source)
        elif kind == "command":
            payload = tool_call_payload("execute_command", {"command": text}, source)
            self.add(EventKind.TOOL_CALL, Actor.AGENT, when, payload, f"cl:{source}:call")
            self.command = (source, [], when)
        elif kind == "command_output":
            if self.command is not None:
                self.command = (self.command[0], [*self.command[1], text], when)
                if message.get("commandCompleted"):
                    self._close_command()
            else:
                self.session.ignored += 1
        elif kind == "use_mcp_server":
            self._mcp(text, when, source)
        elif say and kind == "mcp_server_response" and self.mcp is not None:
            call_id, name = self.mcp
            result = tool_result_payload(call_id, text, name=name)
            self.add(EventKind.TOOL_RESULT, Actor.AGENT, when, result, f"cl:{call_id}:result")
            self.mcp = None
        elif kind in _ERRORS and text.strip():
            payload = clipped_text_payload(text) | {"subtype": "error"}
            self.add(EventKind.NOTE, Actor.SYSTEM, when, payload, f"{source}:note")
        else:
            self.session.ignored += 1

    def _prompt(self, text: str, message: dict[str, Any], when: Any, source: str) -> None:
        images = message.get("images")
        if not text.strip() and not images:
            self.session.ignored += 1
            return
        if self.session.first_prompt is None and text.strip():
            self.session.first_prompt = text
        payload = clipped_text_payload(text)
        if isinstance(images, list) and images:
            payload["images"] = len(images)
        self.add(EventKind.PROMPT, Actor.USER, when, payload, f"{source}:prompt")

    def _tool(self, text: str, when: Any, source: str) -> None:
        tool = _json(text)
        name = tool.get("tool")
        if not isinstance(name, str):
            self.session.skipped += 1
            return
        output = tool.get("content") if name in _OUTPUT_TOOLS else None
        arguments = {
            k: v for k, v in tool.items() if k != "tool" and not (output and k == "content")
        }
        payload = tool_call_payload(name, arguments, source)
        self.add(EventKind.TOOL_CALL, Actor.AGENT, when, payload, f"cl:{source}:call")
        if isinstance(output, str) and output:
            result = tool_result_payload(source, output, name=name)
            self.add(EventKind.TOOL_RESULT, Actor.AGENT, when, result, f"cl:{source}:result")

    def _mcp(self, text: str, when: Any, source: str) -> None:
        use = _json(text)
        server, tool = use.get("serverName"), use.get("toolName") or use.get("uri")
        name = f"mcp:{server}/{tool}"
        arguments = use.get("arguments")
        if isinstance(arguments, str):
            arguments = _json(arguments) or arguments
        payload = tool_call_payload(name, arguments, source)
        self.add(EventKind.TOOL_CALL, Actor.AGENT, when, payload, f"cl:{source}:call")
        self.mcp = (source, name)


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def live_units(root: Path, path: Path) -> list[Path]:
    """The task folder to import when ``path`` changed in the ``tasks`` folder ``root``."""
    parts = path.relative_to(root).parts
    if len(parts) == 1 or (
        len(parts) == 2 and parts[1] in (UI_MESSAGES, API_HISTORY, "history_item.json")
    ):
        return [root / parts[0]]
    return []
