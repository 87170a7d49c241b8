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
  it('answers a pending decision on click, else offers the session actions', () => {
    assert.equal(statusView(status({ pendingRecommendation: fresh })).command, 'sessionSidecar.decideDrift');
    assert.equal(statusView(status()).command, 'sessionSidecar.sessionActions');
    assert.equal(statusView(status({ pendingRecommendation: { ...fresh, deferred: true } })).command, 'sessionSidecar.sessionActions');
    assert.equal(statusView(null).command, 'sessionSidecar.sessionActions');
  });
  it('shows no raw session id in the tooltip', () => {
    const id = '01jgz8k9m2x4v6b8n0q2r4t6w8';
    const rec = { ...fresh, action: 'resume' as const, targetSessionId: id, summary: `Resume session 'Add login form' (${id}): the branch changed.` };
    const view = statusView(status({ pendingRecommendation: rec }));
    assert.ok(!view.tooltip.includes(id), view.tooltip);
    assert.match(view.tooltip, /Resume session 'Add login form': the branch changed\./);
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
