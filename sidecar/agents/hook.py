"""`session-sidecar hook claude-code`: record a Claude Code session and warn it about drift.

Claude Code runs the hook command on every event it is configured for and
passes one JSON object on stdin (see docs/agents.md). This module:

* maps the agent's ``session_id`` to a store session (provider
  ``claude-code``, ``provider_ref`` = the agent's id, found again with
  ``Store.find_by_provider_ref``) and appends one event per hook: ``prompt``
  (UserPromptSubmit), ``tool_call`` (PreToolUse), ``tool_result``
  (PostToolUse, output cut to a few KB; PostToolUseFailure and
  PermissionDenied with ``isError``), ``response`` (Stop, its
  ``last_assistant_message``), ``note`` (SessionStart, SessionEnd and anything
  else); SessionEnd ends the session;
* gives every event a client event id derived from the hook input, so a
  hook that runs twice for the same thing stores it once;
* on SessionStart and UserPromptSubmit asks the drift policy about the
  agent's ``cwd``. When a strong signal holds (the branch is not the one the
  session began on, another worktree, repository, requester or machine) and
  the policy does not recommend continuing, it prints
  ``{"hookSpecificOutput": {"hookEventName": ..., "additionalContext": ...}}``
  so the model reads the warning, or, in block mode (``--block`` or
  ``SIDECAR_HOOK_MODE=block``), ``{"decision": "block", "reason": ...}`` for
  UserPromptSubmit so the prompt is refused.

It must never break the agent: every internal error is logged to
``hook.log`` in the user's state folder and the hook exits 0 with nothing on
stdout. It runs on every prompt and tool call, so imports are lazy and git
state is read from files (no pygls, lsprotocol, mcp or git subprocess).
``session-sidecar hook claude-code`` goes further: a stdlib-only client
(:mod:`sidecar.agents.hook_client`) hands the call to a resident helper
(:mod:`sidecar.agents.hook_daemon`) that calls :func:`handle`, and runs this
module in process when no helper answers.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.core.models import Boundary, NewEvent, Recommendation, Session
    from sidecar.store import Store

PROVIDER = "claude-code"
MODE_VARIABLE = "SIDECAR_HOOK_MODE"
MODES = ("warn", "block", "off")
#: Hook input larger than this is not parsed (a huge tool response); the hook logs and exits.
MAX_INPUT_BYTES = 32 * 1024 * 1024
#: Characters of a tool response kept in its ``tool_result`` event.
RESPONSE_LIMIT = 4096
#: Characters of a prompt kept in its ``prompt`` event.
PROMPT_LIMIT = 65536
#: Bytes of the transcript read to find the branch a session began on.
TRANSCRIPT_HEAD_BYTES = 256 * 1024
LOG_NAME = "hook.log"
LOG_MAX_BYTES = 1024 * 1024

_DRIFT_EVENTS = ("SessionStart", "UserPromptSubmit")


class HookInputError(ValueError):
    """The hook input is not what Claude Code sends (logged, never shown to the agent)."""


@dataclass(frozen=True)
class HookInput:
    """The fields of one hook call this module uses."""

    event: str
    session_id: str
    cwd: str
    transcript_path: str | None
    data: dict[str, Any]

    @classmethod
    def parse(cls, raw: bytes) -> HookInput:
        """Parse the JSON Claude Code wrote on stdin; raises :class:`HookInputError`."""
        if len(raw) > MAX_INPUT_BYTES:
            raise HookInputError(f"hook input of {len(raw)} bytes exceeds {MAX_INPUT_BYTES}")
        try:
            data = json.loads(raw.decode("utf-8", errors="replace") or "null")
        except (ValueError, RecursionError) as error:
            raise HookInputError(f"hook input is not JSON: {error}") from None
        if not isinstance(data, dict):
            raise HookInputError(f"hook input is {type(data).__name__}, expected a JSON object")
        event, session_id = data.get("hook_event_name"), data.get("session_id")
        if not isinstance(event, str) or not event:
            raise HookInputError("hook input has no hook_event_name")
        if not isinstance(session_id, str) or not session_id:
            raise HookInputError(f"{event} hook input has no session_id")
        cwd = data.get("cwd")
        transcript = data.get("transcript_path")
        return cls(
            event=event,
            session_id=session_id,
            cwd=cwd if isinstance(cwd, str) and cwd else os.getcwd(),
            transcript_path=transcript if isinstance(transcript, str) and transcript else None,
            data=data,
        )

    def text(self, key: str) -> str | None:
        """The string field ``key``, or None."""
        value = self.data.get(key)
        return value if isinstance(value, str) else None


# ---------------------------------------------------------------- events (pure)


def _digest(*parts: Any) -> str:
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def transcript_size(path: str | None) -> int:
    """Size of the transcript file, -1 when unknown.

    It tells two identical prompts apart (the transcript grew in between)
    while a second run for the same hook call sees the same size.
    """
    if path is None:
        return -1
    try:
        return os.stat(path).st_size
    except OSError:
        return -1


def client_event_id(hook: HookInput, phase: str, size: int) -> str:
    """The idempotency key of the event one hook call produces.

    Tool events use Claude Code's ``tool_use_id`` and the phase; the rest hash
    the session, the event, its own fields and the transcript size.
    """
    tool_use_id = hook.text("tool_use_id")
    if tool_use_id and phase in ("call", "result"):
        return f"cc:{tool_use_id}:{phase}"
    fields = {k: v for k, v in hook.data.items() if k not in ("transcript_path", "cwd")}
    return f"cc:{hook.event}:{_digest(hook.session_id, fields, size)}"


def _clip(text: str, limit: int) -> dict[str, Any]:
    if len(text) <= limit:
        return {"text": text}
    return {"text": text[:limit], "truncated": True, "size": len(text)}


def _response_text(response: Any) -> str:
    """A tool response as text, as the importer reads the same result from the
    transcript: strings as they are, content lists flattened, a shell's
    ``stdout``/``stderr`` joined, a ``content`` field read; else JSON."""
    from sidecar.importers.common import flatten_text

    if isinstance(response, str):
        return response
    if isinstance(response, list):
        return flatten_text(response)
    if isinstance(response, dict):
        if isinstance(response.get("stdout"), str) or isinstance(response.get("stderr"), str):
            parts = [response.get("stdout"), response.get("stderr")]
            return "\n".join(p for p in parts if isinstance(p, str) and p)
        if isinstance(response.get("content"), str | list):
            return flatten_text(response["content"])
    return json.dumps(response, ensure_ascii=False, default=str)


def events_for(hook: HookInput, size: int, *, blocked: bool = False) -> list[NewEvent]:
    """The events one hook call appends (pure: the input and the transcript size in)."""
    from sidecar.core.models import Actor, EventKind, NewEvent

    event = hook.event
    if event == "UserPromptSubmit":
        payload: dict[str, Any] = _clip(hook.text("prompt") or "", PROMPT_LIMIT)
        if blocked:
            payload["blocked"] = True
        kind, actor, phase = EventKind.PROMPT, Actor.USER, "prompt"
    elif event == "PreToolUse":
        from sidecar.importers.common import tool_call_payload

        payload = tool_call_payload(
            hook.data.get("tool_name"), hook.data.get("tool_input"), hook.data.get("tool_use_id")
        )
        kind, actor, phase = EventKind.TOOL_CALL, Actor.AGENT, "call"
    elif event in ("PostToolUse", "PostToolUseFailure", "PermissionDenied"):
        # One tool_result shape, whether from a hook or an import (importers.common).
        from sidecar.importers.common import tool_result_payload

        failed = event != "PostToolUse"
        if failed:
            content: Any = next(
                (hook.text(k) for k in ("error", "reason", "message") if hook.text(k)),
                "the tool call was denied" if event == "PermissionDenied" else "the tool failed",
            )
        else:
            content = _response_text(hook.data.get("tool_response"))
        payload = tool_result_payload(
            hook.data.get("tool_use_id"),
            content,
            name=hook.text("tool_name") or "",
            isError=True if failed else None,
            denied=True if event == "PermissionDenied" else None,
        )
        kind, actor, phase = EventKind.TOOL_RESULT, Actor.AGENT, "result"
    elif event == "Stop" and hook.text("last_assistant_message"):
        # The turn's answer (the transcript holds it too; the importer reads it there).
        from sidecar.importers.common import clipped_text_payload

        payload = clipped_text_payload(hook.text("last_assistant_message") or "")
        kind, actor, phase = EventKind.RESPONSE, Actor.AGENT, "response"
    else:
        payload = {"event": event, "text": _note_text(hook)}
        for key in ("source", "reason", "message"):
            if hook.text(key):
                payload[key] = hook.text(key)
        kind, actor, phase = EventKind.NOTE, Actor.SYSTEM, "note"
    payload["hook"] = event
    return [
        NewEvent(
            kind=kind,
            actor=actor,
            payload=payload,
            client_event_id=client_event_id(hook, phase, size),
        )
    ]


def _note_text(hook: HookInput) -> str:
    if hook.event == "SessionStart":
        return f"Claude Code session started ({hook.text('source') or 'startup'})."
    if hook.event == "SessionEnd":
        return f"Claude Code session ended ({hook.text('reason') or 'unknown reason'})."
    if hook.event == "Stop":
        return "Claude Code finished its turn."
    return hook.text("message") or f"Claude Code {hook.event}."


# ---------------------------------------------------------------- drift (pure)


def drift_warning(
    rec: Recommendation, session: Session, current: Boundary, resume_ref: str | None = None
) -> str:
    """The warning for the agent (the core decided that one is due), written as facts."""
    from sidecar.core.models import ReasonCode, Severity

    before = session.boundary
    if before.branch != current.branch:
        head = (
            f"[Session Sidecar] The git branch changed: this Claude Code session began on "
            f"branch '{before.branch}', but {current.worktree} is now on branch "
            f"'{current.branch}'."
        )
    else:
        head = "[Session Sidecar] This Claude Code session's boundary changed."
    lines = [head, f"Recommendation ({rec.action.value}): {rec.summary}"]
    if resume_ref:
        lines.append(f"To resume that session: claude --resume {resume_ref}")
    lines.append("Reasons:")
    lines.extend(f"- {r.message}" for r in rec.reasons if r.severity is not Severity.INFO)
    strong = [r for r in rec.reasons if r.severity is Severity.STRONG]
    if any(r.code is ReasonCode.BRANCH_CHANGED for r in strong):
        lines.append(
            f"Before editing files or committing, tell the user the branch changed and ask "
            f"whether to continue on '{current.branch}', switch back to '{before.branch}', "
            "or start a fresh session."
        )
    else:
        lines.append("Before editing files or committing, confirm with the user how to go on.")
    return "\n".join(lines)


def hook_output(event: str, warning: str, *, block: bool) -> dict[str, Any]:
    """The JSON Claude Code reads: added context, or a block decision for UserPromptSubmit."""
    if block and event == "UserPromptSubmit":
        reason = (
            f"{warning}\nThe prompt was blocked by Session Sidecar (block mode). To go on: "
            "start a fresh session (/clear), switch the branch back, or set "
            f"{MODE_VARIABLE}=warn."
        )
        return {"decision": "block", "reason": reason}
    return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": warning}}


# ---------------------------------------------------------------- shell


def read_head(path: str, limit: int) -> bytes | None:
    """The first ``limit`` bytes of the regular file at ``path``; None for anything else.

    The path comes from the hook's input: a FIFO, a device or a socket there
    must not block or feed the hook (opened non-blocking, checked, refused),
    nor a file the user cannot read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read(limit)
    except OSError:
        return None
    finally:
        os.close(fd)


