"""opencode's hook language (``session-sidecar hook opencode``), spoken through a plugin.

opencode runs no hook commands; it loads JS plugins from
``~/.config/opencode/plugin/``. ``hooks install opencode`` writes one,
``session-sidecar.js`` (:data:`PLUGIN_TEMPLATE`), which runs ``session-sidecar
hook opencode`` with one JSON object on stdin per step and reads the answer
back. The object is the plugin's own design (opencode's names where it has
them): ``hook_event_name``, ``session_id``, ``cwd`` and per event

* ``session.created`` (bus event): ``source`` ``startup``, ``title``,
  ``parent_session_id`` for a sub-agent's session (opencode's task tool);
* ``session.resumed``: the first ``chat.message`` of this opencode process
  for a session it did not create (opencode has no resume event);
  ``process`` tells processes apart;
* ``chat.message``: ``prompt`` (the user's text parts), ``message_id``, ``agent``;
* ``tool.execute.before``: ``tool_name``, ``tool_id`` (opencode's ``callID``),
  ``tool_input``; ``tool.execute.after``: the same and ``tool_output``;
* ``tool.failed`` (bus ``message.part.updated``, a tool part in state
  ``error``: opencode calls no ``tool.execute.after`` then): ``error``;
* ``text.complete`` (``experimental.text.complete``): ``text``, one completed
  text part of the agent's answer, ``message_id``, ``part_id``;
* ``subagent.started``: on the parent session, ``subagent_session_id``, ``title``;
* ``session.deleted`` (bus event) and ``process.exit`` (the opencode process
  exits): the session ends, ``reason``; ``session.error``: ``error``.

Output: ``{"hookSpecificOutput": {"hookEventName", "additionalContext"}}`` on
``session.created``, ``session.resumed`` and ``chat.message``; the plugin
keeps the text and adds it to every system prompt of that session's turn
(``experimental.chat.system.transform``), so it reaches the model as a
``system`` message of the request. Block mode answers a prompt with
``{"decision": "block", "reason"}``; the plugin then throws from
``chat.message``, which refuses the prompt.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sidecar.agents.dialect import Dialect, HookEvent, Step, Warning, event_fields, text_field
from sidecar.agents.hook_settings import SettingsChange, SettingsError, is_our_command, project_root

AGENT = "opencode"
PLUGIN_NAME = "session-sidecar.js"
#: The first line of the plugin file: how install and uninstall recognise ours.
MARKER = "// session-sidecar opencode plugin"

#: The plugin events whose answer the plugin puts into the model's system prompt.
_CONTEXT_EVENTS = frozenset({"session.created", "session.resumed", "chat.message"})
#: Events that happen once per session: their name tells a repeated call apart.
_ONCE_EVENTS = frozenset({"session.created", "session.deleted"})
#: Error texts of a tool call the user (or a permission rule) refused, as opencode words them.
_DENIED = ("rejected permission", "specified a rule", "user dismissed", "QuestionRejectedError")


def parse(data: Mapping[str, Any]) -> HookEvent:
    """The plugin's JSON (see the module docstring) as a :class:`HookEvent`."""
    event, common = event_fields(data)
    common.update(
        carries_context=event in _CONTEXT_EVENTS,
        # opencode gives no transcript whose size tells a repeated call apart.
        turn=text_field(data, "part_id", "message_id", "process")
        or (event if event in _ONCE_EVENTS else None),
    )
    if event in ("session.created", "session.resumed"):
        source = text_field(data, "source") or (
            "startup" if event == "session.created" else "resume"
        )
        parent = text_field(data, "parent_session_id")
        text = f"sub-agent session of {parent}" if parent else None
        return HookEvent(Step.START, source=source, text=text, **common)
    if event == "chat.message":
        prompt = data.get("prompt")
        return HookEvent(Step.PROMPT, prompt=prompt if isinstance(prompt, str) else "", **common)
    tool: dict[str, Any] = {
        "tool_name": text_field(data, "tool_name"),
        "tool_input": data.get("tool_input"),
        "tool_id": text_field(data, "tool_id"),
    }
    if event == "tool.execute.before":
        return HookEvent(Step.TOOL_CALL, **tool, **common)
    if event == "tool.execute.after":
        return HookEvent(Step.TOOL_RESULT, tool_output=data.get("tool_output"), **tool, **common)
    if event == "tool.failed":
        error = text_field(data, "error") or "the tool failed"
        denied = any(marker in error for marker in _DENIED)
        return HookEvent(
            Step.TOOL_RESULT, tool_output=error, failed=True, denied=denied, **tool, **common
        )
    if event == "text.complete":
        text = text_field(data, "text")
        if text is not None:
            return HookEvent(Step.RESPONSE, text=text, **common)
        return HookEvent(Step.NOTE, text="opencode completed an empty text.", **common)
    if event in ("session.deleted", "process.exit"):
        return HookEvent(Step.END, text=text_field(data, "reason") or event, **common)
    if event == "subagent.started":
        child = text_field(data, "subagent_session_id") or "?"
        title = text_field(data, "title")
        text = f"opencode started sub-agent session {child}" + (f": {title}" if title else ".")
        return HookEvent(Step.NOTE, text=text, **common)
    return HookEvent(Step.NOTE, text=text_field(data, "error", "message", "reason"), **common)


