import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blockHtml, diffHtml, escapeHtml, makeNonce, markdownHtml, pageHtml, sessionBodyHtml, type TimeFormat } from '../../src/sessionViewHtml';
import { block, session } from './fixtures';

/** Times as the ISO text's clock and date, whatever the machine's zone. */
const FMT: TimeFormat = { time: (iso) => iso.slice(11, 16), day: (iso) => iso.slice(0, 10) };

describe('markdown in the session view', () => {
  it('renders Markdown and never passes raw HTML through', () => {
    const html = markdownHtml('**bold** and `code`\n\n<script>alert(1)</script><img src=x onerror=alert(1)>');
    assert.match(html, /<strong>bold<\/strong>/);
    assert.match(html, /<code>code<\/code>/);
    assert.doesNotMatch(html, /<script|<img/);
    assert.match(html, /&lt;script&gt;/);
  });
  it('links real URLs only, not file names', () => {
    assert.match(markdownHtml('see https://example.com/x'), /<a href="https:\/\/example.com\/x">/);
    assert.doesNotMatch(markdownHtml('edit app.py and login.py'), /<a /);
  });
  it('drops javascript: links', () => {
    assert.doesNotMatch(markdownHtml('[x](javascript:alert(1))'), /href="javascript/);
  });
  it('escapes the HTML specials', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('blockHtml', () => {
  it('renders a prompt as the user bubble with its local time and seq', () => {
    const html = blockHtml(block({ seq: 3, kind: 'turn', actor: 'user', title: 'Prompt', body: 'Fix the *bug*', time: '2025-01-02T09:05:00Z' }), FMT);
    assert.match(html, /class="block turn user" id="event-3" data-seqs="3"/);
    assert.match(html, /<span class="who">You<\/span>/);
    assert.match(html, /<time datetime="2025-01-02T09:05:00Z"[^>]*>09:05<\/time>/);
    assert.match(html, /Fix the <em>bug<\/em>/);
  });
  it('renders an answer as the agent bubble', () => {
    const html = blockHtml(block({ kind: 'turn', actor: 'agent', title: 'Answer', body: 'Done.' }), FMT);
    assert.match(html, /class="block turn agent"/);
    assert.match(html, /<span class="who">Agent<\/span>/);
  });
  it('renders a failed command as one line with its mark, the output open', () => {
    const html = blockHtml(
      block({ seq: 7, seqs: [7, 8], kind: 'tool', title: 'Bash pytest -q', status: 'failed', exitCode: 1, output: 'F.\n1 failed' }),
      FMT,
    );
    assert.match(html, /class="block tool failed" id="event-7" data-seqs="7 8"/);
    assert.match(html, /<span class="title">Bash pytest -q<\/span>/);
    assert.match(html, /<span class="mark fail">✗ exit 1<\/span>/);
    assert.match(html, /<details class="output" open><summary>Output · 2 lines<\/summary><pre>F.\n1 failed<\/pre><\/details>/);
  });
  it('keeps a passing run\'s output folded', () => {
    const html = blockHtml(block({ kind: 'command', title: '$ ls', status: 'ok', exitCode: 0, output: 'a' }), FMT);
    assert.match(html, /<span class="mark ok">✓ exit 0<\/span>/);
    assert.match(html, /<details class="output"><summary>Output · 1 line/);
  });
  it('colours a diff by line and offers Open Changes', () => {
    const html = blockHtml(block({ seq: 9, kind: 'tool', title: 'Edit app.py', diff: '--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-print(1)\n+print(2)' }), FMT);
    assert.match(html, /<span class="file">--- a\/app.py<\/span>/);
    assert.match(html, /<span class="hunk">@@ -1 \+1 @@<\/span>/);
    assert.match(html, /<span class="del">-print\(1\)<\/span>/);
    assert.match(html, /<span class="add">\+print\(2\)<\/span>/);
    assert.match(html, /<button class="action" data-action="openChanges" data-seq="9">Open Changes<\/button>/);
  });
  it('escapes titles, outputs and diffs', () => {
    const html = blockHtml(block({ kind: 'command', title: '$ echo <b>', output: '<i>x</i>', diff: '+<script>' }), FMT);
    assert.doesNotMatch(html, /<b>|<i>|<script>/);
  });
  it('shows bookkeeping as one dimmed line without a body', () => {
    const html = blockHtml(block({ kind: 'bookkeeping', title: 'switched main → feature, continued', dimmed: true, body: 'secret-body' }), FMT);
    assert.match(html, /class="block bookkeeping dimmed"/);
    assert.doesNotMatch(html, /secret-body/);
  });
  it('offers Open Changes and Restore on a checkpoint block', () => {
    const cp = { id: 'cp1', sessionId: 's', name: 'stable', seq: 4, headSha: null, createdAt: '2025-01-01T10:00:00Z' };
    const html = blockHtml(block({ seq: 4, kind: 'checkpoint', title: 'Checkpoint stable' }), FMT, cp);
    assert.match(html, /data-action="checkpointChanges" data-checkpoint="cp1"/);
    assert.match(html, /data-action="restoreCheckpoint" data-checkpoint="cp1"/);
  });
});

describe('diffHtml', () => {
  it('keeps empty lines as lines', () => {
    assert.equal(diffHtml('+a\n\n-b\n'), '<pre class="diff"><span class="add">+a</span><span class="ctx"> </span><span class="del">-b</span></pre>');
  });
});

describe('sessionBodyHtml', () => {
  const blocks = [
    block({ seq: 1, kind: 'turn', actor: 'user', title: 'Prompt', body: 'hi', time: '2025-01-01T23:00:00Z' }),
    block({ seq: 2, kind: 'turn', actor: 'agent', title: 'Answer', body: 'hello', time: '2025-01-01T23:01:00Z' }),
    block({ seq: 3, kind: 'command', title: '$ ls', time: '2025-01-02T08:00:00Z' }),
  ];
  it('heads each day and names the session, its branch and its lineage', () => {
    const s = session({ name: 'try OAuth', eventCount: 3, parentId: 'p1', forkedAtSeq: 4 });
    const html = sessionBodyHtml({ session: s, blocks, checkpoints: [], parent: { id: 'p1', name: 'Add login form' } }, FMT);
    assert.match(html, /<h1><svg class="fork" role="img" aria-label="forked"[^]*<\/svg> try OAuth<\/h1>/);
    assert.match(html, /main · active · 3 events/);
    assert.match(html, /forked from Add login form at #4/);
    assert.match(html, /data-action="openSession" data-session="p1" data-seq="4"/);
    assert.deepEqual([...html.matchAll(/<h2 class="day">([^<]+)<\/h2>/g)].map((m) => m[1]), ['2025-01-01', '2025-01-02']);
    assert.ok(html.indexOf('event-1') < html.indexOf('event-2') && html.indexOf('event-2') < html.indexOf('event-3'));
  });
  it('says when there is nothing yet, and shows no lineage for a root session', () => {
    const html = sessionBodyHtml({ session: session(), blocks: [], checkpoints: [] }, FMT);
    assert.match(html, /No events yet/);
    assert.doesNotMatch(html, /forked from/);
  });
});

describe('pageHtml', () => {
  it('allows only its own style and its one script with the nonce, nothing remote', () => {
    const nonce = makeNonce();
    assert.match(nonce, /^[A-Za-z0-9]{24}$/);
    assert.notEqual(nonce, makeNonce());
    const html = pageHtml('<p>x</p>', { cspSource: 'vscode-resource:', nonce, scriptUri: 'vscode-resource:/s.js', styleUri: 'vscode-resource:/s.css', title: 'T' }, 12);
    const csp = /Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, new RegExp(`script-src 'nonce-${nonce}'`));
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.match(html, new RegExp(`<script nonce="${nonce}" src="vscode-resource:/s.js"></script>`));
    assert.match(html, /<body id="session-view" data-reveal="12">/);
  });
});
