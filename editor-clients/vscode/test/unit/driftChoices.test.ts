import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { driftChoices, driftMessage } from '../../src/driftChoices';
import type { Recommendation } from '../../src/protocol';

const base: Recommendation = {
  action: 'fresh',
  targetSessionId: null,
  reasons: [
    { code: 'stale', severity: 'info', message: 'Idle for 20 hours' },
    { code: 'branch_changed', severity: 'strong', message: 'Branch changed from main to feature' },
  ],
  summary: '',
  ask: true,
  deferred: false,
};

describe('driftChoices', () => {
  it('offers the native titles without resume when nothing is resumable', () => {
    assert.deepEqual(
      driftChoices(base).map((c) => c.title),
      ['Start fresh', 'Continue here', "Don't ask again for this branch"],
    );
  });
  it('lists Resume first, named, when resume is recommended', () => {
    const choices = driftChoices({ ...base, action: 'resume', targetSessionId: 's9' }, 'search work');
    assert.equal(choices[0].title, 'Resume "search work"');
    assert.deepEqual(choices[0].decide, { action: 'resume', sessionId: 's9' });
  });
  it('remembers the choice for "Don\'t ask again"', () => {
    assert.deepEqual(driftChoices(base)[2].decide, { action: 'continue', remember: true });
  });
});

describe('driftMessage', () => {
  it('prefers the summary, else the strongest reason', () => {
    assert.equal(driftMessage({ ...base, summary: 'Switch?' }), 'Switch?');
    assert.equal(driftMessage(base), 'Branch changed from main to feature');
  });
});
