"""`session-sidecar hook <agent>`: record an agent's session and warn it about drift.

The agent runs the hook command on every event it is configured for and
passes one JSON object on stdin (see docs/agents.md). The agent's dialect
(:mod:`sidecar.agents.registry`) turns it into a
:class:`~sidecar.agents.dialect.HookEvent`; this module then, the same for
every agent:

* maps the agent's session id to a store session (provider = the agent,
  ``provider_ref`` = its id) and appends one event per call: ``prompt``,
  ``tool_call``, ``tool_result`` (output cut to a few KB; failed and denied
  calls with ``isError``), ``response`` (the turn's answer), ``note`` (start,
  end and anything else); an end ends the session;
* gives every event a client event id derived from the hook input, so a
  hook that runs twice for the same thing stores it once;
* on the calls whose output reaches the model asks the core
  (:mod:`sidecar.services.agents`) whether the agent must be warned and
  prints the agent's own JSON for it: added context, or in block mode
  (``--block`` or ``SIDECAR_HOOK_MODE=block``) a refused prompt.

It must never break the agent: every internal error is logged to
``hook.log`` in the user's state folder and the hook exits 0 with nothing on
stdout. It runs in a fresh process on every prompt and tool call, so imports
are lazy and git state is read from files (no pygls, lsprotocol, mcp or git
subprocess). The calls that carry nothing to the model (tool calls and
results, answers) take the core's quiet path: neither pydantic nor the policy
is imported (about 50 ms a call; docs/agents.md).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sidecar.agents.dialect import Dialect, HookEvent, HookInputError, Step, Warning
from sidecar.agents.transcript import transcript_size

if TYPE_CHECKING:
    from sidecar.core.kinds import EventDraft
    from sidecar.core.models import Boundary, Recommendation, Session
    from sidecar.store import Store

MODE_VARIABLE = "SIDECAR_HOOK_MODE"
MODES = ("warn", "block", "off")
#: Hook input larger than this is not parsed (a huge tool response); the hook logs and exits.
MAX_INPUT_BYTES = 32 * 1024 * 1024
#: Characters of a tool response kept in its ``tool_result`` event.
RESPONSE_LIMIT = 4096
#: Characters of a prompt kept in its ``prompt`` event.
PROMPT_LIMIT = 65536
LOG_NAME = "hook.log"
LOG_MAX_BYTES = 1024 * 1024

__all__ = ["HookInputError", "handle", "main", "run"]


def parse_input(dialect: Dialect, raw: bytes) -> HookEvent:
    """The agent's stdin as a :class:`HookEvent`; raises :class:`HookInputError`."""
    if len(raw) > MAX_INPUT_BYTES:
        raise HookInputError(f"hook input of {len(raw)} bytes exceeds {MAX_INPUT_BYTES}")
    try:
        data = json.loads(raw.decode("utf-8", errors="replace") or "null")
    except (ValueError, RecursionError) as error:
        raise HookInputError(f"hook input is not JSON: {error}") from None
    if not isinstance(data, dict):
        raise HookInputError(f"hook input is {type(data).__name__}, expected a JSON object")
    return dialect.parse(data)


# ---------------------------------------------------------------- events (pure)


def _digest(*parts: Any) -> str:
    import hashlib  # tool events are keyed by the agent's own ids: most calls need no hash

    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def client_event_id(dialect: Dialect, hook: HookEvent, phase: str, size: int) -> str:
    """The idempotency key of the event one hook call produces.

    Tool events use the agent's tool call id and the phase (an import of the
    same session's transcript uses the same keys); the rest hash the session,
    the event, its own fields and what tells the call apart from an identical
    later one: the transcript's size, else the agent's turn id or timestamp,
    else the clock (then a hook run twice records twice rather than a
    repeated prompt being lost).
    """
    prefix = dialect.id_prefix
    if hook.tool_id and phase in ("call", "result"):
        return f"{prefix}:{hook.tool_id}:{phase}"
    fields = {k: v for k, v in hook.data.items() if k not in ("transcript_path", "cwd")}
    marker: Any = size if size >= 0 else (hook.turn or time.time_ns())
    return f"{prefix}:{hook.event}:{_digest(hook.session_id, fields, marker)}"


def _response_text(response: Any) -> str:
    """A tool response as text, as the importer reads the same result from the
    transcript: strings as they are, content lists flattened, a shell's
    ``stdout``/``stderr`` joined, a ``content`` field read; else JSON."""
    from sidecar.core.payloads import flatten_text

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


