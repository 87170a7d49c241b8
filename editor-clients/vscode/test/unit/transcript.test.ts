import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTranscript, sessionIdFromQuery, transcriptPath, transcriptQuery } from '../../src/transcript';
import { event, session } from './fixtures';

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
  const s = session({ name: 'search', eventCount: 2, parentId: 'p1', forkedAtSeq: 4 });
  const events = [
    event({ seq: 1, kind: 'prompt', payload: { text: 'Add a search box' } }),
    event({ seq: 2, kind: 'command', actor: 'agent', payload: { command: 'npm test', exitCode: 0 } }),
  ];
  const md = renderTranscript(s, events, [
    { id: 'c1', sessionId: s.id, name: 'before refactor', seq: 1, headSha: 'abcdef0123', createdAt: '2025-01-01T11:00:00Z' },
  ]);
  it('has a header with boundary and lineage', () => {
    assert.match(md, /^# search\n/);
    assert.match(md, /\*\*Branch:\*\* main/);
    assert.match(md, /\*\*Forked from:\*\* `p1` at #4/);
  });
  it('lists checkpoints and every event in order', () => {
    assert.match(md, /\*\*before refactor\*\* at #1 \(HEAD abcdef0\)/);
    assert.ok(md.indexOf('### #1 prompt') < md.indexOf('### #2 command — npm test'));
    assert.match(md, /Add a search box/);
    assert.match(md, /"exitCode": 0/);
  });
  it('keeps payload fences intact when the payload contains backticks', () => {
    const tricky = renderTranscript(s, [event({ kind: 'tool_call', payload: { code: '```js\nx\n```' } })]);
    assert.match(tricky, /^````json$/m);
  });
  it('says when there are no events', () => {
    assert.match(renderTranscript(s, []), /_No events yet._/);
  });
});
