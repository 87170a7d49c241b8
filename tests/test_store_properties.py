"""Property-based tests: the store against a plain in-memory model of it."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    precondition,
    rule,
)

from sidecar.core.models import utcnow
from sidecar.store import Store
from tests.storeutil import boundary, note

BRANCHES = st.sampled_from(["main", "feature", "fix"])
TEXTS = st.text(alphabet="abcdefgh xyz", min_size=0, max_size=12)


class StoreMachine(RuleBasedStateMachine):
    """Random appends, retries, forks, endings and cleanups; the model says what must hold."""

    sessions = Bundle("sessions")

    @initialize()
    def open_store(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.store = Store.open(Path(self.dir.name) / "p.db")
        self.history: dict[str, list[str]] = {}  # session -> texts by seq
        self.branch: dict[str, str] = {}
        self.ended: set[str] = set()
        self.cids: dict[str, dict[str, int]] = {}
        self.clock = utcnow() - timedelta(days=100)

    def teardown(self) -> None:
        self.store.close()
        self.dir.cleanup()

    def _tick(self) -> None:
        self.clock += timedelta(minutes=1)

    @rule(target=sessions, branch=BRANCHES)
    def start(self, branch: str) -> str:
        self._tick()
        s = self.store.sessions.create(boundary(branch), now=self.clock)
        self.history[s.id] = []
        self.branch[s.id] = branch
        self.cids[s.id] = {}
        return s.id

    @rule(sid=sessions, texts=st.lists(TEXTS, min_size=1, max_size=5), with_ids=st.booleans())
    def append(self, sid: str, texts: list[str], with_ids: bool) -> None:
        if sid not in self.history:
            return
        self._tick()
        batch = []
        for text in texts:
            cid = f"c{len(self.cids[sid])}-{text}" if with_ids else None
            batch.append(note(text, cid=cid))
        seqs = self.store.events.append(sid, batch, holder=None, now=self.clock)
        expected = []
        for event in batch:
            cid = event.client_event_id
            if cid and cid in self.cids[sid]:
                expected.append(self.cids[sid][cid])
                continue
            self.history[sid].append(event.payload["text"])
            expected.append(len(self.history[sid]))
            if cid:
                self.cids[sid][cid] = len(self.history[sid])
        assert seqs == expected

    @rule(sid=sessions)
    def retry_last_batch(self, sid: str) -> None:
        if sid not in self.history or not self.cids[sid]:
            return
        cid, seq = next(reversed(self.cids[sid].items()))
        again = self.store.events.append(
            sid, [note(self.history[sid][seq - 1], cid=cid)], holder=None
        )
        assert again == [seq]

    @rule(target=sessions, sid=sessions, data=st.data())
    def fork(self, sid: str, data: st.DataObject) -> str:
        if sid not in self.history:
            return sid
        self._tick()
        at = data.draw(st.integers(min_value=0, max_value=len(self.history[sid])))
        child = self.store.sessions.fork(sid, at_seq=at, now=self.clock)
        self.history[child.id] = list(self.history[sid][:at])
        self.branch[child.id] = self.branch[sid]
        self.cids[child.id] = {}
        return child.id

    @rule(sid=sessions)
    def end(self, sid: str) -> None:
        if sid in self.history:
            self.store.sessions.end(sid)
            self.ended.add(sid)

    @precondition(lambda self: bool(self.ended))
    @rule(days=st.integers(min_value=0, max_value=120))
    def cleanup(self, days: int) -> None:
        removed = self.store.sessions.cleanup(days, now=self.clock + timedelta(days=0))
        for s in removed:
            assert s.id in self.ended
            self.ended.discard(s.id)
            del self.history[s.id]

    @rule(sid=consumes(sessions))
    def delete(self, sid: str) -> None:
        if sid in self.history:
            self.store.sessions.delete(sid)
            del self.history[sid]
            self.ended.discard(sid)

    @invariant()
    def histories_match_the_model(self) -> None:
        if not hasattr(self, "store"):
            return
        for sid, texts in self.history.items():
            events = self.store.events.page(sid, limit=10_000)
            assert [e.seq for e in events] == list(range(1, len(texts) + 1))
            assert [e.payload["text"] for e in events] == texts
            assert self.store.events.last_seq(sid) == len(texts)

    @invariant()
    def listing_is_complete_and_ordered(self) -> None:
        if not hasattr(self, "store"):
            return
        listed = []
        cursor = None
        while True:
            page = self.store.sessions.list(limit=3, cursor=cursor)
            listed.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert sorted(s.id for s in listed) == sorted(self.history)
        keys = [(s.last_event_at or s.created_at) for s in listed]
        assert keys == sorted(keys, reverse=True)
        for branch in ("main", "feature", "fix"):
            got = {s.id for s in self.store.sessions.list(branch=branch, limit=1000).items}
            assert got == {sid for sid in self.history if self.branch[sid] == branch}


TestStoreMachine = StoreMachine.TestCase
TestStoreMachine.settings = settings(
    max_examples=60,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
