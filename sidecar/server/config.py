"""Server settings: initializationOptions, then workspace/didChangeConfiguration, typed.

Clients send settings either flat (``{"prompts": "custom"}``) or under the
``sessionSidecar`` key, the way VS Code groups an extension's settings; both
spellings of a name (``staleHours``, ``stale_hours``) are accepted. A value
that does not validate is dropped with a message and the previous value
kept, so a typo in one setting never disables the others.

``dbPath`` is read once at start: changing it later is reported and takes
effect on the next start (switching databases under open sessions would
split their history).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, ValidationError

from sidecar.core.models import Model, Phase

SECTION = "sessionSidecar"
#: Default cap of one event's JSON-encoded payload (1 MiB).
DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024


class Settings(Model):
    """Everything a client can configure."""

    db_path: str | None = Field(default=None, description="Database file; default $SIDECAR_DB.")
    prompts: Literal["native", "custom", "off"] = Field(
        default="native",
        description="native: window/showMessageRequest; custom: sidecar/driftDetected; off.",
    )
    stale_hours: float = Field(
        default=8.0,
        gt=0,
        le=24 * 365,
        description="Idle hours after which a session is stale (a reason to start fresh).",
    )
    requester: str | None = Field(default=None, max_length=200, description="Overrides git email.")
    task: str | None = Field(
        default=None, max_length=200, description="Task of new sessions (ADR, issue, plan)."
    )
    phase: Phase | None = Field(default=None, description="Phase of new sessions.")
    provider: str | None = Field(
        default=None, max_length=200, description="Tool name recorded on new sessions."
    )
    live_import: bool = Field(
        default=True,
        description="Import the workspace's agent sessions live (every tool of the importer "
        "registry but Aider).",
    )
    max_payload_bytes: int = Field(
        default=DEFAULT_MAX_PAYLOAD_BYTES,
        gt=0,
        le=256 * 1024 * 1024,
        description="Largest JSON-encoded payload of one appended event, in bytes.",
    )

    redact_patterns: list[str] = Field(
        default_factory=list,
        description="Extra secret patterns (regular expressions) redacted before storage, "
        "added to the user's redaction.json.",
    )
    redact_allow: list[str] = Field(
        default_factory=list,
        description="Strings never redacted (a fixture's fake key), added to redaction.json.",
    )
    otel_export: bool | None = Field(
        default=None,
        description="Export sessions to an OpenTelemetry endpoint (OTLP/HTTP, the standard "
        "OTEL_EXPORTER_OTLP_* variables; needs the otel extra). Default: $SIDECAR_OTEL, else off.",
    )
    otel_log_content: bool | None = Field(
        default=None,
        description="Include prompt, response and tool text in the export. "
        "Default: $SIDECAR_OTEL_LOG_CONTENT, else lengths only.",
    )
    watch_folder_budget: int = Field(
        default=20_000,
        gt=0,
        description="Worktrees with more folders leave file watching to the editor.",
    )

    @property
    def stale_after(self) -> timedelta:
        """``stale_hours`` as a duration."""
        return timedelta(hours=self.stale_hours)


def _section(raw: Any) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        return {}
    nested = raw.get(SECTION)
    if isinstance(nested, Mapping):
        return nested
    return raw


def merge_settings(current: Settings, raw: Any) -> tuple[Settings, list[str]]:
    """``current`` updated with the recognised values in ``raw``; and one problem per bad value.

    >>> merge_settings(Settings(), {"sessionSidecar": {"prompts": "off"}})[0].prompts
    'off'
    >>> merge_settings(Settings(), {"staleHours": -1})[1]
    ['staleHours: Input should be greater than 0 (got -1); kept 8.0']
    """
    section = _section(raw)
    known = {}
    for name, field in Settings.model_fields.items():
        alias = field.alias or name
        if alias in section:
            known[name] = section[alias]
        elif name in section:
            known[name] = section[name]
    problems: list[str] = []
    data = current.model_dump()
    for name, value in known.items():
        candidate = {**data, name: value}
        try:
            Settings.model_validate(candidate)
        except ValidationError as exc:
            alias = Settings.model_fields[name].alias or name
            message = exc.errors()[0]["msg"]
            problems.append(f"{alias}: {message} (got {value!r}); kept {data[name]!r}")
            continue
        data[name] = value
    return Settings.model_validate(data), problems
