import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockDescription, blockIcon, blockLabel, formatAge, oneLine, sessionDescription, sessionLabel, statusMark } from '../../src/present';
import { block, session } from './fixtures';

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

describe('block rows', () => {
  it('shows a turn with its text on one line', () => {
    const b = block({ kind: 'turn', actor: 'user', title: 'Prompt', body: 'fix\n  the   bug' });
    assert.equal(blockLabel(b), 'Prompt: fix the bug');
    assert.equal(blockIcon(b), 'comment');
  });
  it('shows a tool call by the server title, cut with an ellipsis', () => {
    assert.equal(blockLabel(block({ kind: 'tool', title: 'Bash pytest -q' })), 'Bash pytest -q');
    const long = blockLabel(block({ kind: 'turn', title: 'Answer', body: 'a'.repeat(200) }));
    assert.ok(long.length <= 'Answer: '.length + 72 && long.endsWith('…'));
  });
  it("marks a result the way the server's Markdown does", () => {
    assert.equal(statusMark({ status: 'ok', exitCode: 0 }), '✓ exit 0');
    assert.equal(statusMark({ status: 'ok' }), '✓');
    assert.equal(statusMark({ status: 'failed', exitCode: 1 }), '✗ exit 1');
    assert.equal(statusMark({ status: 'failed', exitCode: null }), '✗ failed');
    assert.equal(statusMark({ status: 'denied' }), '✗ denied');
    assert.equal(statusMark({}), '');
  });
  it('puts the mark, the seq and the age in the description', () => {
    const failed = block({ kind: 'command', title: '$ pytest', status: 'failed', exitCode: 2, seq: 7, time: '2025-01-03T09:00:00Z' });
    assert.equal(blockDescription(failed, NOW), '✗ exit 2 · #7 · 3h ago');
    assert.equal(blockIcon(failed), 'error');
    assert.equal(blockDescription(block({ seq: 3, time: '2025-01-03T11:59:50Z' }), NOW), '#3 · just now');
  });
});

describe('oneLine', () => {
  it('keeps short text untouched', () => {
    assert.equal(oneLine('abc', 10), 'abc');
  });
});
