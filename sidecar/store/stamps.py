"""Stored timestamps: fixed-width UTC text that sorts in time order."""

from __future__ import annotations

from datetime import UTC, datetime


def ts(value: datetime) -> str:
    """Fixed-width UTC ISO 8601 text: sorts lexically in time order."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(value: str | None) -> datetime | None:
    """The datetime of a stored timestamp (`fromisoformat` is ~30x faster than strptime)."""
    if value is None:
        return None
    return datetime.fromisoformat(value)