def events_for(
    dialect: Dialect, hook: HookEvent, size: int, *, blocked: bool = False
) -> list[EventDraft]:
    """The events one hook call appends (pure but for the clock in a fallback id).

    They are :class:`~sidecar.core.kinds.EventDraft` objects (built here, so
    nothing to validate); the store checks, redacts and numbers them like any
    client's events.
    """
    from sidecar.core.kinds import Actor, EventDraft, EventKind
    from sidecar.core.payloads import (
        clipped_text_payload,
        tool_call_payload,
        tool_result_payload,
    )

    if hook.step is Step.PROMPT:
        payload: dict[str, Any] = clipped_text_payload(hook.prompt or "", PROMPT_LIMIT)
        if blocked:
            payload["blocked"] = True
        kind, actor, phase = EventKind.PROMPT, Actor.USER, "prompt"
    elif hook.step is Step.TOOL_CALL:
        payload = tool_call_payload(hook.tool_name, hook.tool_input, hook.tool_id)
        kind, actor, phase = EventKind.TOOL_CALL, Actor.AGENT, "call"
    elif hook.step is Step.TOOL_RESULT:
        # One tool_result shape, whether from a hook or an import (core/payloads.py).
        content = hook.tool_output if hook.failed else _response_text(hook.tool_output)
        payload = tool_result_payload(
            hook.tool_id,
            content,
            name=hook.tool_name or "",
            isError=True if hook.failed else None,
            denied=True if hook.denied else None,
        )
        kind, actor, phase = EventKind.TOOL_RESULT, Actor.AGENT, "result"
    elif hook.step is Step.RESPONSE:
        payload = clipped_text_payload(hook.text or "")
        kind, actor, phase = EventKind.RESPONSE, Actor.AGENT, "response"
    else:
        payload = {"event": hook.event, "text": _note_text(dialect, hook)}
        if hook.source:
            payload["source"] = hook.source
        if hook.text:
            payload["reason" if hook.step is Step.END else "message"] = hook.text
        kind, actor, phase = EventKind.NOTE, Actor.SYSTEM, "note"
    payload["hook"] = hook.event
    return [
        EventDraft(
            kind=kind,
            actor=actor,
            payload=payload,
            client_event_id=client_event_id(dialect, hook, phase, size),
        )
    ]


def _note_text(dialect: Dialect, hook: HookEvent) -> str:
    if hook.step is Step.START:
        return f"{dialect.label} session started ({hook.source or 'startup'})."
    if hook.step is Step.END:
        return f"{dialect.label} session ended ({hook.text or 'unknown reason'})."
    return hook.text or f"{dialect.label} {hook.event}."


# ---------------------------------------------------------------- drift (pure)


def drift_warning(
    dialect: Dialect,
    rec: Recommendation,
    session: Session,
    current: Boundary,
    resume: Session | None = None,
) -> str:
    """The warning for the agent (the core decided that one is due), written as facts."""
    from sidecar.core.kinds import ReasonCode, Severity

    before = session.boundary
    if before.branch != current.branch:
        head = (
            f"[Session Sidecar] The git branch changed: this {dialect.label} session began on "
            f"branch '{before.branch}', but {current.worktree} is now on branch "
            f"'{current.branch}'."
        )
    else:
        head = f"[Session Sidecar] This {dialect.label} session's boundary changed."
    lines = [head, f"Recommendation ({rec.action.value}): {rec.summary}"]
    if resume is not None and resume.provider_ref and resume.boundary.provider == dialect.provider:
        lines.append(
            f"The user can resume the session of branch '{resume.boundary.branch}' with: "
            f"{dialect.resume_hint(resume.provider_ref)}"
        )
    lines.append("Reasons:")
    lines.extend(f"- {r.message}" for r in rec.reasons if r.severity is not Severity.INFO)
    strong = [r for r in rec.reasons if r.severity is Severity.STRONG]
    if any(r.code is ReasonCode.BRANCH_CHANGED for r in strong):
        lines.append(
            f"The user has not yet said whether to continue on '{current.branch}', switch "
            f"back to '{before.branch}', or start a fresh session; files edited or commits "
            f"made now land on '{current.branch}'."
        )
    else:
        lines.append("The user has not yet said how to go on with the changed boundary.")
    return "\n".join(lines)


def block_reason(warning: str) -> str:
    """The reason shown when block mode refuses a prompt."""
    return (
        f"{warning}\nThe prompt was blocked by Session Sidecar (block mode). To go on: "
        "start a fresh session, switch the branch back, or set "
        f"{MODE_VARIABLE}=warn."
    )


