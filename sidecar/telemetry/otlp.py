"""The OTLP sink: span descriptions sent with the OpenTelemetry SDK's own OTLP/HTTP exporter.

Needs the ``otel`` extra (``pip install 'session-sidecar[otel]'``). The
exporter reads the standard variables (``OTEL_EXPORTER_OTLP_ENDPOINT``,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``OTEL_EXPORTER_OTLP_HEADERS``,
``OTEL_EXPORTER_OTLP_TIMEOUT``...), the resource ``OTEL_SERVICE_NAME`` and
``OTEL_RESOURCE_ATTRIBUTES``.

The SDK's tracer and batch processor are not used: spans here are made from
history, with their own ids and times, and the watermark may move only once
the endpoint accepted them, which the synchronous ``export`` call reports.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sidecar import __version__
from sidecar.telemetry.mapping import OTLP_SINK, SpanSpec

if TYPE_CHECKING:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan

#: Spans per request (a request over the exporter's size limit would be dropped whole).
CHUNK = 256

MISSING_SDK = (
    "OpenTelemetry export needs the SDK: pip install 'session-sidecar[otel]' "
    "(opentelemetry-sdk and opentelemetry-exporter-otlp-proto-http)"
)


class OtlpUnavailable(RuntimeError):
    """The OpenTelemetry SDK is not installed."""


def _ns(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000) * 1000


class OtlpSink:
    """Sends spans over OTLP/HTTP protobuf; ``send`` returns None once the endpoint accepted."""

    name = OTLP_SINK

    def __init__(self, exporter: OTLPSpanExporter | None = None) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter,
            )
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.util.instrumentation import InstrumentationScope
        except ImportError as error:
            raise OtlpUnavailable(MISSING_SDK) from error
        self.exporter = exporter or OTLPSpanExporter()
        self.resource: Resource = _resource(Resource)
        self.scope = InstrumentationScope("session-sidecar", __version__)

    @property
    def endpoint(self) -> str:
        """Where the spans go (the exporter's resolved URL)."""
        return str(getattr(self.exporter, "_endpoint", "?"))

    def send(self, spans: Sequence[SpanSpec]) -> str | None:
        """Send ``spans`` in chunks; None when every chunk was accepted."""
        from opentelemetry.sdk.trace.export import SpanExportResult

        for start in range(0, len(spans), CHUNK):
            chunk = [self.readable(s) for s in spans[start : start + CHUNK]]
            if self.exporter.export(chunk) is not SpanExportResult.SUCCESS:
                return f"the OTLP endpoint {self.endpoint} did not accept {len(spans)} span(s)"
        return None

    def readable(self, spec: SpanSpec) -> ReadableSpan:
        """One span description as the SDK's finished span."""
        from opentelemetry.sdk.trace import Event, ReadableSpan
        from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

        def context(span_id: int) -> SpanContext:
            return SpanContext(
                trace_id=spec.trace_id,
                span_id=span_id,
                is_remote=False,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )

        code = {"ok": StatusCode.OK, "error": StatusCode.ERROR}.get(spec.status, StatusCode.UNSET)
        return ReadableSpan(
            name=spec.name,
            context=context(spec.span_id),
            parent=context(spec.parent_id) if spec.parent_id is not None else None,
            resource=self.resource,
            attributes=spec.attributes,
            events=[
                Event(e.name, attributes=e.attributes, timestamp=_ns(e.time)) for e in spec.events
            ],
            kind=SpanKind.INTERNAL,
            status=Status(code, spec.status_message if code is StatusCode.ERROR else None),
            start_time=_ns(spec.start),
            end_time=_ns(spec.end),
            instrumentation_scope=self.scope,
        )

    def close(self) -> None:
        """Release the exporter's HTTP session."""
        self.exporter.shutdown()  # type: ignore[no-untyped-call]


def _resource(resource: type[Resource]) -> Resource:
    """The process's resource: ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``, else ours."""
    detected = resource.create({"service.version": __version__})
    if os.environ.get("OTEL_SERVICE_NAME") or "service.name=" in os.environ.get(
        "OTEL_RESOURCE_ATTRIBUTES", ""
    ):
        return detected
    return detected.merge(resource({"service.name": "session-sidecar"}))
