"""OpenTelemetry export: the append path with export off and on, and export throughput.

    python benchmarks/otel_bench.py                  # 2,000 appends per mode, 20,000-event backfill
    python benchmarks/otel_bench.py --quick
    python benchmarks/otel_bench.py --endpoint http://127.0.0.1:6006   # a real collector

One run, one database: appends of one event each (the store's one append
path) timed with no exporter, then with the export worker running beside
them on its own thread and connection (a pass every 50 ms, turns settled at
once, so it exports while the appends go on). Then the throughput of a
backfill (``export_pending`` with the SDK's OTLP/HTTP exporter) into a local
OTLP endpoint that accepts everything (or ``--endpoint``): spans per second.
Needs the ``otel`` extra.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

from sidecar.core.models import Boundary, NewEvent
from sidecar.store import Store
from sidecar.store.watermarks import Watermarks
from sidecar.telemetry.export import export_pending
from sidecar.telemetry.mapping import Options
from sidecar.telemetry.otlp import OtlpSink
from sidecar.telemetry.settings import ExportSettings
from sidecar.telemetry.worker import ExportWorker

BOUNDARY = Boundary(
    repository="github.com/acme/app",
    worktree="/src/app",
    branch="main",
    requester="me",
    machine="m",
)


class Accepting(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that reads the request and says yes."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def turn(n: int) -> list[NewEvent]:
    return [
        NewEvent(kind="prompt", actor="user", payload={"text": f"prompt {n} " * 20}),
        NewEvent(
            kind="tool_call",
            payload={"name": "Bash", "input": {"command": "pytest -q"}, "toolUseId": f"t{n}"},
        ),
        NewEvent(kind="tool_result", payload={"toolUseId": f"t{n}", "content": "ok " * 100}),
        NewEvent(kind="response", payload={"text": f"answer {n} " * 30}),
    ]


def appends(store: Store, session_id: str, count: int) -> list[float]:
    """Milliseconds of each one-event append."""
    times: list[float] = []
    for n in range(count):
        event = turn(n)[n % 4]
        start = time.perf_counter()
        store.events.append(session_id, [event], holder=None)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--endpoint", help="an OTLP/HTTP endpoint (default: a local one)")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    count = 500 if args.quick else 2000
    backfill_turns = 1000 if args.quick else 5000

    server = None
    endpoint = args.endpoint
    if endpoint is None:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Accepting)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    def sink() -> OtlpSink:
        return OtlpSink(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces"))

    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "db"
        folder.mkdir(mode=0o700)
        path = folder / "sessions.db"
        with Store.open(path) as store:
            off_session = store.sessions.create(BOUNDARY, name="off")
            on_session = store.sessions.create(BOUNDARY, name="on")
            off = appends(store, off_session.id, count)
            reports: list[int] = []
            settings = ExportSettings(enabled=True, settle=timedelta(0), interval_s=0.05)
            worker = ExportWorker(
                path, settings, sink=sink, on_report=lambda r: reports.append(r.spans)
            ).start()
            try:
                on = appends(store, on_session.id, count)
            finally:
                worker.stop()
            figures["append_off_median_ms"] = common.median(off)
            figures["append_off_p95_ms"] = common.pct(off, 95)
            figures["append_on_median_ms"] = common.median(on)
            figures["append_on_p95_ms"] = common.pct(on, 95)
            figures["spans_exported_during_appends"] = sum(reports)

            backfill = store.sessions.create(BOUNDARY, name="backfill")
            for n in range(0, backfill_turns, 50):
                batch = [e for k in range(n, min(n + 50, backfill_turns)) for e in turn(k)]
                store.events.append(backfill.id, batch, holder=None)
            target = sink()
            start = time.perf_counter()
            report = export_pending(
                Watermarks(store.db),
                target,
                options=Options(settle=timedelta(0)),
                session_id=backfill.id,
            )
            elapsed = time.perf_counter() - start
            target.close()
            assert report.error is None, report.error
            figures["backfill_events"] = report.events
            figures["backfill_spans"] = report.spans
            figures["export_spans_per_s"] = report.spans / elapsed
            figures["export_events_per_s"] = report.events / elapsed
    if server is not None:
        server.shutdown()

    rows = [
        ["append, export off", common.fmt(figures["append_off_median_ms"], 3),
         common.fmt(figures["append_off_p95_ms"], 3)],
        ["append, export on", common.fmt(figures["append_on_median_ms"], 3),
         common.fmt(figures["append_on_p95_ms"], 3)],
    ]  # fmt: skip
    print(common.text_table(["one-event append", "median ms", "p95 ms"], rows))
    print(
        f"export: {figures['backfill_spans']} spans of {figures['backfill_events']} events, "
        f"{figures['export_spans_per_s']:.0f} spans/s ({figures['export_events_per_s']:.0f} "
        f"events/s) to {endpoint}; {figures['spans_exported_during_appends']} spans exported "
        "while the export-on appends ran"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
