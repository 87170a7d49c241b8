/**
 * The session view's HTML: a session's display blocks (`sidecar/sessions/render`)
 * chat-style. Prompts and answers are bubbles with their Markdown rendered
 * (markdown-it, raw HTML off, so text from a model or a tool can never become
 * markup), tool calls and commands one line with their result's mark and a
 * collapsible output, diffs coloured by line, bookkeeping one dimmed line,
 * times local. Pure (no VS Code import): data in, HTML text out.
 */
import { randomBytes } from 'node:crypto';
import MarkdownIt from 'markdown-it';
import { eventCountText, lineageText, sessionLabel, statusMark } from './present';
import type { Checkpoint, Session } from './protocol';
import type { DisplayBlock } from './protocol.generated';

const md = new MarkdownIt({ html: false, linkify: true, breaks: false, typographer: false });
// Only real URLs become links: a file name such as `app.py` is not a web address.
md.linkify.set({ fuzzyLink: false, fuzzyEmail: false });

/** The fork icon (the shape of the `repo-forked` codicon), inline: the page loads no font. */
const FORK_ICON =
  '<svg class="fork" role="img" aria-label="forked" viewBox="0 0 16 16" width="14" height="14"><circle cx="4" cy="3" r="1.6"/><circle cx="12" cy="3" r="1.6"/><circle cx="8" cy="13" r="1.6"/><path d="M4 4.6v1.4c0 1.4 1 2.2 2.4 2.6L8 9.1l1.6-.5C11 8.2 12 7.4 12 6V4.6M8 9.1v2.3"/></svg>';

/** `text` with the five HTML specials escaped (safe in element content and quoted attributes). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Markdown as HTML; raw HTML in it is shown as text, `javascript:` links are dropped. */
export function markdownHtml(text: string): string {
  return md.render(text);
}

/** A unified diff, one `<span>` per line classed by what the line is (added, removed, hunk, file). */
export function diffHtml(diff: string): string {
  const lines = diff.replace(/\n$/, '').split('\n');
  const spans = lines.map((line) => {
    let cls = 'ctx';
    if (/^(\+\+\+|---)( |$)|^diff --git |^index |^\*\*\* /.test(line)) cls = 'file';
    else if (line.startsWith('@@')) cls = 'hunk';
    else if (line.startsWith('+')) cls = 'add';
    else if (line.startsWith('-')) cls = 'del';
    return `<span class="${cls}">${escapeHtml(line) || ' '}</span>`;
  });
  // The spans are blocks: no newline between them (in a <pre> it would show as a blank line).
  return `<pre class="diff">${spans.join('')}</pre>`;
}

/** How times read: a clock time per block, a day heading when the day changes. */
export interface TimeFormat {
  time(iso: string): string;
  day(iso: string): string;
}

/** The extension host's local time zone and locale. */
export const LOCAL_TIME: TimeFormat = {
  time: (iso) => {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  },
  day: (iso) => {
    const d = new Date(iso);
    return Number.isNaN(d.getTime())
      ? iso
      : d.toLocaleDateString(undefined, { weekday: 'long', year: 'numeric', month: 'long', day: 'numeric' });
  },
};

/** What the view shows besides the blocks. */
export interface SessionViewModel {
  session: Session;
  blocks: DisplayBlock[];
  checkpoints: Checkpoint[];
  /** The session it was forked from, when known (for its name). */
  parent?: Pick<Session, 'id' | 'name'>;
  /** The blocks were cut at this many (a huge session). */
  truncated?: boolean;
}

function timeTag(iso: string, fmt: TimeFormat): string {
  return `<time datetime="${escapeHtml(iso)}" title="${escapeHtml(iso)}">${escapeHtml(fmt.time(iso))}</time>`;
}

function seqTag(block: DisplayBlock): string {
  return `<span class="seq">#${block.seq}</span>`;
}

function button(action: string, label: string, data: Record<string, string | number>): string {
  const attrs = Object.entries(data)
    .map(([k, v]) => ` data-${k}="${escapeHtml(String(v))}"`)
    .join('');
  return `<button class="action" data-action="${action}"${attrs}>${escapeHtml(label)}</button>`;
}

function markClass(block: DisplayBlock): string {
  if (block.status === 'ok') return 'ok';
  if (block.status === 'failed' || block.status === 'denied') return 'fail';
  return '';
}

/** Output, collapsed; a failed run's output open, since that is what one looks for. */
function outputHtml(block: DisplayBlock): string {
  if (!block.output) return '';
  const lines = block.output.split('\n').length;
  const open = markClass(block) === 'fail' ? ' open' : '';
  return `<details class="output"${open}><summary>Output · ${lines} ${lines === 1 ? 'line' : 'lines'}</summary><pre>${escapeHtml(block.output)}</pre></details>`;
}

const GLYPHS: Record<DisplayBlock['kind'], string> = {
  turn: '',
  tool: '⚙',
  command: '$',
  change: '✎',
  files: '☰',
  commit: '⎇',
  checkpoint: '⚑',
  bookkeeping: '↻',
  note: '✱',
};