def output(hook: HookEvent, warning: Warning | None, title: str | None) -> dict[str, Any] | None:
    """The JSON the plugin reads back: context for the model, or a refused prompt.

    ``title`` is not used: opencode titles its sessions itself.
    """
    if warning is None or not hook.carries_context:
        return None
    if warning.block and hook.step is Step.PROMPT:
        return {"decision": "block", "reason": warning.text}
    return {"hookSpecificOutput": {"hookEventName": hook.event, "additionalContext": warning.text}}


DIALECT = Dialect(
    provider="opencode",
    label="opencode",
    id_prefix="oc",
    resume_command="opencode --session {ref}",
    parse=parse,
    output=output,
)


# ---------------------------------------------------------------- the plugin

#: The plugin file; ``__COMMAND__`` and ``__TIMEOUT_MS__`` are filled in as JSON literals.
PLUGIN_TEMPLATE = (
    MARKER
    + """ (written by `session-sidecar hooks install opencode`;
// `session-sidecar hooks uninstall opencode` removes this file, recognised by its first line).
// It runs the sidecar's hook command for each step of an opencode session and puts the
// drift warning the command answers into the model's system prompt for that turn.
import { spawn, spawnSync } from "node:child_process"

const COMMAND = __COMMAND__
const TIMEOUT_MS = __TIMEOUT_MS__
const PROCESS = `${process.pid}-${Date.now()}`

// One call at a time, in the order opencode reported them (bus events are not awaited).
let queue = Promise.resolve(null)

function call(payload) {
  return new Promise((resolve) => {
    let out = ""
    let child
    try {
      child = spawn(COMMAND, { shell: true, stdio: ["pipe", "pipe", "ignore"] })
    } catch {
      resolve(null)
      return
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), TIMEOUT_MS)
    child.stdout.on("data", (chunk) => {
      out += chunk
    })
    child.on("error", () => {
      clearTimeout(timer)
      resolve(null)
    })
    child.on("close", () => {
      clearTimeout(timer)
      try {
        resolve(out.trim() ? JSON.parse(out) : null)
      } catch {
        resolve(null)
      }
    })
    child.stdin.on("error", () => {})
    child.stdin.end(JSON.stringify(payload))
  })
}

function send(payload) {
  const answer = queue.then(() => call(payload))
  queue = answer.catch(() => null)
  return answer
}

function contextOf(answer) {
  const text = answer?.hookSpecificOutput?.additionalContext
  return typeof text === "string" && text ? text : null
}

export const SessionSidecar = async ({ directory }) => {
  const seen = new Set() // sessions started or resumed in this process
  const context = new Map() // session id -> warnings for this turn's system prompt
  const payload = (event, sessionID, fields) => ({
    hook_event_name: event,
    session_id: sessionID,
    cwd: directory,
    ...fields,
  })
  const keep = (sessionID, texts) => {
    const unique = [...new Set(texts.filter((t) => t))]
    if (unique.length) context.set(sessionID, unique)
    else context.delete(sessionID)
  }

  // opencode has no session end in a headless run: the process exit ends its sessions.
  process.once("exit", () => {
    for (const sessionID of seen) {
      try {
        spawnSync(COMMAND, {
          shell: true,
          input: JSON.stringify(
            payload("process.exit", sessionID, { reason: "exit", process: PROCESS }),
          ),
          stdio: ["pipe", "ignore", "ignore"],
          timeout: TIMEOUT_MS,
        })
      } catch {}
    }
  })

  return {
    event: async ({ event }) => {
      const p = event.properties ?? {}
      if (event.type === "session.created") {
        const info = p.info ?? {}
        const sessionID = info.id ?? p.sessionID
        if (!sessionID || seen.has(sessionID)) return
        seen.add(sessionID)
        if (info.parentID) {
          send(
            payload("subagent.started", info.parentID, {
              subagent_session_id: sessionID,
              title: info.title,
            }),
          )
        }
        const answer = await send(
          payload("session.created", sessionID, {
            source: "startup",
            title: info.title,
            parent_session_id: info.parentID,
          }),
        )
        keep(sessionID, [contextOf(answer)])
      } else if (event.type === "session.deleted") {
        const sessionID = p.info?.id ?? p.sessionID
        if (sessionID) send(payload("session.deleted", sessionID, { reason: "deleted" }))
      } else if (event.type === "session.error") {
        const error = p.error?.data?.message ?? p.error?.name
        if (p.sessionID && error) {
          send(payload("session.error", p.sessionID, { error: String(error) }))
        }
      } else if (event.type === "message.part.updated") {
        const part = p.part
        if (part?.type === "tool" && part.state?.status === "error") {
          send(
            payload("tool.failed", part.sessionID, {
              tool_name: part.tool,
              tool_id: part.callID,
              tool_input: part.state.input,
              error: String(part.state.error ?? ""),
            }),
          )
        }
      }
    },
    "chat.message": async (input, output) => {
      const sessionID = input.sessionID
      const texts = []
      if (!seen.has(sessionID)) {
        // A session this process did not create: the user resumed it (opencode -s / -c).
        seen.add(sessionID)
        const resumed = await send(
          payload("session.resumed", sessionID, { source: "resume", process: PROCESS }),
        )
        texts.push(contextOf(resumed))
      }
      const prompt = (output.parts ?? [])
        .filter((part) => part.type === "text" && !part.synthetic && !part.ignored)
        .map((part) => part.text)
        .join("\\n")
      const answer = await send(
        payload("chat.message", sessionID, {
          prompt,
          message_id: output.message?.id ?? input.messageID,
          agent: input.agent,
        }),
      )
      texts.push(contextOf(answer))
      keep(sessionID, texts)
      if (answer?.decision === "block") {
        // opencode shows a plugin's error only as "Unexpected server error": say why here.
        process.stderr.write(`${answer.reason}\n`)
        throw new Error(String(answer.reason))
      }
    },
    "tool.execute.before": async (input, output) => {
      await send(
        payload("tool.execute.before", input.sessionID, {
          tool_name: input.tool,
          tool_id: input.callID,
          tool_input: output.args,
        }),
      )
    },
    "tool.execute.after": async (input, output) => {
      await send(
        payload("tool.execute.after", input.sessionID, {
          tool_name: input.tool,
          tool_id: input.callID,
          tool_input: input.args,
          tool_output: output.output,
        }),
      )
    },
    "experimental.text.complete": async (input, output) => {
      if (!output.text) return
      await send(
        payload("text.complete", input.sessionID, {
          message_id: input.messageID,
          part_id: input.partID,
          text: output.text,
        }),
      )
    },
    "experimental.chat.system.transform": async (input, output) => {
      const texts = input.sessionID ? context.get(input.sessionID) : undefined
      if (texts) output.system.push(...texts)
    },
  }
}
"""
)


