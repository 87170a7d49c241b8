"""`session-sidecar hook claude-code`: record a Claude Code session and warn it about drift.

Claude Code runs the hook command on every event it is configured for and
passes one JSON object on stdin (see docs/agents.md). This module:

* maps the agent's ``session_id`` to a store session (provider
  ``claude-code``, ``provider_ref`` = the agent's id, found again with
  ``Store.find_by_provider_ref``) and appends one event per hook: ``prompt``
  (UserPromptSubmit), ``tool_call`` (PreToolUse), ``tool_result``
  (PostToolUse, output cut to a few KB), ``note`` (SessionStart, Stop,
  SessionEnd and anything else); SessionEnd ends the session;
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
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.core.models import Boundary, NewEvent, Recommendation, Session
    from sidecar.git.reader import GitState
    from sidecar.store import Store

PROVIDER = "claude-code"
#: Tag on sessions this hook records, so transcript imports leave them alone.
HOOK_TAG = "hook"
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
#: Branch label used outside git (as the language server uses it).
NO_BRANCH = "-"

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
    """A tool response as text: strings as they are, content lists flattened, else JSON."""
    if isinstance(response, str):
        return response
    if isinstance(response, list):
        from sidecar.importers.common import flatten_text

        return flatten_text(response)
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
    elif event == "PostToolUse":
        text = _response_text(hook.data.get("tool_response"))
        clipped = _clip(text, RESPONSE_LIMIT)
        payload = {
            "toolUseId": hook.text("tool_use_id"),
            "name": hook.text("tool_name") or "",
            "content": clipped.pop("text"),
            **clipped,
        }
        kind, actor, phase = EventKind.TOOL_RESULT, Actor.AGENT, "result"
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


def drift_warning(rec: Recommendation, session: Session, current: Boundary) -> str | None:
    """The warning for the agent, or None when nothing strong changed or continuing is fine.

    Deferred recommendations (a rebase or merge in progress) say nothing.
    """
    from sidecar.core.models import Action, ReasonCode, Severity

    strong = [r for r in rec.reasons if r.severity is Severity.STRONG]
    if rec.deferred or rec.action is Action.CONTINUE or not strong:
        return None
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
    target_ref = _resume_hint(rec)
    if target_ref:
        lines.append(f"To resume that session: claude --resume {target_ref}")
    lines.append("Reasons:")
    lines.extend(f"- {r.message}" for r in rec.reasons if r.severity is not Severity.INFO)
    if any(r.code is ReasonCode.BRANCH_CHANGED for r in strong):
        lines.append(
            f"Before editing files or committing, tell the user the branch changed and ask "
            f"whether to continue on '{current.branch}', switch back to '{before.branch}', "
            "or start a fresh session."
        )
    else:
        lines.append("Before editing files or committing, confirm with the user how to go on.")
    return "\n".join(lines)


def _resume_hint(rec: Recommendation) -> str | None:
    """The Claude Code session id to resume, carried in the resumable_session reason."""
    from sidecar.core.models import ReasonCode

    for reason in rec.reasons:
        if reason.code is ReasonCode.RESUMABLE_SESSION:
            ref = reason.evidence.get("providerRef")
            return ref if isinstance(ref, str) else None
    return None


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


def _boundary(state: GitState | None, cwd: str) -> Boundary:
    from sidecar.core.models import Boundary
    from sidecar.services.boundary import boundary_from_state, machine_name

    if state is None:
        import getpass

        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "unknown"
        path = os.path.realpath(cwd)
        return Boundary(
            repository=path,
            worktree=path,
            branch=NO_BRANCH,
            requester=user,
            machine=machine_name(),
            provider=PROVIDER,
        )
    return boundary_from_state(state, machine=machine_name(), provider=PROVIDER)


def transcript_branch(path: str | None) -> str | None:
    """The first branch the transcript recorded (``gitBranch``), if it names one.

    Used when the hook meets a session it has not seen start (hooks installed
    mid-session), so the session is bound to where it began. ``HEAD``
    (detached) and ``""`` (outside git) name no branch.
    """
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.read(TRANSCRIPT_HEAD_BYTES)
    except OSError:
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


def _session_for(
    store: Store, hook: HookInput, current: Boundary, state: GitState | None
) -> tuple[Session, bool]:
    """The store session of the agent's session, created on first sight; and whether new."""
    found = store.find_by_provider_ref(PROVIDER, hook.session_id)
    if found is not None:
        return found, False
    boundary = current
    fresh_start = hook.event == "SessionStart" and hook.text("source") in (None, "startup", "clear")
    if not fresh_start:
        began_on = transcript_branch(hook.transcript_path)
        if began_on and state is not None and not state.detached:
            boundary = current.model_copy(update={"branch": began_on})
    session = store.start_session(
        boundary,
        provider_ref=hook.session_id,
        tags=(HOOK_TAG,),
        head_sha=state.head_sha if state is not None else None,
    )
    return session, True


def _has_default_name(session: Session) -> bool:
    """True while the session has no prompt yet and still the store's default name."""
    default = f"{session.boundary.branch} {session.created_at.strftime('%Y-%m-%d %H:%M')}"
    return session.last_prompt is None and session.name == default