# ---------------------------------------------------------------- shell


def run(
    agent: str, raw: bytes, *, mode: str = "warn", store: Store | None = None
) -> dict[str, Any] | None:
    """Handle one hook call of ``agent``: record it and return the JSON to print (None: nothing).

    ``store`` is an open store to use (and leave open); None opens
    ``$SIDECAR_DB`` for this call.
    Raises on any problem; :func:`handle` turns that into a log line.
    """
    from sidecar.agents.registry import dialect as dialect_for

    dialect = dialect_for(agent)
    hook = parse_input(dialect, raw)
    size = transcript_size(hook.transcript_path)
    with _store_for_call(store) as opened:
        return _record(opened, dialect, hook, size, mode)


@contextlib.contextmanager
def _store_for_call(store: Store | None) -> Iterator[Store]:
    """The given store, left open; else a store opened and closed around the call."""
    if store is not None:
        yield store
        return
    from sidecar.store import Store

    with Store.open() as opened:
        yield opened


def _record(
    store: Store, dialect: Dialect, hook: HookEvent, size: int, mode: str
) -> dict[str, Any] | None:
    """Record the call through the core and return the JSON to print."""
    from sidecar.services.agents import AgentCall, record_agent_call

    began_on = dialect.began_on
    call = AgentCall(
        provider=dialect.provider,
        ref=hook.session_id,
        cwd=hook.cwd or os.getcwd(),
        events=lambda blocked: events_for(dialect, hook, size, blocked=blocked),
        check_drift=hook.carries_context,
        prompt=hook.prompt if hook.step is Step.PROMPT else None,
        starts_fresh=hook.starts_fresh,
        began_on=(lambda: began_on(hook)) if began_on is not None else None,
        is_start=hook.step is Step.START,
        ends=hook.step is Step.END,
    )
    outcome = record_agent_call(store, call, mode=mode)
    warning: Warning | None = None
    told = outcome.warning
    if told is not None:
        text = drift_warning(
            dialect, told.recommendation, told.session, told.current, told.resume_target
        )
        warning = Warning(block_reason(text) if told.blocked else text, told.blocked)
        _log(f"{dialect.provider} drift warning for {hook.session_id}: "
             f"{told.session.boundary.branch} -> {told.current.branch} "
             f"({'blocked' if told.blocked else 'warned'})")  # fmt: skip
    return dialect.output(hook, warning, outcome.title)


def resolve_mode(block: bool = False, environ: Mapping[str, str] | None = None) -> str:
    """``block`` when asked by flag, else ``$SIDECAR_HOOK_MODE`` (warn, block, off), else warn."""
    if block:
        return "block"
    value = (environ if environ is not None else os.environ).get(MODE_VARIABLE, "").strip().lower()
    return value if value in MODES else "warn"


def log_path() -> Path:
    """``hook.log`` in the user's state folder (``$XDG_STATE_HOME/session-sidecar`` on Linux)."""
    from sidecar.store.paths import user_dir

    return user_dir("state") / LOG_NAME


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
    agent: str,
    raw: bytes,
    *,
    block: bool = False,
    environ: Mapping[str, str] | None = None,
    store: Store | None = None,
) -> tuple[str, str]:
    """Run one hook call of ``agent`` and return (stdout, stderr) text; never raises.

    The mode comes from ``block`` and ``environ`` (default ``os.environ``).
    Errors are logged and described on stderr; stdout then stays empty, so
    the agent never reads a half answer.
    """
    try:
        output = run(agent, raw, mode=resolve_mode(block, environ), store=store)
    except Exception as error:
        return "", _failure(error)
    return ("" if output is None else json.dumps(output, ensure_ascii=False) + "\n"), ""


def _failure(error: Exception) -> str:
    """Log an error and return the stderr line that describes it."""
    message = f"{type(error).__name__}: {error}"
    _log(f"error: {message}")
    return f"session-sidecar hook: {' '.join(message.split())}\n"


def main(agent: str, *, block: bool = False, stdin: Any = None, stdout: Any = None) -> int:
    """Run ``agent``'s hook on stdin; always returns 0 (errors go to the log and stderr)."""
    source = stdin if stdin is not None else sys.stdin.buffer
    sink = stdout if stdout is not None else sys.stdout
    try:
        raw = source.read(MAX_INPUT_BYTES + 1)
    except Exception as error:
        out, err = "", _failure(error)
    else:
        out, err = handle(agent, raw, block=block)
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
    raise SystemExit(main(sys.argv[1], block="--block" in sys.argv[2:]))
