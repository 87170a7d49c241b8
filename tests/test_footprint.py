"""Footprints: paths from events, affinity, the drift score and its threshold."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings, strategies as st

from sidecar.core.footprint import (
    KIND_WEIGHTS,
    footprint_affinity,
    footprint_drift,
    footprint_score,
    merge_footprint,
    normalize_path,
    paths_from_event,
)
from sidecar.core.models import Actor, Event, EventKind, NewEvent, ReasonCode, Severity

ROOT = "/home/ada/app"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (f"{ROOT}/src/a.py", "src/a.py"),
        ("src/./b/../a.py", "src/a.py"),
        (f"file://{ROOT}/src/my%20file.py", "src/my file.py"),
        ("src\\win\\c.py", "src/win/c.py"),
        ("/home/ada/app-other/x.py", None),  # a sibling folder sharing the prefix
        ("/etc/passwd", None),
        ("../outside.py", None),
        (ROOT, None),
        (f"{ROOT}/.git/HEAD", None),
        ("", None),
    ],
)
def test_normalize_path(raw: str, expected: str | None) -> None:
    assert normalize_path(raw, ROOT) == expected


def test_windows_worktree_compares_case_insensitively() -> None:
    assert normalize_path("c:\\Repo\\src\\a.py", "C:\\repo") == "src/a.py"


def test_without_a_worktree_only_relative_paths_count() -> None:
    assert normalize_path("src/a.py", None) == "src/a.py"
    assert normalize_path("/abs/a.py", None) is None


def test_paths_from_event_reads_every_path_field_and_weights_by_kind() -> None:
    event = NewEvent(
        kind=EventKind.FILE_CHANGE,
        payload={
            "path": f"{ROOT}/a.py",
            "paths": ["b.py", {"path": "c.py"}],
            "file": "d.py",
            "files": [f"{ROOT}/e.py", "/elsewhere/f.py"],
        },
    )
    assert paths_from_event(event, ROOT) == {
        p: 3.0 for p in ("a.py", "b.py", "c.py", "d.py", "e.py")
    }


def test_tool_call_inputs_in_transcript_and_hook_shapes() -> None:
    transcript = NewEvent(
        kind=EventKind.TOOL_CALL, payload={"input": {"file_path": f"{ROOT}/x.py"}}
    )
    hook = NewEvent(
        kind=EventKind.TOOL_CALL, payload={"tool_input": {"path": "src", "pattern": "*.py"}}
    )
    assert paths_from_event(transcript, ROOT) == {"x.py": 2.0}
    assert paths_from_event(hook, ROOT) == {"src": 2.0}


def test_weights_order_file_change_over_tool_call_over_file_open() -> None:
    assert (
        KIND_WEIGHTS[EventKind.FILE_CHANGE]
        > KIND_WEIGHTS[EventKind.TOOL_CALL]
        > KIND_WEIGHTS[EventKind.FILE_OPEN]
    )
    stored = Event(
        session_id="s",
        seq=1,
        time=datetime(2025, 1, 1, tzinfo=UTC),
        kind=EventKind.FILE_OPEN,
        actor=Actor.USER,
        payload={"uri": f"file://{ROOT}/README.md"},
    )
    assert paths_from_event(stored, ROOT) == {"README.md": 1.0}


def test_command_cwd_is_not_a_footprint_path() -> None:
    event = NewEvent(kind=EventKind.COMMAND, payload={"cwd": ROOT, "command": "ls"})
    assert paths_from_event(event, ROOT) == {}


def test_merge_footprint_adds_weights_without_mutating() -> None:
    base = {"a.py": 1.0}
    merged = merge_footprint(base, {"a.py": 2.0, "b.py": 1.0})
    assert merged == {"a.py": 3.0, "b.py": 1.0} and base == {"a.py": 1.0}


@pytest.mark.parametrize(
    ("path", "affinity"),
    [
        ("src/auth/login.py", 1.0),  # touched
        ("src/auth/other.py", 1.0),  # same directory
        ("src/auth/util/h.py", 2 / 3),  # below a touched directory
        ("src/billing/x.py", 0.5),  # shares src/
        ("docs/x.md", 0.0),
        ("README.md", 0.0),  # root files count only when touched
    ],
)
def test_affinity(path: str, affinity: float) -> None:
    assert footprint_affinity({"src/auth/login.py": 1.0}, path) == pytest.approx(affinity)


def test_affinity_uses_the_closest_footprint_file() -> None:
    fp = {"src/a/b/c/deep.py": 1.0, "src/x.py": 1.0}
    assert footprint_affinity(fp, "src/y.py") == 1.0
    assert footprint_affinity(fp, "src/a/b/c/e.py") == 1.0


def test_score_is_the_share_outside() -> None:
    fp = {"src/auth/login.py": 1.0}
    assert footprint_score(fp, []) == 0.0
    assert footprint_score(fp, ["src/auth/a.py", "docs/b.md"]) == pytest.approx(0.5)
    assert footprint_score({}, ["a.py"]) == 1.0


def test_drift_reported_above_threshold_with_evidence() -> None:
    fp = {"src/auth/login.py": 3.0}
    recent = ["docs/a.md", "docs/b.md", "infra/x.tf", "infra/y.tf", "src/auth/login.py"]
    reason = footprint_drift(fp, recent)
    assert reason is not None
    assert reason.code is ReasonCode.FOOTPRINT_DRIFT and reason.severity is Severity.MEDIUM
    assert reason.evidence["score"] == pytest.approx(0.8)
    assert reason.evidence["outside"] == ["docs/a.md", "docs/b.md", "infra/x.tf", "infra/y.tf"]


def test_no_drift_below_threshold() -> None:
    fp = {"src/auth/login.py": 3.0}
    recent = ["src/auth/a.py", "src/auth/b.py", "docs/a.md", "docs/b.md", "docs/c.md"]
    assert footprint_score(fp, recent) == pytest.approx(0.6)
    assert footprint_drift(fp, recent) is None


def test_no_drift_with_too_little_evidence_or_empty_footprint() -> None:
    assert footprint_drift({"a/b.py": 1.0}, ["x/y.py"] * 4) is None
    assert footprint_drift({}, ["x/y.py"] * 10) is None
    assert footprint_drift({"a/b.py": 1.0}, ["x/y.py"] * 5) is not None


paths = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4).map("/".join)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(paths, st.floats(0.1, 10)), st.lists(paths, max_size=20))
def test_score_is_a_share(fp: dict[str, float], recent: list[str]) -> None:
    score = footprint_score(fp, recent)
    assert 0.0 <= score <= 1.0
    if recent and all(p in fp for p in recent):
        assert score == 0.0


def test_large_footprint_scores_unrelated_paths_as_outside() -> None:
    fp = {f"pkg{i % 50}/mod{i % 7}/f{i}.py": 1.0 for i in range(20_000)}
    recent = [f"other{i}/x.py" for i in range(200)]
    assert footprint_score(fp, recent) == 1.0