def plugin_source(command: str, timeout: int) -> str:
    """The plugin file that runs ``command`` (a shell command line), ``timeout`` seconds at most."""
    return PLUGIN_TEMPLATE.replace("__COMMAND__", json.dumps(command)).replace(
        "__TIMEOUT_MS__", str(int(timeout) * 1000)
    )


def is_our_plugin(text: str) -> bool:
    """True for a plugin file ``hooks install opencode`` wrote."""
    return text.startswith(MARKER)


def plugin_path(scope: str, folder: Path | None = None) -> Path:
    """``$XDG_CONFIG_HOME/opencode/plugin/session-sidecar.js`` (user; default
    ``~/.config``), or the project's ``.opencode/plugin/session-sidecar.js`` (local)."""
    if scope == "user":
        config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        return Path(config) / "opencode" / "plugin" / PLUGIN_NAME
    if scope == "local":
        return project_root(folder) / ".opencode" / "plugin" / PLUGIN_NAME
    raise SettingsError(f"unknown scope {scope!r}; use one of: user, local")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise SettingsError(f"cannot read {path}: {error}; fix or remove it by hand") from error


def _backup(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.bak-{stamp}")
    counter = 1
    while backup.exists():
        backup = path.with_name(f"{path.name}.bak-{stamp}-{counter}")
        counter += 1
    shutil.copy2(path, backup)
    return backup


class PluginInstaller:
    """``hooks install|uninstall opencode``: one plugin file, ours by its first line."""

    scopes: tuple[str, ...] = ("user", "local")

    def path(self, scope: str, folder: Path | None = None) -> Path:
        """The plugin file of ``scope``."""
        return plugin_path(scope, folder)

    def install(self, path: Path, command: str, *, timeout: int) -> SettingsChange:
        """Write the plugin; nothing when the same one is there; another file is backed up."""
        wanted = plugin_source(command, timeout)
        existing = _read(path)
        change = SettingsChange(path, 0, None, command, [AGENT + " plugin"])
        if existing == wanted:
            return change
        if existing is not None and not is_our_plugin(existing):
            change.backup = _backup(path)
            change.notes.append(f"{path.name} was not written by session-sidecar; kept as backup")
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        temporary.write_text(wanted, encoding="utf-8")
        os.replace(temporary, path)
        change.changed = 1
        change.notes.append("opencode loads the plugin when it next starts")
        return change

    def uninstall(self, path: Path) -> SettingsChange:
        """Remove the plugin file if it is ours; any other file stays."""
        existing = _read(path)
        if existing is None:
            return SettingsChange(path, 0)
        if not is_our_plugin(existing):
            change = SettingsChange(path, 0)
            change.notes.append(f"{path} was not written by session-sidecar; left as it is")
            return change
        path.unlink()
        return SettingsChange(path, 1)

    def is_ours(self, command: str) -> bool:
        """True for a command that runs ``session-sidecar hook opencode``."""
        return is_our_command(command, AGENT)


INSTALLER = PluginInstaller()
