/**
 * The shape of the Sessions tree: sessions grouped by branch, the current
 * branch first and expanded, newest activity first. Pure, unit-tested.
 */
import { lastActivity } from './present';
import type { Checkpoint, Session, SidecarEvent } from './protocol';

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

/** The `afterSeq` that returns the last `limit` events of a session (events with seq > afterSeq). */
export function recentAfterSeq(eventCount: number, limit: number): number {
  return Math.max(0, eventCount - limit);
}

/**
 * The events a session row lists: all but the `checkpoint` events of
 * checkpoints already shown as their own rows (matched by id, else by seq).
 */
export function visibleEvents(events: SidecarEvent[], checkpoints: Checkpoint[]): SidecarEvent[] {
  const ids = new Set(checkpoints.map((c) => c.id));
  const seqs = new Set(checkpoints.map((c) => c.seq));
  return events.filter((e) => {
    if (e.kind !== 'checkpoint') return true;
    const id = e.payload?.checkpointId;
    return typeof id === 'string' ? !ids.has(id) : !seqs.has(e.seq);
  });
}
