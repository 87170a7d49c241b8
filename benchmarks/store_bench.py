"""Store benchmarks at scale (SPEC 9): appends, recent sessions, event pages, search.

    python benchmarks/store_bench.py                 # 1M events over 5k sessions
    python benchmarks/store_bench.py --events 100000 --sessions 500 --json out.json

Prints median and p95 per figure with its budget. Not a test: machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import pct, timed

from sidecar.core.models import Boundary, NewEvent
from sidecar.store import Store, new_holder_id

WORDS = (
    "login form oauth token refresh cache database migration index query parser lexer "
    "render widget layout branch commit rebase merge conflict test fixture mock server "
    "client request response timeout retry backoff queue worker thread lock"
).split()


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 20)))


def build(
    store: Store, sessions: int, events: int, rng: random.Random, holder: str
) -> tuple[list[str], float]:
    """Create the data set; returns session ids and batched-append events/s."""
    per = events // sessions
    ids = []
    total_time = 0.0
    appended = 0
    for i in range(sessions):
        b = Boundary(
            repository=f"example.com/org/repo{i % 20}",
            worktree=f"/src/repo{i % 20}",
            branch=f"branch-{i % 50}",
            requester="dev@example.com",
            machine="bench",
        )
        sid = store.sessions.create(b, name=f"session {i}").id
        ids.append(sid)
        batch = [
            NewEvent(
                kind="prompt" if j % 10 == 0 else "response",
                payload={"text": sentence(rng), "path": f"/src/repo{i % 20}/mod{j % 30}.py"},
            )
            for j in range(per)
        ]
        start = time.perf_counter()
        store.events.append(sid, batch, holder=holder)
        total_time += time.perf_counter() - start
        appended += len(batch)
    return ids, appended / total_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--sessions", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--db", type=Path, help="reuse or create the database here")
    args = parser.parse_args()
    rng = random.Random(7)
    # Appends come from a connection (as the server's do): the holder check runs each time.
    holder = new_holder_id()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        store = Store.open(path)
        existing = store.sessions.list(limit=args.sessions).items
        if len(existing) >= args.sessions:
            ids = [s.id for s in existing]
            batch_rate = float("nan")
        else:
            t0 = time.perf_counter()
            ids, batch_rate = build(store, args.sessions, args.events, rng, holder)
            print(
                f"built {args.events:,} events / {args.sessions:,} sessions in "
                f"{time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
            )
        t0 = time.perf_counter()
        indexed = store.events.index_pending()
        index_s = time.perf_counter() - t0

        single_sid = store.sessions.create(
            existing[0].boundary
            if existing
            else Boundary(repository="r", worktree="/w", branch="b", requester="r", machine="m")
        ).id
        store.leases.acquire(single_sid, holder, lease_seconds=3600)
        single = timed(
            lambda: store.events.append(
                single_sid, [NewEvent(kind="note", payload={"text": "x"})], holder=holder
            ),
            args.runs,
        )
        recent = timed(lambda: store.sessions.list(limit=50), args.runs)
        recent_branch = timed(
            lambda: store.sessions.list(
                repository="example.com/org/repo3", branch="branch-3", limit=50
            ),
            args.runs,
        )
        page = timed(
            lambda: store.events.page(rng.choice(ids), after_seq=rng.randint(0, 100), limit=100),
            args.runs,
        )
        search = timed(
            lambda: store.events.search(rng.choice(WORDS) + " " + rng.choice(WORDS)), args.runs
        )
        store.close()

    figures = {
        "append_batch_events_per_s": batch_rate,
        "append_single_ms_p50": statistics.median(single),
        "append_single_ms_p95": pct(single, 95),
        "list_recent_ms_p50": statistics.median(recent),
        "list_recent_ms_p95": pct(recent, 95),
        "list_recent_branch_ms_p95": pct(recent_branch, 95),
        "page_events_ms_p50": statistics.median(page),
        "page_events_ms_p95": pct(page, 95),
        "search_ms_p50": statistics.median(search),
        "search_ms_p95": pct(search, 95),
        "fts_catch_up_s": index_s,
        "fts_catch_up_events": indexed,
    }
    budgets = {
        "append_batch_events_per_s": ">= 50,000/s",
        "append_single_ms_p50": "<= 2 ms (round trip over LSP)",
        "list_recent_ms_p95": "<= 2 ms",
        "page_events_ms_p95": "<= 2 ms",
        "search_ms_p95": "<= 10 ms",
    }
    print(f"{'figure':32} {'value':>12}  budget")
    for key, value in figures.items():
        print(f"{key:32} {value:12.3f}  {budgets.get(key, '')}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
