/**
 * How sessions and events read in the UI: labels, ages, one-line event
 * summaries. Pure functions over protocol data (no VS Code import).
 */
import type { Session, SidecarEvent } from './protocol';

/** Longest session name shown before it is cut with an ellipsis. */
export const MAX_NAME = 50;
/** Longest one-line event summary. */
export const MAX_SUMMARY = 72;

/** Cut `text` to one line of at most `max` characters, ending in "…" when cut. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, Math.max(0, max - 1)).trimEnd()}…`;
}

/** The name shown for a session; unnamed sessions show the tail of their id. */
export function sessionLabel(session: Session): string {
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

/** The secondary text of a session row: status, age, event count. */
export function sessionDescription(session: Session, now: Date): string {
  return [session.status, formatAge(lastActivity(session), now), eventCountText(session.eventCount)].join(' · ');
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() ? value : undefined;
}

function firstString(payload: Record<string, unknown>, keys: string[]): string | undefined {
  for (const key of keys) {
    const found = str(payload[key]);
    if (found) {
      return found;
    }
  }
  return undefined;
}

/**
 * One line saying what an event was about, chosen by kind from the payload
 * fields producers use; unknown shapes fall back to the first string field.
 */
export function eventText(event: SidecarEvent): string {
  const p = event.payload ?? {};
  let text: string | undefined;
  switch (event.kind) {
    case 'branch_change': {
      const from = firstString(p, ['from', 'before', 'previous', 'old']);
      const to = firstString(p, ['to', 'after', 'branch', 'new']);
      text = from || to ? `${from ?? '?'} → ${to ?? '?'}` : undefined;
      break;
    }
    case 'commit': {
      const sha = firstString(p, ['sha', 'commit']);
      const subject = firstString(p, ['subject', 'message']);
      text = [sha?.slice(0, 7), subject].filter(Boolean).join(' ') || undefined;
      break;
    }
    case 'file_change':
    case 'file_open':
      text = firstString(p, ['path', 'uri', 'file']);
      if (text && str(p.change)) {
        text = `${p.change as string} ${text}`;
      }
      break;
    case 'command':
      text = firstString(p, ['command', 'cmd', 'text']);
      break;
    case 'tool_call':
    case 'tool_result':
      text = firstString(p, ['tool', 'name', 'toolName', 'text']);
      break;
    case 'decision':
      text = firstString(p, ['action', 'choice', 'text']);
      break;
    case 'checkpoint':
      text = firstString(p, ['name', 'text']);
      break;
    default:
      text = firstString(p, ['text', 'prompt', 'message', 'summary', 'content', 'title']);
  }
  if (!text) {
    text = Object.values(p).map(str).find(Boolean) ?? '';
  }
  return oneLine(text, MAX_SUMMARY);
}

/** The label of an event row: seq and kind, then the one-line text. */
export function eventLabel(event: SidecarEvent): string {
  const text = eventText(event);
  return text ? `${event.kind}: ${text}` : event.kind;
}
