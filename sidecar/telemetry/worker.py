"""The export beside a running server or ``watch``: one thread, its own connection.

Off the append path by construction: the worker never runs on the owner
thread and never holds the owner's connection. It opens its own connection
to the same database file (as the hooks and the CLI do from their processes),
reads what lies above the watermarks, sends it over HTTP, and writes a
watermark row after each accepted batch: a write of one row, the only moment
it takes SQLite's write lock. Appends on the owner thread never wait for the
network.

One exporter per database: the worker holds the named lease
``otel-export:<sink>``; a second server on the same database stays idle until
the first stops. A pass runs every ``interval_s`` (skipped when nothing was
committed since the last one and no turn was held back); after a failed send
the next pass waits longer, up to :data:`MAX_BACKOFF_S`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sidecar.telemetry.export import Report, Sink, export_pending
from sidecar.telemetry.settings import ExportSettings

if TYPE_CHECKING:
    from sidecar.store import Store

logger = logging.getLogger(__name__)

#: The longest wait between passes while the endpoint keeps failing.
MAX_BACKOFF_S = 300.0


class ExportWorker:
    """Exports in the background until :meth:`stop`; see the module docstring."""

    def __init__(
        self,
        db_path: str | Path,
        settings: ExportSettings,
        *,
        sink: Callable[[], Sink] | None = None,
        on_report: Callable[[Report], None] | None = None,
    ) -> None:
        self.db_path = str(db_path)
        self.settings = settings
        self._make_sink = sink
        self._on_report = on_report
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        #: The last pass's report (for status and tests).
        self.last: Report | None = None
        #: Set once the first pass finished (tests wait on it, never sleep).
        self.passed = threading.Event()

    def start(self) -> ExportWorker:
        """Start the thread (the sink is built on it; a missing SDK is logged there)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sidecar-otel", daemon=True)
            self._thread.start()
        return self

    def wake(self) -> None:
        """Run a pass now instead of at the next interval."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the pass in progress (its batch is sent or left for later); idempotent."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _build_sink(self) -> Sink:
        if self._make_sink is not None:
            return self._make_sink()
        from sidecar.telemetry.otlp import OtlpSink

        return OtlpSink()

    def _run(self) -> None:
        from sidecar.store import Store, new_holder_id

        try:
            sink = self._build_sink()
            store = Store.open(self.db_path)
        except Exception as error:
            logger.error("OpenTelemetry export is off: %s", error)
            self.passed.set()
            return
        holder = new_holder_id()
        lease = f"otel-export:{sink.name}"
        lease_s = max(30.0, 3 * self.settings.interval_s)
        wait = self.settings.interval_s
        seen: int | None = None
        try:
            while not self._stop.is_set():
                try:
                    seen, failed = self._pass(store, sink, holder, lease, lease_s, seen)
                except Exception:
                    logger.exception("OpenTelemetry export pass failed")
                    failed = True
                wait = min(wait * 2, MAX_BACKOFF_S) if failed else self.settings.interval_s
                self.passed.set()
                self._wake.wait(wait)
                self._wake.clear()
        finally:
            try:
                store.leases.give_up(lease, holder)
            except Exception:
                logger.exception("could not release the export lease")
            close = getattr(sink, "close", None)
            if close is not None:
                close()
            store.close()

    def _pass(
        self, store: Store, sink: Sink, holder: str, lease: str, lease_s: float, seen: int | None
    ) -> tuple[int | None, bool]:
        """One pass: the data version it saw, and whether the send failed."""
        from sidecar.store.watermarks import Watermarks

        version = store.db.data_version()
        held = self.last is not None and any(s.held for s in self.last.sessions)
        if version == seen and not held and not (self.last and self.last.error):
            return seen, False
        if not store.leases.take(lease, holder, lease_seconds=lease_s):
            return None, False  # another process exports this database
        report = export_pending(
            Watermarks(store.db),
            sink,
            options=self.settings.options,
            stopping=self._stop.is_set,
        )
        self.last = report
        if report.error is not None:
            logger.warning("OpenTelemetry export: %s; retrying later", report.error)
        elif report.spans:
            logger.info(
                "OpenTelemetry export: %d span(s) of %d event(s)", report.spans, report.events
            )
        if self._on_report is not None:
            self._on_report(report)
        # Commits by others during the pass change the version again: the next pass runs.
        return version, report.error is not None
