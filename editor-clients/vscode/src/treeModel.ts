/**
 * The shape of the Sessions tree: sessions grouped by branch, the current
 * branch first and expanded, newest activity first. Pure, unit-tested.
 */
import { lastActivity } from './present';
import type { Checkpoint, Scope, Session } from './protocol';
import type { DisplayBlock } from './protocol.generated';

/** View filters chosen with "Switch Scope" and "Filter Sessions". */
export interface TreeFilters {
  scope: Scope;
  query: string;
  /** Empty: every status. */
  statuses: string[];
}

/** A line of the view that is not a session: a message, maybe with a command to run. */
export interface MessageLine {
  text: string;
  icon: string;
  command?: string;
  args?: unknown[];
}

/** The scope in words: "this branch", "this repository", "any repository". */
export function scopeText(scope: Scope): string {
  return scope === 'all' ? 'any repository' : `this ${scope}`;
}

/** Whether a text or status filter narrows the listing (the scope aside). */
export function isFiltered(filters: TreeFilters): boolean {
  return Boolean(filters.query) || filters.statuses.length > 0;
}

/** The view's description: the scope and any filter in force, e.g. `repository · "login" · active`. */
export function filterDescription(filters: TreeFilters): string {
  const parts: string[] = [filters.scope];
  if (filters.query) parts.push(`"${filters.query}"`);
  if (filters.statuses.length) parts.push(filters.statuses.join(' or '));
  return parts.join(' · ');
}

/**
 * What the view shows when the listing is empty: that nothing matched (with
 * the filter and scope), then how to widen it: clear the filter, list every
 * repository's sessions, or start one.
 */
export function emptyListing(filters: TreeFilters): MessageLine[] {
  const statuses = filters.statuses.length ? `${filters.statuses.join(' or ')} ` : '';
  const query = filters.query ? ` match "${filters.query}"` : '';
  const lines: MessageLine[] = [{ text: `No ${statuses}sessions${query} in ${scopeText(filters.scope)}`, icon: 'info' }];
  if (isFiltered(filters)) lines.push({ text: 'Clear the filter', icon: 'clear-all', command: 'sessionSidecar.clearFilter' });
  if (filters.scope !== 'all') {
    lines.push({ text: 'Show every repository (scope: all)', icon: 'globe', command: 'sessionSidecar.switchScope', args: ['all'] });
  }
  if (!isFiltered(filters)) lines.push({ text: 'Start a fresh session', icon: 'add', command: 'sessionSidecar.startFresh' });
  return lines;
}

export interface BranchGroup {
  branch: string;
  /** True for the branch the workspace is on now. */
  current: boolean;
  sessions: Session[];
}

function byActivityDesc(a: Session, b: Session): number {
  const diff = Date.parse(lastActivity(b)) - Date.parse(lastActivity(a));
  return diff !== 0 ? diff : b.id.localeCompare(a.id);
}

/**
 * Group sessions by their boundary's branch.
 *
 * Order: the current branch first (present even when it has no session yet,
 * so a fresh branch still shows where new sessions will land), then the other
 * branches by their most recent activity. Inside a group the active session
 * comes first, then the rest newest first.
 */
export function groupByBranch(
  sessions: Session[],
  currentBranch: string | undefined,
  activeSessionId?: string,
): BranchGroup[] {
  const groups = new Map<string, Session[]>();
  for (const session of sessions) {
    const branch = session.boundary?.branch ?? '(unknown branch)';
    const list = groups.get(branch) ?? [];
    list.push(session);
    groups.set(branch, list);
  }
  if (currentBranch && !groups.has(currentBranch)) {
    groups.set(currentBranch, []);
  }
  const result: BranchGroup[] = [...groups.entries()].map(([branch, list]) => ({
    branch,
    current: branch === currentBranch,
    sessions: list.sort((a, b) => {
      if (a.id === activeSessionId) return -1;
      if (b.id === activeSessionId) return 1;
      return byActivityDesc(a, b);
    }),
  }));
  const newest = (g: BranchGroup): number =>
    g.sessions.length ? Date.parse(lastActivity(g.sessions[0])) : 0;
  return result.sort((a, b) => {
    if (a.current !== b.current) return a.current ? -1 : 1;
    const diff = newest(b) - newest(a);
    return diff !== 0 ? diff : a.branch.localeCompare(b.branch);
  });
}

/** The context value of a session row, matched by the package.json menus. */
export function sessionContextValue(session: Session, activeSessionId?: string): string {
  return `session.${session.status}${session.id === activeSessionId ? '.current' : ''}`;
}

/** The secondary text of a branch row. */
export function branchDescription(group: BranchGroup): string {
  const count = group.sessions.length;
  const noun = count === 1 ? 'session' : 'sessions';
  return group.current ? `current · ${count} ${noun}` : `${count} ${noun}`;
}

/** The `afterSeq` that reads the last `limit` events of a session (events with seq > afterSeq). */
export function recentAfterSeq(eventCount: number, limit: number): number {
  return Math.max(0, eventCount - limit);
}

/**
 * The blocks a session row lists: all but the checkpoint blocks of
 * checkpoints already shown as their own rows (matched by seq).
 */
export function visibleBlocks(blocks: DisplayBlock[], checkpoints: Checkpoint[]): DisplayBlock[] {
  const seqs = new Set(checkpoints.map((c) => c.seq));
  return blocks.filter((b) => b.kind !== 'checkpoint' || !seqs.has(b.seq));
}

/** How the view groups sessions (the `sessionSidecar.groupBy` setting). */
export type GroupBy = 'branch' | 'date';

/** The date groups, in the order the view lists them. */
export const DATE_GROUPS = ['Today', 'Yesterday', 'This week', 'Older'] as const;
export type DateLabel = (typeof DATE_GROUPS)[number];

export interface DateGroup {
  label: DateLabel;
  sessions: Session[];
}

/** Midnight (local time) of the day `d` falls on, in ms. */
function startOfDay(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/**
 * The date group of a time, by local calendar days before `now`: today,
 * yesterday, 2 to 6 days ago ("This week"), else older. A time in the future
 * (a clock ahead) counts as today.
 */
export function dateLabel(iso: string, now: Date): DateLabel {
  const then = new Date(iso);
  if (Number.isNaN(then.getTime())) return 'Older';
  const days = Math.round((startOfDay(now) - startOfDay(then)) / 86_400_000);
  if (days <= 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (days < 7) return 'This week';
  return 'Older';
}

/**
 * Group sessions by when they were last active: Today, Yesterday, This week,
 * Older; empty groups left out. Inside a group the active session comes first,
 * then the rest newest first.
 */
export function groupByDate(sessions: Session[], now: Date, activeSessionId?: string): DateGroup[] {
  const groups = new Map<DateLabel, Session[]>();
  for (const session of sessions) {
    const label = dateLabel(lastActivity(session), now);
    groups.set(label, [...(groups.get(label) ?? []), session]);
  }
  return DATE_GROUPS.filter((label) => groups.has(label)).map((label) => ({
    label,
    sessions: (groups.get(label) ?? []).sort((a, b) => {
      if (a.id === activeSessionId) return -1;
      if (b.id === activeSessionId) return 1;
      return byActivityDesc(a, b);
    }),
  }));
}