def transcript_branch(path: str | None) -> str | None:
    """The first branch the transcript recorded (``gitBranch``), if it names one.

    Used when the hook meets a session it has not seen start (hooks installed
    mid-session), so the session is bound to where it began. ``HEAD``
    (detached) and ``""`` (outside git) name no branch.
    """
    head = read_head(path, TRANSCRIPT_HEAD_BYTES) if path is not None else None
    if head is None:
        return None
    for raw in head.split(b"\n"):
        if b'"gitBranch"' not in raw:
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        branch = line.get("gitBranch") if isinstance(line, dict) else None
        if isinstance(branch, str) and branch and branch != "HEAD":
            return branch
    return None


def run(raw: bytes, *, mode: str = "warn", store: Store | None = None) -> dict[str, Any] | None:
    """Handle one hook call: record it and return the JSON to print (None: print nothing).

    ``store`` is an open store to use (and leave open), as the resident hook
    helper keeps one per database; None opens ``$SIDECAR_DB`` for this call.
    Raises on any problem; :func:`handle` turns that into a log line.
    """
    hook = HookInput.parse(raw)
    size = transcript_size(hook.transcript_path)
    with _store_for_call(store) as opened:
        return _record(opened, hook, size, mode)


@contextlib.contextmanager
def _store_for_call(store: Store | None) -> Iterator[Store]:
    """The given store, left open; else a store opened and closed around the call."""
    if store is not None:
        yield store
        return
    from sidecar.store import Store

    with Store.open() as opened:
        yield opened


