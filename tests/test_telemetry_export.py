"""The export path over a real SQLite store: watermarks, failures, the OTLP wire, the CLI."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator, Sequence
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sidecar.core.kinds import utcnow
from sidecar.core.models import NewEvent
from sidecar.store import Store
from sidecar.store.watermarks import Watermarks
from sidecar.telemetry.export import export_pending
from sidecar.telemetry.mapping import Options, SpanSpec
from sidecar.telemetry.settings import ExportSettings
from sidecar.telemetry.worker import ExportWorker
from tests.cliutil import inproc
from tests.storeutil import boundary

pytest.importorskip("opentelemetry.exporter.otlp.proto.http", reason="the otel extra")

SETTLED = Options(settle=timedelta(0))


class FakeSink:
    """Collects spans; fails while ``down``."""

    name = "otlp"

    def __init__(self) -> None:
        self.spans: list[SpanSpec] = []
        self.down = False
        self.sent = threading.Event()

    def send(self, spans: Sequence[SpanSpec]) -> str | None:
        if self.down:
            return "endpoint down"
        self.spans.extend(spans)
        self.sent.set()
        return None


def turn(n: int) -> list[NewEvent]:
    return [
        NewEvent(kind="prompt", actor="user", payload={"text": f"prompt {n}"}),
        NewEvent(
            kind="tool_call",
            payload={"name": "Bash", "input": {"command": "ls"}, "toolUseId": f"t{n}"},
        ),
        NewEvent(kind="tool_result", payload={"toolUseId": f"t{n}", "content": "ok"}),
        NewEvent(kind="response", payload={"text": f"answer {n}"}),
    ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "sessions.db") as s:
        yield s


def new_session(store: Store, name: str = "demo", turns: int = 1) -> str:
    session = store.sessions.create(boundary(), name=name)
    for n in range(turns):
        store.events.append(session.id, turn(n), holder=None)
    return session.id


def test_export_sends_closed_turns_and_advances_the_watermark(store: Store) -> None:
    sid = new_session(store, turns=2)
    sink = FakeSink()
    report = export_pending(Watermarks(store.db), sink, options=SETTLED)
    assert report.error is None and report.spans == 4 and report.events == 8
    assert Watermarks(store.db).get(sid, "otlp") == 8
    again = export_pending(Watermarks(store.db), sink, options=SETTLED)
    assert again.spans == 0 and len(sink.spans) == 4  # idempotent: nothing twice


def test_a_failed_send_keeps_the_watermark_and_the_next_pass_sends_the_same_ids(
    store: Store,
) -> None:
    sid = new_session(store)
    marks = Watermarks(store.db)
    sink = FakeSink()
    sink.down = True
    failed = export_pending(marks, sink, options=SETTLED)
    assert failed.error == "endpoint down" and marks.get(sid, "otlp") == 0
    sink.down = False
    export_pending(marks, sink, options=SETTLED)
    first_ids = [s.span_id for s in sink.spans]
    # A crash after the send, before the watermark: the re-export has the same ids.
    marks.reset("otlp")
    export_pending(marks, sink, options=SETTLED)
    assert [s.span_id for s in sink.spans[len(first_ids) :]] == first_ids


def test_events_appended_after_an_export_go_in_the_next_one(store: Store) -> None:
    sid = new_session(store)
    marks = Watermarks(store.db)
    sink = FakeSink()
    export_pending(marks, sink, options=SETTLED)
    store.events.append(sid, turn(1), holder=None)
    report = export_pending(marks, sink, options=SETTLED)
    assert report.events == 4 and marks.get(sid, "otlp") == 8
    seqs = sorted(s.first_seq for s in sink.spans if s.parent_id is None)
    assert seqs == [1, 5]


def test_the_open_turn_waits_for_the_settle_time(store: Store) -> None:
    sid = new_session(store, turns=2)
    marks = Watermarks(store.db)
    report = export_pending(marks, FakeSink(), options=Options(settle=timedelta(hours=1)))
    assert marks.get(sid, "otlp") == 4 and report.sessions[0].held == 4


def test_since_and_session_choose_what_is_exported(store: Store) -> None:
    a = new_session(store, "a")
    b = new_session(store, "b")
    marks = Watermarks(store.db)
    sink = FakeSink()
    export_pending(marks, sink, options=SETTLED, session_id=a)
    assert (marks.get(a, "otlp"), marks.get(b, "otlp")) == (4, 0)
    report = export_pending(marks, sink, options=SETTLED, since=utcnow() + timedelta(days=1))
    assert report.spans == 0 and marks.get(b, "otlp") == 0


def test_a_deleted_session_takes_its_watermark_with_it(store: Store) -> None:
    sid = new_session(store)
    marks = Watermarks(store.db)
    export_pending(marks, FakeSink(), options=SETTLED)
    store.sessions.delete(sid)
    assert store.db.read("SELECT count(*) FROM export_watermarks")[0][0] == 0


# ---------------------------------------------------------------- the OTLP wire


class Receiver:
    """A local OTLP/HTTP endpoint that decodes what arrives; answers ``status``."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        self.spans: list[Any] = []
        self.resources: list[Any] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if receiver.status == 200:
                    request = ExportTraceServiceRequest()
                    request.ParseFromString(body)
                    for rs in request.resource_spans:
                        receiver.resources.append(rs.resource)
                        for ss in rs.scope_spans:
                            receiver.spans.extend(ss.spans)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    r = Receiver()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2")
    monkeypatch.setenv("SIDECAR_OTEL_SETTLE_SECONDS", "0")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    yield r
    r.close()


