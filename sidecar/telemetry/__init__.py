"""OpenTelemetry export of sessions: one trace per session, to any OTLP endpoint.

:mod:`sidecar.telemetry.mapping` turns stored sessions and events into span
descriptions (pure, no network); :mod:`sidecar.telemetry.export` moves what
lies above each session's watermark to a sink and advances the watermark;
:mod:`sidecar.telemetry.otlp` is the sink built on the OpenTelemetry SDK's own
OTLP/HTTP exporter (the optional ``otel`` extra); :mod:`sidecar.telemetry.worker`
runs the export beside a server or ``watch``. See docs/telemetry.md.

Nothing here is imported by the core install's paths (the hook, the store):
the SDK is needed only when export is switched on.
"""