def _evaluate(
    store: Store, session: Session, current: Boundary, state: GitState | None
) -> Recommendation:
    """The policy's recommendation for the agent's session on the boundary now."""
    from sidecar.core.models import SessionStatus, utcnow
    from sidecar.core.policy import DriftContext, recommend

    page = store.list_sessions(
        repository=current.repository,
        requester=current.requester,
        machine=current.machine,
        statuses=[SessionStatus.ACTIVE, SessionStatus.IDLE],
        limit=20,
    )
    # Only Claude Code sessions are offered: the agent can resume those (claude --resume).
    candidates = [s for s in page.items if s.boundary.provider == PROVIDER and s.id != session.id]
    failed = frozenset(
        s.id for s in [session, *candidates] if store.has_annotation(s.id, "failed_assumptions")
    )
    ctx = DriftContext(
        current=current,
        now=utcnow(),
        session=session,
        candidates=candidates,
        remembered=store.remembered_choice(current.repository, current.branch),
        operation_in_progress=(
            state.operation.value if state is not None and state.operation else None
        ),
        head_sha=state.head_sha if state is not None else None,
        failed_assumptions=session.id in failed,
        failed_session_ids=failed,
    )
    rec = recommend(ctx)
    return _with_provider_refs(rec, candidates)


def _with_provider_refs(rec: Recommendation, candidates: list[Session]) -> Recommendation:
    """Add the Claude Code id of a resume target to its reason, for the resume hint."""
    from sidecar.core.models import ReasonCode

    refs = {s.id: s.provider_ref for s in candidates if s.provider_ref}
    reasons = []
    for reason in rec.reasons:
        ref = refs.get(str(reason.evidence.get("sessionId")))
        if reason.code is ReasonCode.RESUMABLE_SESSION and ref:
            reason = reason.model_copy(update={"evidence": {**reason.evidence, "providerRef": ref}})
        reasons.append(reason)
    return rec.model_copy(update={"reasons": reasons})


def _drift_event(session: Session, current: Boundary, rec: Recommendation) -> NewEvent:
    """A ``drift`` event recording the warning once per change of boundary."""
    from sidecar.core.models import Actor, EventKind, NewEvent

    before = session.boundary
    key = _digest(
        session.id, before.repository, before.worktree, before.branch, current.worktree,
        current.branch, current.repository, current.requester, current.machine,
    )  # fmt: skip
    return NewEvent(
        kind=EventKind.DRIFT,
        actor=Actor.SYSTEM,
        payload={
            "source": "claude-code hook",
            "before": {"branch": before.branch, "worktree": before.worktree},
            "after": {"branch": current.branch, "worktree": current.worktree},
            "recommendation": rec.to_json(),
        },
        client_event_id=f"cc:drift:{key}",
    )


def run(raw: bytes, *, mode: str = "warn", store: Store | None = None) -> dict[str, Any] | None:
    """Handle one hook call: record it and return the JSON to print (None: print nothing).

    ``store`` is an open store to use (and leave open), as the resident hook
    helper keeps one per database; None opens ``$SIDECAR_DB`` for this call.
    Raises on any problem; :func:`handle` turns that into a log line.
    """
    from sidecar.git.reader import read_git_state

    hook = HookInput.parse(raw)
    size = transcript_size(hook.transcript_path)
    state = read_git_state(hook.cwd)
    current = _boundary(state, hook.cwd)
    with _store_for_call(store) as opened:
        return _record(opened, hook, size, state, current, mode)


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
    store: Store, hook: HookInput, size: int, state: GitState | None, current: Boundary, mode: str
) -> dict[str, Any] | None:
    """Append the call's events (and a drift event) and return the JSON to print."""
    output: dict[str, Any] | None = None
    session, _ = _session_for(store, hook, current, state)
    extra: list[NewEvent] = []
    blocked = False
    if hook.event in _DRIFT_EVENTS and mode != "off":
        rec = _evaluate(store, session, current, state)
        warning = drift_warning(rec, session, current)
        if warning is not None:
            output = hook_output(hook.event, warning, block=mode == "block")
            blocked = "decision" in output
            extra.append(_drift_event(session, current, rec))
            _log(f"drift warning for {hook.session_id}: {session.boundary.branch} -> "
                 f"{current.branch} ({'blocked' if blocked else 'warned'})")  # fmt: skip
    if hook.event == "SessionStart" and session.status.value in ("ended", "archived"):
        from sidecar.core.models import SessionStatus

        store.set_status(session.id, SessionStatus.ACTIVE)
    prompt = hook.text("prompt")
    if hook.event == "UserPromptSubmit" and prompt and _has_default_name(session):
        # Name the session after its first prompt, as imports and editors do.
        from sidecar.importers.common import short_name

        store.rename_session(session.id, short_name(prompt))
    store.append_events(session.id, [*extra, *events_for(hook, size, blocked=blocked)])
    if hook.event == "SessionEnd":
        store.end_session(session.id)
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
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(f"{stamp} pid={os.getpid()} {' '.join(message.split())}\n")
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