def attrs(span: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in span.attributes:
        value = kv.value
        out[kv.key] = getattr(value, value.WhichOneof("value"))
    return out


def test_the_sdk_exporter_sends_the_spans_with_their_ids(store: Store, receiver: Receiver) -> None:
    from sidecar.telemetry.ids import trace_id
    from sidecar.telemetry.otlp import OtlpSink

    sid = new_session(store)
    sink = OtlpSink()
    try:
        report = export_pending(Watermarks(store.db), sink, options=SETTLED)
    finally:
        sink.close()
    assert report.error is None
    names = sorted(s.name for s in receiver.spans)
    assert names == ["execute_tool Bash", "invoke_agent session-sidecar"]
    turn_span = next(s for s in receiver.spans if s.name.startswith("invoke_agent"))
    assert int.from_bytes(turn_span.trace_id, "big") == trace_id(sid)
    assert attrs(turn_span)["gen_ai.conversation.id"] == sid
    assert [e.name for e in turn_span.events] == ["sidecar.prompt", "sidecar.response"]
    service = {kv.key: kv.value.string_value for kv in receiver.resources[0].attributes}
    assert service["service.name"] == "session-sidecar"


def test_an_endpoint_that_refuses_leaves_the_watermark(store: Store, receiver: Receiver) -> None:
    from sidecar.telemetry.otlp import OtlpSink

    sid = new_session(store)
    receiver.status = 400
    sink = OtlpSink()
    try:
        report = export_pending(Watermarks(store.db), sink, options=SETTLED)
    finally:
        sink.close()
    assert report.error is not None and receiver.url in report.error
    assert Watermarks(store.db).get(sid, "otlp") == 0


def test_cli_export_backfills_once(tmp_path: Path, receiver: Receiver) -> None:
    db = tmp_path / "sessions.db"
    with Store.open(db) as s:
        new_session(s, "backfilled", turns=3)
    first = inproc("otel", "export", db=db)
    assert first.code == 0, first.stderr
    assert "exported 6 span(s) of 12 event(s) from 1 session(s)" in first.stdout
    assert len(receiver.spans) == 6
    second = inproc("otel", "export", db=db)
    assert "exported 0 span(s)" in second.stdout and len(receiver.spans) == 6


def test_cli_export_says_what_failed_and_exits_nonzero(tmp_path: Path, receiver: Receiver) -> None:
    db = tmp_path / "sessions.db"
    with Store.open(db) as s:
        new_session(s)
    receiver.status = 400
    run = inproc("otel", "export", db=db)
    assert run.code == 1
    assert "nothing is lost" in run.stderr


def test_cli_rejects_a_bad_since(tmp_path: Path) -> None:
    run = inproc("otel", "export", "--since", "yesterday", db=tmp_path / "x.db")
    assert run.code == 2 and "--since 'yesterday'" in run.stderr


# ---------------------------------------------------------------- the worker


def test_the_worker_exports_in_the_background_and_resumes_after_an_outage(
    store: Store,
) -> None:
    sid = new_session(store)
    sink = FakeSink()
    sink.down = True
    reports: list[Any] = []
    failed = threading.Event()

    def on_report(report: Any) -> None:
        reports.append(report)
        if report.error:
            failed.set()

    settings = ExportSettings(enabled=True, settle=timedelta(0), interval_s=0.05)
    worker = ExportWorker(store.path, settings, sink=lambda: sink, on_report=on_report).start()
    try:
        assert failed.wait(10)
        assert Watermarks(store.db).get(sid, "otlp") == 0
        sink.down = False
        store.events.append(sid, turn(1), holder=None)
        worker.wake()
        assert sink.sent.wait(10)
    finally:
        worker.stop()
    assert Watermarks(store.db).get(sid, "otlp") == 8
    assert sorted(s.first_seq for s in sink.spans if s.parent_id is None) == [1, 5]
