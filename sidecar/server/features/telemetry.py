"""OpenTelemetry export while the server runs: starts and stops the export worker.

Off by default: the ``otelExport`` setting, else ``SIDECAR_OTEL=1``. The
worker runs on its own thread with its own connection
(:mod:`sidecar.telemetry.worker`), never on the owner thread, so an append
or a prompt never waits for the network. A missing SDK or a bad variable is
a notice in ``sidecar/status``, not an error: recording goes on.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sidecar.server.feature import Feature

if TYPE_CHECKING:
    from sidecar.telemetry.worker import ExportWorker

logger = logging.getLogger(__name__)

#: How long shutdown waits for a pass in flight (the thread is a daemon; the batch is resent).
STOP_TIMEOUT_S = 2.0


class TelemetryFeature(Feature):
    """Runs the export worker when export is switched on."""

    worker: ExportWorker | None = None

    def started(self) -> None:
        self._apply()

    def settings_changed(self) -> None:
        self._apply()

    def shutdown(self) -> None:
        self._stop()

    def _apply(self) -> None:
        from sidecar.telemetry.settings import export_settings

        state = self.state
        try:
            settings = export_settings(
                enabled=state.settings.otel_export, content=state.settings.otel_log_content
            )
        except ValueError as error:
            self._notice(f"OpenTelemetry export is off: {error}")
            self._stop()
            return
        if self.worker is not None and self.worker.settings == settings:
            return
        self._stop()
        if not settings.enabled:
            return
        if state.read_only or str(state.store.path) == ":memory:":
            self._notice("OpenTelemetry export is off: the database is read-only or in memory")
            return
        try:
            import opentelemetry.exporter.otlp.proto.http  # noqa: F401
        except ImportError:
            from sidecar.telemetry.otlp import MISSING_SDK

            self._notice(f"OpenTelemetry export is off: {MISSING_SDK}")
            return
        from sidecar.telemetry.worker import ExportWorker

        self.worker = ExportWorker(state.store.path, settings).start()

    def _notice(self, message: str) -> None:
        logger.warning("%s", message)
        if message not in self.state.notices:
            self.state.notices.append(message)

    def _stop(self) -> None:
        if self.worker is not None:
            self.worker.stop(timeout=STOP_TIMEOUT_S)
            self.worker = None
