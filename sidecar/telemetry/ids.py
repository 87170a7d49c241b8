"""Trace and span ids derived from what they describe, so a re-export sends the same ids.

A crash between a sink's success and the watermark's update sends a batch
again; with the same ids, a backend that keys spans by id (Phoenix does:
``INSERT ... ON CONFLICT (span_id) DO NOTHING``) keeps one copy.

>>> trace_id("s1") == trace_id("s1") != trace_id("s2")
True
>>> f"{span_id('s1', 3, 'turn'):016x}" != f"{span_id('s1', 3, 'tool'):016x}"
True
"""

from __future__ import annotations

import hashlib


def _digest(text: str, size: int) -> int:
    value = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:size], "big")
    return value or 1  # an all-zero id is invalid in OTLP


def trace_id(session_id: str) -> int:
    """The 128-bit trace id of a session."""
    return _digest(f"session-sidecar/trace/{session_id}", 16)


def span_id(session_id: str, seq: int, role: str) -> int:
    """The 64-bit id of the span a session's event at ``seq`` starts (``role``: turn, tool)."""
    return _digest(f"session-sidecar/span/{session_id}/{seq}/{role}", 8)
