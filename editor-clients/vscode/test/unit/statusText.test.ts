import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Recommendation } from '../../src/protocol';
import { driftState, statusView } from '../../src/statusText';
import { status } from './fixtures';

const fresh: Recommendation = {
  action: 'fresh',
  targetSessionId: null,
  reasons: [{ code: 'branch_changed', severity: 'strong', message: 'Branch changed from main to feature' }],
  summary: 'Branch changed: start a fresh session?',
  ask: true,
  deferred: false,
};

describe('statusView', () => {
  it('names branch and session', () => {
    const view = statusView(status());
    assert.equal(view.text, '$(history) main · add search');
    assert.equal(view.drift, 'none');
    assert.match(view.tooltip, /Session: add search \(active, 3 events\)/);
  });
  it('marks a pending drift and explains it in the tooltip', () => {
    const view = statusView(status({ pendingRecommendation: fresh }));
    assert.equal(view.text, '$(history) main · add search $(warning) drift');
    assert.match(view.tooltip, /Drift: Branch changed: start a fresh session\?/);
  });
  it('shows a deferred recommendation as such', () => {
    const view = statusView(status({ pendingRecommendation: { ...fresh, deferred: true } }));
    assert.ok(view.text.endsWith('$(clock) deferred'));
  });
  it('says when there is no session or repository', () => {
    assert.equal(statusView(status({ activeSession: null, boundary: null })).text, '$(history) no repository · no session');
  });
  it('says offline with the reason when the server is down', () => {
    const view = statusView(null, 'no server found');
    assert.equal(view.drift, 'offline');
    assert.match(view.tooltip, /no server found/);
  });
});

describe('driftState', () => {
  it('does not flag a quiet continue', () => {
    assert.equal(driftState(status({ pendingRecommendation: { ...fresh, action: 'continue', ask: false } })), 'none');
  });
});
