"""Listing recent sessions: the SQLite store vs a JSONL-folder store of the same sessions.

    python benchmarks/jsonl_baseline.py                      # 5,000 sessions x 200 events
    python benchmarks/jsonl_baseline.py --db bench.db --json out.json

Amplifier and Claude Code keep one folder (or file) per session: Amplifier
writes ``sessions/<id>/metadata.json`` beside ``transcript.jsonl``. Showing
"the 50 most recent sessions" from such a layout means scanning every
folder, reading each metadata file and stat-ing each transcript for its
modification time, then sorting. This script writes that layout for the
same sessions the store holds (metadata from the store's own session
record, a transcript with as many events as the session has, each
transcript's mtime set to the session's last event), then times

* JSONL: scan, read ``metadata.json``, stat ``transcript.jsonl``, sort, top 50;
* store: ``Store.sessions.list(limit=50)`` (summary table, indexed);

and checks both return the same 50 sessions. Both run warm (the OS page
cache holds the folders), which favours the JSONL store. SPEC 9 budget: the
store lists >= 200x faster.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

from sidecar.core.models import Boundary, NewEvent, Session
from sidecar.store import Store

LIMIT = 50
WORDS = (
    "login form oauth token refresh cache database migration index query parser lexer "
    "render widget layout branch commit rebase merge conflict test fixture mock server"
).split()


def build_store(path: Path, sessions: int, per_session: int) -> None:
    """A store of ``sessions`` sessions with ``per_session`` events each (batched appends)."""
    rng = random.Random(11)
    with Store.open(path) as store:
        for i in range(sessions):
            boundary = Boundary(
                repository=f"example.com/org/repo{i % 20}",
                worktree=f"/src/repo{i % 20}",
                branch=f"branch-{i % 50}",
                requester="dev@example.com",
                machine="bench",
            )
            sid = store.sessions.create(boundary, name=f"session {i}").id
            text = " ".join(rng.choice(WORDS) for _ in range(12))
            store.events.append(
                sid,
                [NewEvent(kind="response", payload={"text": text}) for _ in range(per_session)],
                holder=None,
            )


def _transcript_line(session: Session, seq: int, rng: random.Random) -> str:
    event = {
        "type": "event",
        "sessionId": session.id,
        "seq": seq,
        "time": session.created_at.isoformat(),
        "kind": "prompt" if seq % 10 == 1 else "response",
        "actor": "user" if seq % 10 == 1 else "agent",
        "payload": {
            "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 20))),
            "path": f"src/mod{seq % 30}.py",
        },
    }
    return json.dumps(event)


def write_jsonl_folders(root: Path, sessions: list[Session], cap: int) -> int:
    """One folder per session (metadata.json + transcript.jsonl); returns bytes written."""
    rng = random.Random(5)
    written = 0
    for session in sessions:
        folder = root / session.id
        folder.mkdir(parents=True)
        metadata = json.dumps(session.to_json(), indent=2)
        (folder / "metadata.json").write_text(metadata, encoding="utf-8")
        count = min(session.event_count, cap)
        body = "\n".join(_transcript_line(session, seq, rng) for seq in range(1, count + 1))
        transcript = folder / "transcript.jsonl"
        transcript.write_text(body + "\n", encoding="utf-8")
        last = session.last_event_at or session.updated_at
        stamp = last.timestamp()
        os.utime(transcript, (stamp, stamp))
        written += len(metadata) + len(body) + 1
    return written


def list_recent_jsonl(root: Path, limit: int = LIMIT) -> list[dict[str, Any]]:
    """The ``limit`` most recently active sessions of a JSONL-folder store.

    What a tool with this layout has to do: every folder is visited, its
    metadata parsed and its transcript stat-ed (activity = transcript mtime).
    """
    found: list[tuple[float, str, dict[str, Any]]] = []
    with os.scandir(root) as entries:
        for entry in entries:
            if not entry.is_dir():
                continue
            try:
                with open(os.path.join(entry.path, "metadata.json"), encoding="utf-8") as handle:
                    metadata = json.load(handle)
                mtime = os.stat(os.path.join(entry.path, "transcript.jsonl")).st_mtime
            except (OSError, ValueError):
                continue  # a half-written session folder: skipped, as those tools do
            found.append((mtime, entry.name, metadata))
    found.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [metadata for _, _, metadata in found[:limit]]


def main() -> None:
    """Build (or reuse) the store, write the JSONL layout, time both listings."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=5_000)
    parser.add_argument("--events-per-session", type=int, default=200)
    parser.add_argument("--db", type=Path, help="use the sessions of this store (or build it)")
    parser.add_argument("--runs", type=int, default=20, help="JSONL listings (the slow side)")
    parser.add_argument("--store-runs", type=int, default=200)
    parser.add_argument("--json", type=Path, help="write the figures as a flat JSON dict")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="jsonl-baseline-") as tmp:
        db = args.db or Path(tmp, "sessions.db")
        with Store.open(db) as store:
            have = len(recent_sessions(store, args.sessions))
        if have < args.sessions:
            print(f"building {args.sessions:,} sessions in {db}", file=sys.stderr)
            build_store(db, args.sessions - have, args.events_per_session)
        figures = measure(db, args, Path(tmp))
    report(figures, args.json)