/** One block as HTML; `checkpoint` is the checkpoint this block records, when it is one. */
export function blockHtml(block: DisplayBlock, fmt: TimeFormat = LOCAL_TIME, checkpoint?: Checkpoint): string {
  const seqs = (block.seqs.length ? block.seqs : [block.seq]).join(' ');
  const open = (cls: string): string => `<article class="block ${cls}" id="event-${block.seq}" data-seqs="${seqs}">`;
  if (block.kind === 'turn') {
    const user = block.actor === 'user';
    const who = `${user ? 'You' : 'Agent'}${/\(blocked\)/.test(block.title) ? ' · blocked' : ''}`;
    return (
      `${open(`turn ${user ? 'user' : 'agent'}`)}<div class="bubble">` +
      `<div class="meta"><span class="who">${escapeHtml(who)}</span>${timeTag(block.time, fmt)}${seqTag(block)}</div>` +
      `<div class="markdown">${markdownHtml(block.body ?? '')}</div></div></article>`
    );
  }
  const mark = statusMark(block);
  const cls = [block.kind, block.dimmed ? 'dimmed' : '', markClass(block) === 'fail' ? 'failed' : ''].filter(Boolean).join(' ');
  const actions: string[] = [];
  if (block.diff) actions.push(button('openChanges', 'Open Changes', { seq: block.seq }));
  if (checkpoint) {
    actions.push(button('checkpointChanges', 'Open Changes', { checkpoint: checkpoint.id }));
    actions.push(button('restoreCheckpoint', 'Restore…', { checkpoint: checkpoint.id }));
  }
  const line =
    `<div class="line"><span class="glyph" aria-hidden="true">${GLYPHS[block.kind] ?? '•'}</span>` +
    `<span class="title">${escapeHtml(block.title)}</span>` +
    (mark ? `<span class="mark ${markClass(block)}">${escapeHtml(mark)}</span>` : '') +
    `<span class="spacer"></span>${actions.join('')}${timeTag(block.time, fmt)}${seqTag(block)}</div>`;
  const body = block.body && !block.dimmed ? `<div class="markdown">${markdownHtml(block.body)}</div>` : '';
  const diff = block.diff ? diffHtml(block.diff) : '';
  return `${open(cls)}${line}${body}${outputHtml(block)}${diff}</article>`;
}

function headerHtml(model: SessionViewModel, fmt: TimeFormat): string {
  const s = model.session;
  const b = s.boundary;
  const facts = [b.branch, s.status, eventCountText(s.eventCount), b.provider, b.task].filter(Boolean) as string[];
  const lineage = lineageText(s, model.parent);
  const out = [
    '<header class="session">',
    `<h1>${s.parentId ? `${FORK_ICON} ` : ''}${escapeHtml(sessionLabel(s))}</h1>`,
    `<div class="facts">${facts.map(escapeHtml).join(' · ')} · started ${escapeHtml(fmt.day(s.createdAt))} ${timeTag(s.createdAt, fmt)}</div>`,
  ];
  if (lineage) {
    out.push(
      `<div class="lineage">${FORK_ICON} <a href="#" data-action="openSession" data-session="${escapeHtml(s.parentId ?? '')}" data-seq="${s.forkedAtSeq ?? ''}">${escapeHtml(lineage)}</a></div>`,
    );
  }
  if (s.description) out.push(`<div class="description markdown">${markdownHtml(s.description)}</div>`);
  out.push('</header>');
  return out.join('');
}

/** The view's body: the header, then the blocks with a heading per day. */
export function sessionBodyHtml(model: SessionViewModel, fmt: TimeFormat = LOCAL_TIME): string {
  const bySeq = new Map(model.checkpoints.map((c) => [c.seq, c]));
  const parts = [headerHtml(model, fmt), '<main id="blocks">'];
  let day = '';
  for (const block of model.blocks) {
    const today = fmt.day(block.time);
    if (today !== day) {
      parts.push(`<h2 class="day">${escapeHtml(today)}</h2>`);
      day = today;
    }
    parts.push(blockHtml(block, fmt, block.kind === 'checkpoint' ? bySeq.get(block.seq) : undefined));
  }
  if (!model.blocks.length) parts.push('<p class="empty">No events yet.</p>');
  if (model.truncated) parts.push('<p class="empty">Only the first events are shown; export the session for the rest.</p>');
  parts.push('</main>');
  return parts.join('\n');
}

/** Where the page's script and style come from, and its nonce. */
export interface PageResources {
  cspSource: string;
  nonce: string;
  scriptUri: string;
  styleUri: string;
  title: string;
}

/**
 * The whole page: a strict Content-Security-Policy (nothing remote, only our
 * stylesheet and our one script with its nonce), the body, and `reveal` (the
 * event to scroll to) for the script.
 */
export function pageHtml(body: string, res: PageResources, reveal?: number): string {
  const csp = [
    "default-src 'none'",
    `style-src ${res.cspSource}`,
    `img-src ${res.cspSource}`,
    `font-src ${res.cspSource}`,
    `script-src 'nonce-${res.nonce}'`,
  ].join('; ');
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="UTF-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp.replace(/"/g, '&quot;')}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1.0">',
    `<link rel="stylesheet" href="${escapeHtml(res.styleUri)}">`,
    `<title>${escapeHtml(res.title)}</title></head>`,
    `<body id="session-view"${reveal !== undefined ? ` data-reveal="${reveal}"` : ''}>`,
    body,
    `<script nonce="${escapeHtml(res.nonce)}" src="${escapeHtml(res.scriptUri)}"></script>`,
    '</body></html>',
  ].join('\n');
}

/** A fresh random nonce for the page's script. */
export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, 'x');
}
