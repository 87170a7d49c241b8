"""Merging sessions recorded twice for one provider session (schema v4 repairs them).

Before v4 nothing stopped two processes that saw a provider's session at the
same moment from each creating a session for it. The oldest (created_at, id)
survives; the others' history moves into it. Runs inside the migration's
transaction, with foreign keys off.
"""

from __future__ import annotations

import json
import sqlite3

from sidecar.core.text import prompt_preview
from sidecar.store.history import materialize_in

SeqMap = dict[tuple[str, int], int]


def fts_mark(conn: sqlite3.Connection) -> int:
    """Events with rowid <= this are in the full-text index."""
    row = conn.execute("SELECT value FROM state WHERE key = 'fts_rowid'").fetchone()
    return int(json.loads(row[0])) if row else 0


def unindex(conn: sqlite3.Connection, where: str, params: tuple[object, ...] = ()) -> None:
    """Remove the indexed events matching `where` from the full-text index."""
    conn.execute(
        "INSERT INTO events_fts (events_fts, rowid, text) SELECT 'delete', rowid, text "
        f"FROM events WHERE ({where}) AND rowid <= ?",
        (*params, fts_mark(conn)),
    )


def merge_duplicate_refs(conn: sqlite3.Connection) -> int:
    """Merge every group of sessions sharing (provider, provider_ref); returns how many went."""
    groups = conn.execute(
        "SELECT provider, provider_ref FROM sessions "
        "WHERE provider IS NOT NULL AND provider_ref IS NOT NULL "
        "GROUP BY provider, provider_ref HAVING count(*) > 1"
    ).fetchall()
    merged = 0
    for provider, ref in groups:
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM sessions WHERE provider = ? AND provider_ref = ? "
                "ORDER BY created_at, id",
                (provider, ref),
            )
        ]
        merge_into(conn, ids[0], ids[1:])
        merged += len(ids) - 1
    return merged


def merge_into(conn: sqlite3.Connection, survivor: str, duplicates: list[str]) -> None:
    """Move the duplicates' history into `survivor`, then delete them."""
    marks = ", ".join("?" for _ in duplicates)
    _detach_forks(conn, survivor, duplicates, marks)
    seq_map = _move_events(conn, survivor, duplicates, marks)
    _move_derived(conn, survivor, duplicates, marks, seq_map)
    _recompute_summary(conn, survivor, duplicates, marks)
    conn.execute(f"DELETE FROM sessions WHERE id IN ({marks})", duplicates)


def _detach_forks(
    conn: sqlite3.Connection, survivor: str, duplicates: list[str], marks: str
) -> None:
    """Forks of a duplicate keep their inherited history as their own rows, then point on."""
    for row in conn.execute(
        f"SELECT id, forked_at_seq FROM sessions WHERE parent_id IN ({marks}) "
        "AND forked_at_seq > 0",
        duplicates,
    ).fetchall():
        materialize_in(conn, row[0], int(row[1]))
    root = conn.execute("SELECT root_id FROM sessions WHERE id = ?", (survivor,)).fetchone()[0]
    conn.execute(
        f"UPDATE sessions SET parent_id = CASE WHEN id = ? THEN NULL ELSE ? END "
        f"WHERE parent_id IN ({marks})",
        (survivor, survivor, *duplicates),
    )
    conn.execute(
        f"UPDATE sessions SET root_id = CASE WHEN id = ? THEN NULL ELSE ? END "
        f"WHERE root_id IN ({marks})",
        (survivor, root if root not in duplicates and root is not None else survivor, *duplicates),
    )


def _move_events(
    conn: sqlite3.Connection, survivor: str, duplicates: list[str], marks: str
) -> SeqMap:
    """Re-key the duplicates' events to the survivor (rowids kept: the index stays valid)."""
    top = conn.execute(
        "SELECT max(COALESCE((SELECT max(seq) FROM events WHERE session_id = ?), 0), "
        "COALESCE(forked_at_seq, 0)) FROM sessions WHERE id = ?",
        (survivor, survivor),
    ).fetchone()[0]
    last = int(top or 0)
    known: dict[str, int] = {
        cid: seq
        for cid, seq in conn.execute(
            "SELECT client_event_id, seq FROM events WHERE session_id = ? "
            "AND client_event_id IS NOT NULL",
            (survivor,),
        )
    }
    seq_map: SeqMap = {}
    moves: list[tuple[str, int, int]] = []
    drops: list[tuple[int]] = []
    for rowid, session_id, seq, cid in conn.execute(
        f"SELECT rowid, session_id, seq, client_event_id FROM events "
        f"WHERE session_id IN ({marks}) ORDER BY time, seq, rowid",
        duplicates,
    ).fetchall():
        if cid is not None and cid in known:
            seq_map[(session_id, seq)] = known[cid]
            drops.append((rowid,))
            continue
        last += 1
        seq_map[(session_id, seq)] = last
        if cid is not None:
            known[cid] = last
        moves.append((survivor, last, rowid))
    mark = fts_mark(conn)
    conn.executemany(
        "INSERT INTO events_fts (events_fts, rowid, text) SELECT 'delete', rowid, text "
        "FROM events WHERE rowid = ? AND rowid <= ?",
        [(rowid, mark) for (rowid,) in drops],
    )
    conn.executemany("DELETE FROM events WHERE rowid = ?", drops)
    conn.executemany("UPDATE events SET session_id = ?, seq = ? WHERE rowid = ?", moves)
    return seq_map


