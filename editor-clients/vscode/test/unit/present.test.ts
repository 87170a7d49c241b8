import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventLabel, eventText, formatAge, oneLine, sessionDescription, sessionLabel } from '../../src/present';
import { event, session } from './fixtures';

const NOW = new Date('2025-01-03T12:00:00Z');

describe('formatAge', () => {
  it('reads in the largest sensible unit', () => {
    assert.equal(formatAge('2025-01-03T11:59:50Z', NOW), 'just now');
    assert.equal(formatAge('2025-01-03T11:55:00Z', NOW), '5m ago');
    assert.equal(formatAge('2025-01-03T09:00:00Z', NOW), '3h ago');
    assert.equal(formatAge('2025-01-01T12:00:00Z', NOW), '2d ago');
    assert.equal(formatAge('2024-11-01T12:00:00Z', NOW), '9w ago');
  });
  it('says never or unknown instead of NaN', () => {
    assert.equal(formatAge(null, NOW), 'never');
    assert.equal(formatAge('not a date', NOW), 'unknown');
  });
  it('treats clock skew (future times) as just now', () => {
    assert.equal(formatAge('2025-01-03T12:05:00Z', NOW), 'just now');
  });
});

describe('sessionLabel', () => {
  it('uses the name, cut to 50 characters', () => {
    assert.equal(sessionLabel(session({ name: 'short' })), 'short');
    const long = sessionLabel(session({ name: 'x'.repeat(80) }));
    assert.equal(long.length, 50);
    assert.ok(long.endsWith('…'));
  });
  it('falls back to the id tail for unnamed sessions', () => {
    assert.equal(sessionLabel(session({ name: '  ', id: 'abcdef123456' })), 'session 123456');
  });
});

describe('sessionDescription', () => {
  it('joins status, age of last activity and event count', () => {
    const s = session({ status: 'idle', eventCount: 1, lastEventAt: '2025-01-03T11:00:00Z' });
    assert.equal(sessionDescription(s, NOW), 'idle · 1h ago · 1 event');
    const t = session({ eventCount: 12, updatedAt: '2025-01-03T11:58:00Z' });
    assert.equal(sessionDescription(t, NOW), 'active · 2m ago · 12 events');
  });
});

describe('eventText', () => {
  it('shows prompt text on one line', () => {
    assert.equal(eventText(event({ payload: { text: 'fix\n  the   bug' } })), 'fix the bug');
  });
  it('shows branch changes as from → to', () => {
    assert.equal(eventText(event({ kind: 'branch_change', payload: { from: 'main', to: 'feature' } })), 'main → feature');
  });
  it('shows commits as short sha and subject', () => {
    const e = event({ kind: 'commit', payload: { sha: '0123456789abcdef', subject: 'Add search' } });
    assert.equal(eventText(e), '0123456 Add search');
  });
  it('shows the path of file events', () => {
    assert.equal(eventText(event({ kind: 'file_change', payload: { path: 'src/a.py', change: 'modified' } })), 'modified src/a.py');
  });
  it('falls back to the first string field, then to nothing', () => {
    assert.equal(eventText(event({ kind: 'handoff', payload: { count: 3, to: 'reviewer' } })), 'reviewer');
    assert.equal(eventText(event({ kind: 'drift', payload: {} })), '');
  });
  it('cuts long text with an ellipsis', () => {
    const text = eventText(event({ payload: { text: 'a'.repeat(200) } }));
    assert.equal(text.length, 72);
    assert.ok(text.endsWith('…'));
  });
  it('labels with the kind first', () => {
    assert.equal(eventLabel(event({ kind: 'command', payload: { command: 'pytest -q' } })), 'command: pytest -q');
    assert.equal(eventLabel(event({ kind: 'drift', payload: {} })), 'drift');
  });
});

describe('oneLine', () => {
  it('keeps short text untouched', () => {
    assert.equal(oneLine('abc', 10), 'abc');
  });
});
