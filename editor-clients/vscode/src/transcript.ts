/**
 * Markdown transcript of a session, shown read-only under the
 * `sidecar-session:` scheme. Pure: takes the data, returns the text.
 */
import { eventCountText, eventText, sessionLabel } from './present';
import type { Checkpoint, Session, SidecarEvent } from './protocol';

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

const TEXT_KINDS = new Set(['prompt', 'response', 'note', 'annotation']);

function fence(text: string, lang = ''): string {
  // A fence longer than any backtick run inside keeps the block intact.
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const ticks = '`'.repeat(longest + 1);
  return `${ticks}${lang}\n${text}\n${ticks}`;
}

function eventBody(event: SidecarEvent): string {
  const payload = event.payload ?? {};
  const text = payload.text ?? payload.prompt ?? payload.content;
  if (TEXT_KINDS.has(event.kind) && typeof text === 'string') {
    return text;
  }
  if (Object.keys(payload).length === 0) {
    return '';
  }
  return fence(JSON.stringify(payload, null, 2), 'json');
}

/** Render the whole transcript: header, boundary, checkpoints, then every event in order. */
export function renderTranscript(
  session: Session,
  events: SidecarEvent[],
  checkpoints: Checkpoint[] = [],
): string {
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
  out.push('', '## Events', '');
  if (!events.length) {
    out.push('_No events yet._');
  }
  for (const event of events) {
    const summary = event.kind === 'prompt' || event.kind === 'response' ? '' : eventText(event);
    out.push(`### #${event.seq} ${event.kind}${summary ? ` — ${summary}` : ''}`, '');
    out.push(`_${event.actor} · ${event.time}_`, '');
    const body = eventBody(event);
    if (body) out.push(body, '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