def _record(store: Store, hook: HookInput, size: int, mode: str) -> dict[str, Any] | None:
    """Record the call through the core and return the JSON to print."""
    from sidecar.services.agents import AgentCall, record_agent_call

    fresh_start = hook.event == "SessionStart" and hook.text("source") in (None, "startup", "clear")
    call = AgentCall(
        provider=PROVIDER,
        ref=hook.session_id,
        cwd=hook.cwd,
        events=lambda blocked: events_for(hook, size, blocked=blocked),
        check_drift=hook.event in _DRIFT_EVENTS,
        prompt=hook.text("prompt") if hook.event == "UserPromptSubmit" else None,
        starts_fresh=fresh_start,
        began_on=lambda: transcript_branch(hook.transcript_path),
        reopens=hook.event == "SessionStart",
        ends=hook.event == "SessionEnd",
    )
    outcome = record_agent_call(store, call, mode=mode)
    if outcome.warning is None:
        return None
    target = outcome.resume_target
    warning = drift_warning(
        outcome.warning,
        outcome.session,
        outcome.current,
        target.provider_ref if target is not None else None,
    )
    output = hook_output(hook.event, warning, block=mode == "block")
    _log(f"drift warning for {hook.session_id}: {outcome.session.boundary.branch} -> "
         f"{outcome.current.branch} ({'blocked' if outcome.blocked else 'warned'})")  # fmt: skip
    return output


