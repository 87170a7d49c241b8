import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lineOfEvent, renderTranscript, sessionIdFromQuery, transcriptPath, transcriptQuery } from '../../src/transcript';
import { block, session } from './fixtures';

describe('transcript paths', () => {
  it('round-trips a session id through the query', () => {
    assert.equal(sessionIdFromQuery(transcriptQuery('01J/odd&id')), '01J/odd&id');
    assert.equal(sessionIdFromQuery('other=1'), undefined);
  });
  it('names the document after the session, safe for a path', () => {
    assert.equal(transcriptPath('fix login'), '/fix login.md');
    assert.equal(transcriptPath('a/b: c?'), '/a b c.md');
    assert.equal(transcriptPath('///'), '/session.md');
  });
});

describe('renderTranscript', () => {
  const s = session({ name: 'search', eventCount: 3, parentId: 'p1', forkedAtSeq: 4 });
  const prompt = block({ seq: 1, kind: 'turn', title: 'Prompt', markdown: '**You** · Prompt · 2025-01-01 10:00 · #1\n\nAdd a search box' });
  const edit = block({
    seq: 2,
    seqs: [2, 3],
    kind: 'tool',
    title: 'Edit app.py',
    markdown: '**Edit app.py** — ✓ · 2025-01-01 10:01 · #2\n\n```diff\n-print(1)\n+print(2)\n```',
  });
  const { text, anchors } = renderTranscript(s, [prompt, edit], [
    { id: 'c1', sessionId: s.id, name: 'before refactor', seq: 1, headSha: 'abcdef0123', createdAt: '2025-01-01T11:00:00Z' },
  ]);
  const lines = text.split('\n');
  it('has a header with boundary and lineage', () => {
    assert.match(text, /^# search\n/);
    assert.match(text, /\*\*Branch:\*\* main/);
    assert.match(text, /\*\*Forked from:\*\* `p1` at #4/);
    assert.match(text, /\*\*before refactor\*\* at #1 \(HEAD abcdef0\)/);
  });
  it("shows each block's Markdown from the server, in order, as it is", () => {
    assert.ok(text.indexOf('Add a search box') < text.indexOf('```diff\n-print(1)\n+print(2)\n```'));
    assert.ok(!text.includes('"exitCode"'), 'no payload JSON');
  });
  it('knows the line where each block starts', () => {
    assert.equal(lines[anchors[0].line], '**You** · Prompt · 2025-01-01 10:00 · #1');
    assert.equal(lines[anchors[1].line], '**Edit app.py** — ✓ · 2025-01-01 10:01 · #2');
    assert.deepEqual(anchors[1].seqs, [2, 3]);
  });
  it('says when there are no events', () => {
    assert.match(renderTranscript(s, []).text, /_No events yet._/);
  });
  it('shows a block without Markdown by its title', () => {
    assert.match(renderTranscript(s, [block({ seq: 7, title: 'Checkpoint x', markdown: null })]).text, /\*\*Checkpoint x\*\* · #7/);
  });
});

describe('lineOfEvent', () => {
  const anchors = [
    { line: 10, seqs: [1] },
    { line: 14, seqs: [2, 3] },
    { line: 20, seqs: [5] },
  ];
  it('finds the block that shows the event, also a folded or paired one', () => {
    assert.equal(lineOfEvent(anchors, 1), 10);
    assert.equal(lineOfEvent(anchors, 3), 14);
  });
  it('falls back to the block before, else the top', () => {
    assert.equal(lineOfEvent(anchors, 4), 14);
    assert.equal(lineOfEvent([{ line: 9, seqs: [5] }], 2), 0);
    assert.equal(lineOfEvent([], 2), 0);
  });
});