def _move_derived(
    conn: sqlite3.Connection, survivor: str, duplicates: list[str], marks: str, seq_map: SeqMap
) -> None:
    """Checkpoints, annotations, approvals, footprint and cache follow their events."""

    def remap(session_id: str, seq: int | None) -> int | None:
        return None if seq is None else seq_map.get((session_id, seq), seq)

    rows = conn.execute(
        f"SELECT id, session_id, seq FROM checkpoints WHERE session_id IN ({marks})", duplicates
    ).fetchall()
    conn.executemany(
        "UPDATE checkpoints SET session_id = ?, seq = ? WHERE id = ?",
        [(survivor, remap(sid, seq), cid) for cid, sid, seq in rows],
    )
    rows = conn.execute(
        f"SELECT id, session_id, seq FROM annotations WHERE session_id IN ({marks})", duplicates
    ).fetchall()
    conn.executemany(
        "UPDATE annotations SET session_id = ?, seq = ? WHERE id = ?",
        [(survivor, remap(sid, seq), aid) for aid, sid, seq in rows],
    )
    rows = conn.execute(
        f"SELECT id, session_id, requested_seq, decided_seq FROM approvals "
        f"WHERE session_id IN ({marks})",
        duplicates,
    ).fetchall()
    conn.executemany(
        "UPDATE approvals SET session_id = ?, requested_seq = ?, decided_seq = ? WHERE id = ?",
        [(survivor, remap(sid, req), remap(sid, dec), aid) for aid, sid, req, dec in rows],
    )
    rows = conn.execute(
        f"SELECT session_id, path, weight, last_seq FROM footprint WHERE session_id IN ({marks})",
        duplicates,
    ).fetchall()
    conn.executemany(
        "INSERT INTO footprint (session_id, path, weight, last_seq) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (session_id, path) DO UPDATE SET weight = weight + excluded.weight, "
        "last_seq = max(last_seq, excluded.last_seq)",
        [(survivor, path, weight, remap(sid, last)) for sid, path, weight, last in rows],
    )
    conn.execute(f"DELETE FROM footprint WHERE session_id IN ({marks})", duplicates)
    # The survivor's own cache entries win, then the most recent of the duplicates'.
    conn.execute(
        "INSERT OR IGNORE INTO cache (session_id, key, value, updated_at) "
        f"SELECT ?, key, value, updated_at FROM cache WHERE session_id IN ({marks}) "
        "ORDER BY updated_at DESC",
        (survivor, *duplicates),
    )
    conn.execute(f"DELETE FROM cache WHERE session_id IN ({marks})", duplicates)


def _recompute_summary(
    conn: sqlite3.Connection, survivor: str, duplicates: list[str], marks: str
) -> None:
    """event_count, last event, activity and last prompt from the merged history."""
    everyone = (survivor, *duplicates)
    all_marks = ", ".join("?" for _ in everyone)
    top = conn.execute(
        "SELECT max(COALESCE((SELECT max(seq) FROM events WHERE session_id = ?), 0), "
        "COALESCE(forked_at_seq, 0)) FROM sessions WHERE id = ?",
        (survivor, survivor),
    ).fetchone()[0]
    last_time = conn.execute(
        "SELECT max(time) FROM events WHERE session_id = ?", (survivor,)
    ).fetchone()[0]
    activity, updated, pinned = conn.execute(
        f"SELECT max(activity_at), max(updated_at), max(pinned) FROM sessions "
        f"WHERE id IN ({all_marks})",
        everyone,
    ).fetchone()
    prompt = conn.execute(
        "SELECT payload FROM events WHERE session_id = ? AND kind = 'prompt' "
        "ORDER BY seq DESC LIMIT 1",
        (survivor,),
    ).fetchone()
    preview = prompt_preview(json.loads(prompt[0])) if prompt else None
    conn.execute(
        "UPDATE sessions SET event_count = ?, "
        "last_event_at = COALESCE(?, last_event_at), "
        "activity_at = max(?, COALESCE(?, ''), created_at), "
        "updated_at = max(updated_at, ?), pinned = ?, "
        "last_prompt = COALESCE(?, last_prompt) WHERE id = ?",
        (int(top or 0), last_time, activity, last_time, updated, pinned, preview, survivor),
    )