def resolve_mode(block: bool = False, environ: Mapping[str, str] | None = None) -> str:
    """``block`` when asked by flag, else ``$SIDECAR_HOOK_MODE`` (warn, block, off), else warn."""
    if block:
        return "block"
    value = (environ if environ is not None else os.environ).get(MODE_VARIABLE, "").strip().lower()
    return value if value in MODES else "warn"


def log_path() -> Path:
    """``hook.log`` in the user's state folder (``$XDG_STATE_HOME/session-sidecar`` on Linux)."""
    import platformdirs

    return Path(platformdirs.user_state_dir("session-sidecar", appauthor=False)) / LOG_NAME


def _log(message: str) -> None:
    """Append one line to the hook log; a failure to log is itself ignored."""
    try:
        path = log_path()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if path.exists() and path.stat().st_size > LOG_MAX_BYTES:
            path.replace(path.with_name(LOG_NAME + ".1"))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        from sidecar.core.redact import redact_text  # a hook input may hold secrets

        line = redact_text(" ".join(message.split()))
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with open(fd, "a", encoding="utf-8") as handle:
            handle.write(f"{stamp} pid={os.getpid()} {line}\n")
    except Exception:
        pass  # the hook must never fail because logging failed


def handle(
    raw: bytes,
    *,
    block: bool = False,
    environ: Mapping[str, str] | None = None,
    store: Store | None = None,
) -> tuple[str, str]:
    """Run one hook call and return (stdout, stderr) text; never raises.

    The mode comes from ``block`` and ``environ`` (default ``os.environ``).
    Errors are logged and described on stderr; stdout then stays empty, so
    the agent never reads a half answer.
    """
    try:
        output = run(raw, mode=resolve_mode(block, environ), store=store)
    except Exception as error:
        return "", _failure(error)
    return ("" if output is None else json.dumps(output, ensure_ascii=False) + "\n"), ""


def _failure(error: Exception) -> str:
    """Log an error and return the stderr line that describes it."""
    message = f"{type(error).__name__}: {error}"
    _log(f"error: {message}")
    return f"session-sidecar hook: {' '.join(message.split())}\n"


def main(*, block: bool = False, stdin: Any = None, stdout: Any = None) -> int:
    """Run the hook on stdin; always returns 0 (errors go to the log and stderr)."""
    source = stdin if stdin is not None else sys.stdin.buffer
    sink = stdout if stdout is not None else sys.stdout
    try:
        raw = source.read(MAX_INPUT_BYTES + 1)
    except Exception as error:
        out, err = "", _failure(error)
    else:
        out, err = handle(raw, block=block)
    if out:
        try:
            sink.write(out)
            sink.flush()
        except Exception as error:
            err += _failure(error)
    if err:
        with contextlib.suppress(Exception):  # stderr may be closed; the log has it
            sys.stderr.write(err)
            sys.stderr.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(block="--block" in sys.argv[1:]))
