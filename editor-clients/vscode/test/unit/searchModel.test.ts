import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { searchRows } from '../../src/searchModel';
import { hit } from './fixtures';

const NOW = new Date('2025-01-03T12:00:00Z');

describe('searchRows', () => {
  it('shows session name, kind, seq, age and the snippet', () => {
    const [row] = searchRows([hit()], 'login', 'repository', NOW);
    assert.equal(row.label, 'Add login form');
    assert.equal(row.description, 'prompt · #4 · 2h ago');
    assert.equal(row.detail, 'Add a [login] form with email and password');
    assert.equal(row.hit?.seq, 4);
  });
  it('names an unnamed session by its id tail and flattens long snippets', () => {
    const [row] = searchRows([hit({ sessionName: '', kind: 'tool_result', snippet: `a\n${'b'.repeat(300)}` })], 'b', 'all', NOW);
    assert.equal(row.label, 'session r4t6w8');
    assert.equal(row.description, 'tool result · #4 · 2h ago');
    assert.ok(row.detail && row.detail.length <= 160 && !row.detail.includes('\n'));
  });
  it('says nothing matched and offers to search every repository', () => {
    const rows = searchRows([], ' zebra ', 'branch', NOW);
    assert.equal(rows.length, 1);
    assert.match(rows[0].label, /No matches for "zebra" in this branch/);
    assert.equal(rows[0].widen, 'all');
  });
  it('has nothing wider to offer in scope all', () => {
    const [row] = searchRows([], 'zebra', 'all', NOW);
    assert.equal(row.widen, undefined);
    assert.match(row.label, /in any repository/);
  });
  it('shows nothing for an empty query', () => {
    assert.deepEqual(searchRows([], '  ', 'branch', NOW), []);
  });
});
