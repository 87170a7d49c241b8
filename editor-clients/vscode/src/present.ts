/**
 * How sessions and display blocks read in the UI: labels, ages, one-line
 * rows. Pure functions over protocol data (no VS Code import).
 */
import type { Session } from './protocol';
import type { DisplayBlock } from './protocol.generated';

/** Longest session name shown before it is cut with an ellipsis. */
export const MAX_NAME = 50;
/** Longest one-line block row. */
export const MAX_SUMMARY = 72;

/** Cut `text` to one line of at most `max` characters, ending in "…" when cut. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}

/** The name shown for a session; unnamed sessions show the tail of their id. */
export function sessionLabel(session: Pick<Session, 'id' | 'name'>): string {
  const name = session.name?.trim();
  return name ? oneLine(name, MAX_NAME) : `session ${session.id.slice(-6)}`;
}

/** The time a session was last active: last event, else last update, else creation. */
export function lastActivity(session: Session): string {
  return session.lastEventAt ?? session.updatedAt ?? session.createdAt;
}

/** Compact age such as "just now", "5m ago", "3h ago", "2d ago", "6w ago". */
export function formatAge(iso: string | null | undefined, now: Date): string {
  if (!iso) {
    return 'never';
  }
  const then = Date.parse(iso);
  if (Number.isNaN(then)) {
    return 'unknown';
  }
  const seconds = Math.max(0, Math.round((now.getTime() - then) / 1000));
  if (seconds < 45) {
    return 'just now';
  }
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) {
    return `${minutes}m ago`;
  }
  const hours = Math.round(minutes / 60);
  if (hours < 48) {
    return `${hours}h ago`;
  }
  const days = Math.round(hours / 24);
  return days < 14 ? `${days}d ago` : `${Math.round(days / 7)}w ago`;
}

/** "1 event" / "12 events". */
export function eventCountText(count: number): string {
  return count === 1 ? '1 event' : `${count} events`;
}

/** "forked from Parent at #4": the parent's name when known, else the tail of its id; "" when not a fork. */
export function lineageText(session: Pick<Session, 'parentId' | 'forkedAtSeq'>, parent?: Pick<Session, 'id' | 'name'>): string {
  if (!session.parentId) return '';
  const name = sessionLabel(parent ?? { id: session.parentId, name: '' });
  return `forked from ${name}${session.forkedAtSeq ? ` at #${session.forkedAtSeq}` : ''}`;
}

/** The secondary text of a session row: status, age, event count. */
export function sessionDescription(session: Session, now: Date): string {
  return [session.status, formatAge(lastActivity(session), now), eventCountText(session.eventCount)].join(' · ');
}

/** A result's mark, as the server's Markdown writes it: `✓`, `✓ exit 0`, `✗ exit 1`, `✗ denied`. */
export function statusMark(block: Pick<DisplayBlock, 'status' | 'exitCode'>): string {
  const exit = block.exitCode === null || block.exitCode === undefined ? '' : ` exit ${block.exitCode}`;
  if (block.status === 'ok') return `✓${exit}`;
  if (block.status === 'failed') return exit ? `✗${exit}` : '✗ failed';
  if (block.status === 'denied') return '✗ denied';
  return '';
}

/** The row of a display block: `Prompt: fix the bug`, `Bash pytest -q`, `Edit app.py`. */
export function blockLabel(block: DisplayBlock): string {
  if (block.kind === 'turn' && block.body) return `${block.title}: ${oneLine(block.body, MAX_SUMMARY)}`;
  return oneLine(block.title, MAX_SUMMARY);
}

/** The secondary text of a block row: the result's mark, the seq, the age. */
export function blockDescription(block: DisplayBlock, now: Date): string {
  return [statusMark(block), `#${block.seq}`, formatAge(block.time, now)].filter(Boolean).join(' · ');
}

/** Whether a block shows something that went wrong (a failed or denied result). */
export function blockFailed(block: DisplayBlock): boolean {
  return block.status === 'failed' || block.status === 'denied';
}

/** The codicon of a block row, by what it shows. */
export function blockIcon(block: DisplayBlock): string {
  if (blockFailed(block)) return 'error';
  const icons: Record<DisplayBlock['kind'], string> = {
    turn: block.actor === 'user' ? 'comment' : 'comment-discussion',
    tool: 'tools',
    command: 'terminal',
    change: 'edit',
    files: 'files',
    commit: 'git-commit',
    checkpoint: 'bookmark',
    bookkeeping: 'history',
    note: 'note',
  };
  return icons[block.kind] ?? 'circle-small';
}
