"""The one renderer (sidecar/core/render.py): what people read of a session's history."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sidecar.core.models import Actor, BlockKind, Event, EventKind
from sidecar.core.render import block_markdown, block_text, fence, render

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
WORKTREE = "/src/app"


def _events(*specs: tuple[str, str, dict[str, Any]]) -> list[Event]:
    return [
        Event(
            session_id="s",
            seq=i + 1,
            time=T0 + timedelta(minutes=i),
            kind=EventKind(kind),
            actor=Actor(actor),
            payload=payload,
        )
        for i, (kind, actor, payload) in enumerate(specs)
    ]


def test_a_conversation_reads_as_turns_and_one_line_tool_calls_with_their_results() -> None:
    blocks = render(
        _events(
            ("prompt", "user", {"text": "Fix the **login** test"}),
            (
                "tool_call",
                "agent",
                {"name": "Bash", "input": {"command": "pytest -q"}, "toolUseId": "t1"},
            ),
            (
                "tool_call",
                "agent",
                {"name": "Read", "input": {"file_path": "/src/app/a.py"}, "toolUseId": "t2"},
            ),
            (
                "tool_result",
                "agent",
                {"toolUseId": "t1", "content": "Exit code 1\n1 failed", "isError": True},
            ),
            ("tool_result", "agent", {"toolUseId": "t2", "content": "print(1)"}),
            ("response", "agent", {"text": "Fixed."}),
        ),
        WORKTREE,
    )
    assert [(b.kind, b.title) for b in blocks] == [
        (BlockKind.TURN, "Prompt"),
        (BlockKind.TOOL, "Bash pytest -q"),
        (BlockKind.TOOL, "Read a.py"),
        (BlockKind.TURN, "Answer"),
    ]
    bash, read = blocks[1], blocks[2]
    assert (bash.status, bash.exit_code, bash.seqs) == ("failed", 1, [2, 4])
    assert bash.output == "Exit code 1\n1 failed"
    assert (read.status, read.exit_code, read.paths) == ("ok", None, ["a.py"])
    assert blocks[0].body == "Fix the **login** test"


def test_an_edit_shows_its_change_as_a_unified_diff() -> None:
    (block,) = render(
        _events(
            (
                "tool_call",
                "agent",
                {
                    "name": "Edit",
                    "toolUseId": "e",
                    "input": {
                        "file_path": "/src/app/app.py",
                        "old_string": "x = 1\ny = 2",
                        "new_string": "x = 1\ny = 3",
                    },
                },
            ),
        ),
        WORKTREE,
    )
    assert block.title == "Edit app.py"
    assert block.diff is not None
    assert block.diff.splitlines()[:2] == ["--- a/app.py", "+++ b/app.py"]
    assert "-y = 2" in block.diff and "+y = 3" in block.diff


def test_a_failing_command_is_not_shown_as_passing() -> None:
    ok, failing = render(
        _events(
            ("command", "agent", {"command": "pytest -q", "exitCode": 0, "output": "3 passed"}),
            ("command", "agent", {"command": "pytest -q", "exitCode": 2, "output": "1 failed"}),
        )
    )
    assert (ok.title, ok.status, ok.exit_code) == ("$ pytest -q", "ok", 0)
    assert (failing.status, failing.exit_code) == ("failed", 2)


def test_bookkeeping_folds_into_one_dimmed_line() -> None:
    blocks = render(
        _events(
            ("prompt", "user", {"text": "go"}),
            ("branch_change", "system", {"from": "main", "to": "feature/login"}),
            ("drift", "system", {"action": "fresh", "summary": "Branch changed"}),
            ("decision", "user", {"action": "continue", "chosen": "Continue here"}),
            ("file_change", "system", {"paths": ["/src/app/login.py"], "source": "watcher"}),
        )
    )
    assert [b.kind for b in blocks] == [BlockKind.TURN, BlockKind.BOOKKEEPING, BlockKind.CHANGE]
    folded = blocks[1]
    assert folded.title == "switched main → feature/login, drift: fresh recommended, continued"
    assert folded.dimmed and folded.seqs == [2, 3, 4]
    # A watcher's change names its file, not "watcher".
    assert blocks[2].title == "Changed /src/app/login.py"
    assert (
        render(_events(("file_change", "system", {"paths": ["/src/app/b.py"]})), WORKTREE)[0].title
        == "Changed b.py"
    )


def test_markdown_keeps_code_fences_whole() -> None:
    inner = "```python\nprint('hi')\n```"
    blocks = render(
        _events(
            ("prompt", "user", {"text": f"Why does this fail?\n{inner}"}),
            (
                "tool_call",
                "agent",
                {"name": "Bash", "input": {"command": "cat x.md"}, "toolUseId": "c"},
            ),
            ("tool_result", "agent", {"toolUseId": "c", "content": f"text\n{inner}\nmore"}),
        )
    )
    text = "\n\n".join(block_markdown(b) for b in blocks)
    assert inner in text  # the prompt's own Markdown, as written
    # The output's fence is longer than the backticks inside: nothing breaks out of it.
    assert "````text\ntext\n```python" in text
    assert fence("a ````` b").startswith("``````\n")


def test_the_text_view_marks_results_and_indents_detail() -> None:
    (block,) = render(
        _events(
            (
                "tool_call",
                "agent",
                {"name": "Bash", "input": {"command": "false"}, "toolUseId": "f"},
            ),
            ("tool_result", "agent", {"toolUseId": "f", "content": "boom", "exitCode": 1}),
        )
    )
    lines = block_text(block)
    assert re.search(r"Bash false  \[✗ exit 1\]$", lines[0])
    assert lines[1].strip() == "boom"


def test_opened_files_fold_into_one_line_that_keeps_their_paths() -> None:
    (block,) = render(
        _events(
            ("file_open", "user", {"uri": "file:///src/app/a.py"}),
            ("file_open", "user", {"uri": "file:///src/app/b.py"}),
        ),
        WORKTREE,
    )
    assert block.kind is BlockKind.FILES and block.dimmed
    assert block.title == "opened a.py, b.py"
    assert block.paths == ["a.py", "b.py"]