def recent_sessions(store: Store, count: int) -> list[Session]:
    """Up to ``count`` sessions, most recent first (paged: one page holds at most 1,000)."""
    sessions: list[Session] = []
    cursor: str | None = None
    while len(sessions) < count:
        page = store.sessions.list(limit=min(1000, count - len(sessions)), cursor=cursor)
        sessions.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return sessions


def measure(db: Path, args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    """Write the JSONL layout for the store's sessions and time both listings."""
    with Store.open(db) as store:
        sessions = recent_sessions(store, args.sessions)
        root = tmp / "sessions"
        started = time.perf_counter()
        size = write_jsonl_folders(root, sessions, args.events_per_session)
        write_s = time.perf_counter() - started
        print(
            f"wrote {len(sessions):,} session folders ({size / 2**20:.0f} MB) in {write_s:.1f} s",
            file=sys.stderr,
        )
        list_recent_jsonl(root)  # warm the page cache, as for the store
        jsonl = common.timed(lambda: list_recent_jsonl(root), args.runs)
        ours = common.timed(lambda: store.sessions.list(limit=LIMIT), args.store_runs)
        same = [m["id"] for m in list_recent_jsonl(root)] == [
            s.id for s in store.sessions.list(limit=LIMIT).items
        ]
    return {
        "jsonl_sessions": float(len(sessions)),
        "jsonl_bytes": float(size),
        "jsonl_list_recent_ms_p50": common.median(jsonl),
        "jsonl_list_recent_ms_p95": common.pct(jsonl, 95),
        "store_list_recent_ms_p50": common.median(ours),
        "store_list_recent_ms_p95": common.pct(ours, 95),
        "list_vs_jsonl_speedup": common.median(jsonl) / common.median(ours),
        "same_top_sessions": float(same),
    }


def report(figures: dict[str, float], json_path: Path | None) -> None:
    """Print the comparison; write the figures as JSON when asked."""
    print(f"recent {LIMIT} of {figures['jsonl_sessions']:,.0f} sessions (ms)")
    print(
        common.text_table(
            ["store", "p50", "p95"],
            [
                ["JSONL folders", common.fmt(figures["jsonl_list_recent_ms_p50"]),
                 common.fmt(figures["jsonl_list_recent_ms_p95"])],
                ["SQLite store", common.fmt(figures["store_list_recent_ms_p50"], 3),
                 common.fmt(figures["store_list_recent_ms_p95"], 3)],
            ],
        )
    )  # fmt: skip
    print(
        f"speedup {figures['list_vs_jsonl_speedup']:.0f}x (budget >= 200x); "
        f"same 50 sessions: {bool(figures['same_top_sessions'])}"
    )
    if not figures["same_top_sessions"]:
        print("the two listings disagree: the comparison is not like for like", file=sys.stderr)
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
