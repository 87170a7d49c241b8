import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  branchDescription,
  emptyListing,
  filterDescription,
  groupByBranch,
  isFiltered,
  recentAfterSeq,
  sessionContextValue,
  visibleBlocks,
} from '../../src/treeModel';
import { block, session } from './fixtures';

const a = session({ id: 'a', branch: 'main', lastEventAt: '2025-01-01T10:00:00Z' });
const b = session({ id: 'b', branch: 'feature', lastEventAt: '2025-01-02T10:00:00Z' });
const c = session({ id: 'c', branch: 'main', lastEventAt: '2025-01-03T10:00:00Z' });
const d = session({ id: 'd', branch: 'old', lastEventAt: '2024-12-01T10:00:00Z' });

describe('groupByBranch', () => {
  it('puts the current branch first, then branches by latest activity', () => {
    const groups = groupByBranch([a, b, c, d], 'feature');
    assert.deepEqual(
      groups.map((g) => [g.branch, g.current]),
      [
        ['feature', true],
        ['main', false],
        ['old', false],
      ],
    );
  });
  it('orders sessions newest first inside a branch', () => {
    const main = groupByBranch([a, b, c], 'feature').find((g) => g.branch === 'main');
    assert.deepEqual(main?.sessions.map((s) => s.id), ['c', 'a']);
  });
  it('lists the active session first in its branch', () => {
    const main = groupByBranch([a, c], 'main', 'a')[0];
    assert.deepEqual(main.sessions.map((s) => s.id), ['a', 'c']);
  });
  it('shows the current branch even before it has a session', () => {
    const groups = groupByBranch([a], 'brand-new');
    assert.deepEqual(groups.map((g) => [g.branch, g.sessions.length]), [
      ['brand-new', 0],
      ['main', 1],
    ]);
  });
  it('returns nothing for nothing', () => {
    assert.deepEqual(groupByBranch([], undefined), []);
  });
  it('falls back to updatedAt when a session has no event', () => {
    const quiet = session({ id: 'q', branch: 'x', lastEventAt: null, updatedAt: '2025-02-01T00:00:00Z' });
    assert.equal(groupByBranch([a, quiet], undefined)[0].branch, 'x');
  });
});

describe('labels and paging', () => {
  it('describes branches with their session count', () => {
    const [feature, main] = groupByBranch([a, b, c], 'feature');
    assert.equal(branchDescription(feature), 'current · 1 session');
    assert.equal(branchDescription(main), '2 sessions');
  });
  it('marks the current session in its context value', () => {
    assert.equal(sessionContextValue(a, 'a'), 'session.active.current');
    assert.equal(sessionContextValue(session({ status: 'ended' }), 'a'), 'session.ended');
  });
  it('pages to the last events', () => {
    assert.equal(recentAfterSeq(100, 20), 80);
    assert.equal(recentAfterSeq(5, 20), 0);
  });
});

describe('visibleBlocks', () => {
  const cp = { id: 'c1', sessionId: 's1', name: 'before', seq: 3, createdAt: '2025-01-01T10:00:00Z' };
  it('drops the blocks of listed checkpoints, keeps the rest', () => {
    const blocks = [block({ seq: 2, kind: 'turn' }), block({ seq: 3, kind: 'checkpoint' }), block({ seq: 4, kind: 'checkpoint' })];
    assert.deepEqual(visibleBlocks(blocks, [cp]).map((b) => b.seq), [2, 4]);
  });
});

describe('filter and empty listing', () => {
  const none = { scope: 'repository' as const, query: '', statuses: [] };
  it('describes the scope and the filter in force', () => {
    assert.equal(filterDescription(none), 'repository');
    assert.equal(filterDescription({ scope: 'branch', query: 'login', statuses: ['active', 'idle'] }), 'branch · "login" · active or idle');
  });
  it('says what matched nothing and offers to clear the filter and widen the scope', () => {
    const lines = emptyListing({ scope: 'branch', query: 'login', statuses: ['ended'] });
    assert.equal(lines[0].text, 'No ended sessions match "login" in this branch');
    assert.deepEqual(lines.slice(1).map((l) => [l.command, l.args]), [
      ['sessionSidecar.clearFilter', undefined],
      ['sessionSidecar.switchScope', ['all']],
    ]);
  });
  it('offers to start a session when nothing is filtered', () => {
    const lines = emptyListing({ ...none, scope: 'all' });
    assert.equal(lines[0].text, 'No sessions in any repository');
    assert.deepEqual(lines.slice(1).map((l) => l.command), ['sessionSidecar.startFresh']);
    assert.ok(!isFiltered(none));
  });
});
