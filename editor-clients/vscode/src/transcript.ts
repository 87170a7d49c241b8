/**
 * Markdown transcript of a session, shown read-only under the
 * `sidecar-session:` scheme: a header with the session's facts, then each
 * display block's Markdown as the server renders it (`sidecar/sessions/render`
 * with `markdown: true`), the same text the Markdown export, the CLI and
 * Neovim show. Pure: takes the data, returns the text and where each block
 * starts.
 */
import { eventCountText, sessionLabel } from './present';
import type { Checkpoint, Session } from './protocol';
import type { DisplayBlock } from './protocol.generated';

/** URI scheme of the read-only transcript documents. */
export const TRANSCRIPT_SCHEME = 'sidecar-session';

/**
 * Path part of a transcript URI: `/<readable name>.md`, so the editor tab
 * reads like the session and the `.md` makes it Markdown. The id travels
 * in the query (see `transcriptQuery`).
 */
export function transcriptPath(label: string): string {
  const safe = label.replace(/[\\/:*?"<>|#%\u0000-\u001f]+/g, ' ').replace(/\s+/g, ' ').trim() || 'session';
  return `/${safe}.md`;
}

/** Query part of a transcript URI: carries the session id. */
export function transcriptQuery(sessionId: string): string {
  return `id=${encodeURIComponent(sessionId)}`;
}

/** The session id back from a transcript URI query, or undefined when it is not one. */
export function sessionIdFromQuery(query: string): string | undefined {
  const match = /(?:^|&)id=([^&]+)/.exec(query);
  return match ? decodeURIComponent(match[1]) : undefined;
}

/** Where a block starts in the document (0-based line), and the events it shows. */
export interface BlockAnchor {
  line: number;
  seqs: number[];
}

export interface Transcript {
  text: string;
  /** One per block, in document order. */
  anchors: BlockAnchor[];
}

/** The session's facts above its history: name, id, status, boundary, lineage, checkpoints. */
function header(session: Session, checkpoints: Checkpoint[]): string[] {
  const b = session.boundary;
  const out: string[] = [
    `# ${sessionLabel(session)}`,
    '',
    `- **Session:** \`${session.id}\``,
    `- **Status:** ${session.status} · ${eventCountText(session.eventCount)}`,
    `- **Branch:** ${b.branch}`,
    `- **Repository:** ${b.repository}`,
    `- **Worktree:** ${b.worktree}`,
    `- **Requester:** ${b.requester} on ${b.machine}`,
  ];
  if (b.task) out.push(`- **Task:** ${b.task}`);
  if (b.phase) out.push(`- **Phase:** ${b.phase}`);
  if (b.provider) out.push(`- **Provider:** ${b.provider}`);
  if (session.parentId) {
    out.push(`- **Forked from:** \`${session.parentId}\`${session.forkedAtSeq ? ` at #${session.forkedAtSeq}` : ''}`);
  }
  out.push(`- **Created:** ${session.createdAt}`);
  if (session.description) out.push('', session.description);
  if (checkpoints.length) {
    out.push('', '## Checkpoints', '');
    for (const cp of checkpoints) {
      out.push(`- **${cp.name}** at #${cp.seq}${cp.headSha ? ` (HEAD ${cp.headSha.slice(0, 7)})` : ''} — ${cp.createdAt}`);
    }
  }
  return out;
}

/** The whole transcript: the header, then every block's Markdown in order. */
export function renderTranscript(session: Session, blocks: DisplayBlock[], checkpoints: Checkpoint[] = []): Transcript {
  const lines = [...header(session, checkpoints), '', '## History', ''];
  const anchors: BlockAnchor[] = [];
  if (!blocks.length) lines.push('_No events yet._');
  for (const block of blocks) {
    anchors.push({ line: lines.length, seqs: block.seqs.length ? block.seqs : [block.seq] });
    // The server's Markdown; a block without it (an older server) still shows its title.
    lines.push(...(block.markdown ?? `**${block.title}** · #${block.seq}`).split('\n'), '');
  }
  return { text: `${lines.join('\n').trimEnd()}\n`, anchors };
}

/**
 * The line of the block that shows event `seq`; an event no block shows
 * (a page boundary, a deleted event) lands on the block before it, else line 0.
 */
export function lineOfEvent(anchors: BlockAnchor[], seq: number): number {
  const exact = anchors.find((a) => a.seqs.includes(seq));
  if (exact) return exact.line;
  let best: BlockAnchor | undefined;
  for (const anchor of anchors) {
    if (Math.min(...anchor.seqs) <= seq) best = anchor;
  }
  return best?.line ?? 0;
}
