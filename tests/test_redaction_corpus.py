"""Redaction recall and false positives over the corpora in tests/data (issue 12).

Each secret is written through the real store in every channel an agent's work
reaches it by, then looked for in the database's bytes (main file, WAL, search
index); each harmless look-alike must read back unchanged. The figures per
channel are printed (``pytest -s`` or ``-rP`` shows them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sidecar.agents import hook
from sidecar.core.models import Boundary, NewEvent
from sidecar.store import Store
from tests.data.redaction_corpus import HARMLESS, SECRETS
from tests.gitrepo import make_repo

MIN_RECALL = 0.99
MAX_FALSE_POSITIVES = 0.03

Payload = Callable[[str], tuple[str, dict[str, Any]]]

#: channel -> (event kind, payload) for a text an agent saw.
CHANNELS: dict[str, Payload] = {
    "prompt": lambda text: ("prompt", {"text": text}),
    "tool input": lambda text: ("tool_call", {"tool": "Bash", "input": {"command": text}}),
    "command output": lambda text: ("tool_result", {"tool": "Bash", "output": text}),
    "file change": lambda text: (
        "file_change",
        {"path": "src/settings.py", "diff": f"@@ -1 +1 @@\n-x\n+{text}"},
    ),
}


def _on_disk(db: Path) -> bytes:
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*") if p.is_file())


def _boundary() -> Boundary:
    return Boundary(repository="r", worktree="/w", branch="main", requester="me", machine="m")


def _store_in_channel(db: Path, channel: str, texts: list[str]) -> list[str]:
    """Write each text through the store in ``channel``; returns what reads back."""
    with Store.open(db) as store:
        if channel == "session name":
            return [store.sessions.create(_boundary(), name=text).name for text in texts]
        session = store.sessions.create(_boundary())
        kind_and_payloads = [CHANNELS[channel](text) for text in texts]
        events = [NewEvent(kind=kind, payload=payload) for kind, payload in kind_and_payloads]
        store.events.append(session.id, events, holder=None)
        store.events.index_pending()
        return [json.dumps(e.payload) for e in store.events.page(session.id, limit=1000)]


def _report(channel: str, what: str, figure: float, failures: list[str]) -> None:
    print(f"\n{channel:15} {what:16} {figure:6.1%}  {', '.join(failures) or '-'}")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    return folder / "sessions.db"


def test_the_corpora_are_big_enough() -> None:
    assert len(SECRETS) >= 60 and len(HARMLESS) >= 50


@pytest.mark.parametrize("channel", [*CHANNELS, "session name"])
def test_recall_per_channel(db: Path, channel: str) -> None:
    texts = [context.format(s=secret) for secret, context in SECRETS.values()]
    _store_in_channel(db, channel, texts)
    stored = _on_disk(db)
    leaked = [kind for kind, (secret, _) in SECRETS.items() if secret.encode() in stored]
    recall = 1 - len(leaked) / len(SECRETS)
    _report(channel, "recall", recall, leaked)
    assert recall >= MIN_RECALL, f"secrets stored verbatim: {leaked}"


def test_recall_through_the_claude_code_hook(
    tmp_path: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hook input: the first prompt also names the session."""
    repo = make_repo(tmp_path)
    monkeypatch.setenv("SIDECAR_DB", str(db))
    with Store.open(db) as store:
        for i, (secret, context) in enumerate(SECRETS.values()):
            raw = {"hook_event_name": "UserPromptSubmit", "session_id": f"s{i}",
                   "cwd": str(repo), "prompt": context.format(s=secret)}  # fmt: skip
            hook.run("claude-code", json.dumps(raw).encode(), store=store)
        store.events.index_pending()
    stored = _on_disk(db)
    leaked = [kind for kind, (secret, _) in SECRETS.items() if secret.encode() in stored]
    recall = 1 - len(leaked) / len(SECRETS)
    _report("hook input", "recall", recall, leaked)
    assert recall >= MIN_RECALL, f"secrets stored verbatim: {leaked}"


@pytest.mark.parametrize("channel", [*CHANNELS, "session name"])
def test_false_positives_per_channel(db: Path, channel: str) -> None:
    read_back = _store_in_channel(db, channel, HARMLESS)
    if channel == "session name":
        changed = [text for text, got in zip(HARMLESS, read_back, strict=True) if got != text]
    else:
        wanted = [json.dumps(CHANNELS[channel](text)[1]) for text in HARMLESS]
        changed = [
            text for text, want, got in zip(HARMLESS, wanted, read_back, strict=True)
            if got != want
        ]  # fmt: skip
    rate = len(changed) / len(HARMLESS)
    _report(channel, "false positives", rate, changed)
    assert rate < MAX_FALSE_POSITIVES, f"harmless strings redacted: {changed}"
