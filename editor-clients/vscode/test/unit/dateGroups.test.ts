import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineageText } from '../../src/present';
import { dateLabel, groupByDate } from '../../src/treeModel';
import { session } from './fixtures';

/** A local time `days` calendar days before NOW, at `hour` o'clock (the test runs in any zone). */
function daysAgo(days: number, hour = 10): string {
  return new Date(2025, 0, 15 - days, hour, 0, 0).toISOString();
}
const NOW = new Date(2025, 0, 15, 9, 30, 0);

describe('dateLabel', () => {
  it('counts local calendar days, not 24-hour spans', () => {
    assert.equal(dateLabel(daysAgo(0, 0), NOW), 'Today');
    assert.equal(dateLabel(daysAgo(1, 23), NOW), 'Yesterday'); // less than 24 hours ago, still yesterday
    assert.equal(dateLabel(daysAgo(1, 0), NOW), 'Yesterday');
    assert.equal(dateLabel(daysAgo(2), NOW), 'This week');
    assert.equal(dateLabel(daysAgo(6), NOW), 'This week');
    assert.equal(dateLabel(daysAgo(7), NOW), 'Older');
    assert.equal(dateLabel(daysAgo(-1), NOW), 'Today'); // a clock ahead
    assert.equal(dateLabel('not a date', NOW), 'Older');
  });
});

describe('groupByDate', () => {
  it('lists the non-empty groups in order, newest first, the active session first', () => {
    const sessions = [
      session({ id: 'old', lastEventAt: daysAgo(30) }),
      session({ id: 'today-early', lastEventAt: daysAgo(0, 1) }),
      session({ id: 'today-late', lastEventAt: daysAgo(0, 8) }),
      session({ id: 'week', lastEventAt: daysAgo(3) }),
      session({ id: 'active', lastEventAt: daysAgo(3, 1) }),
    ];
    const groups = groupByDate(sessions, NOW, 'active');
    assert.deepEqual(
      groups.map((g) => [g.label, g.sessions.map((s) => s.id)]),
      [
        ['Today', ['today-late', 'today-early']],
        ['This week', ['active', 'week']],
        ['Older', ['old']],
      ],
    );
  });
  it('falls back to the last update, then the creation time', () => {
    const s = session({ id: 'x', lastEventAt: null, updatedAt: daysAgo(1), createdAt: daysAgo(20) });
    assert.equal(groupByDate([s], NOW)[0].label, 'Yesterday');
  });
});

describe('lineageText', () => {
  it('names the parent and the event the fork starts after', () => {
    const fork = session({ parentId: '01JPARENT00000000000000abc123', forkedAtSeq: 4 });
    assert.equal(lineageText(fork, { id: fork.parentId ?? '', name: 'Add login form' }), 'forked from Add login form at #4');
    assert.equal(lineageText(fork), 'forked from session abc123 at #4');
    assert.equal(lineageText(session()), '');
  });
});
