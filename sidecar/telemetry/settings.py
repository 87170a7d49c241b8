"""Whether and how sessions are exported: the sidecar's variables and settings.

Off by default. ``SIDECAR_OTEL=1`` switches export on for ``serve`` and
``watch`` (an editor can use its ``otelExport`` setting instead);
``SIDECAR_OTEL_LOG_CONTENT=1`` (``otelLogContent``) adds prompt, response and
tool text, off by default like Claude Code's ``OTEL_LOG_USER_PROMPTS``. Where
the spans go is the standard ``OTEL_EXPORTER_OTLP_*`` variables' business.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sidecar.telemetry.mapping import DEFAULT_SETTLE, Options

ENABLE_VARIABLE = "SIDECAR_OTEL"
CONTENT_VARIABLE = "SIDECAR_OTEL_LOG_CONTENT"
SETTLE_VARIABLE = "SIDECAR_OTEL_SETTLE_SECONDS"
INTERVAL_VARIABLE = "SIDECAR_OTEL_INTERVAL_SECONDS"

#: Seconds between two export passes of a running server or ``watch``.
DEFAULT_INTERVAL_S = 5.0


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _seconds(value: str | None, default: float, name: str) -> float:
    if value is None or not value.strip():
        return default
    try:
        seconds = float(value)
    except ValueError:
        message = f"{name}={value!r} is not a number of seconds; unset it or use e.g. 60"
        raise ValueError(message) from None
    if seconds < 0:
        raise ValueError(f"{name}={value!r} is negative; use 0 or more seconds")
    return seconds


@dataclass(frozen=True)
class ExportSettings:
    """Export on or off, content or lengths, and its timing."""

    enabled: bool = False
    content: bool = False
    settle: timedelta = DEFAULT_SETTLE
    interval_s: float = DEFAULT_INTERVAL_S

    @property
    def options(self) -> Options:
        """The mapping's options."""
        return Options(content=self.content, settle=self.settle)


def export_settings(
    environ: Mapping[str, str] | None = None,
    *,
    enabled: bool | None = None,
    content: bool | None = None,
) -> ExportSettings:
    """The settings from the environment; ``enabled``/``content`` (a client's setting) win.

    >>> export_settings({"SIDECAR_OTEL": "1"}).enabled
    True
    >>> export_settings({"SIDECAR_OTEL": "1"}, enabled=False).enabled
    False
    >>> export_settings({}).content
    False
    """
    env = os.environ if environ is None else environ
    return ExportSettings(
        enabled=_flag(env.get(ENABLE_VARIABLE)) if enabled is None else enabled,
        content=_flag(env.get(CONTENT_VARIABLE)) if content is None else content,
        settle=timedelta(
            seconds=_seconds(
                env.get(SETTLE_VARIABLE), DEFAULT_SETTLE.total_seconds(), SETTLE_VARIABLE
            )
        ),
        interval_s=max(
            0.05, _seconds(env.get(INTERVAL_VARIABLE), DEFAULT_INTERVAL_S, INTERVAL_VARIABLE)
        ),
    )
