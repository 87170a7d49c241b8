/**
 * The Sessions view: branches, their sessions, and each session's
 * checkpoints and recent events. Shape decided by `treeModel`, text by `present`.
 */
import * as vscode from 'vscode';
import type { SidecarClient } from './client';
import { eventLabel, formatAge, lastActivity, sessionDescription, sessionLabel } from './present';
import type { EventPage, Scope, Session, SessionPage, ShowResult, SidecarEvent, Checkpoint } from './protocol';
import type { StatusTracker } from './statusBar';
import {
  branchDescription,
  groupByBranch,
  recentAfterSeq,
  sessionContextValue,
  visibleEvents,
  type BranchGroup,
} from './treeModel';

/** How many recent events a session row lists. */
export const RECENT_EVENTS = 20;
/** How many sessions the view asks for. */
const LIST_LIMIT = 200;

export type TreeNode =
  | { type: 'branch'; group: BranchGroup }
  | { type: 'session'; session: Session; current: boolean }
  | { type: 'event'; event: SidecarEvent }
  | { type: 'checkpoint'; checkpoint: Checkpoint }
  | { type: 'message'; text: string; icon: string };

/** View filters chosen with "Switch Scope" and "Filter Sessions". */
export interface TreeFilters {
  scope: Scope;
  query: string;
  /** Empty: every status. */
  statuses: string[];
}

export class SessionTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private pending: NodeJS.Timeout | undefined;
  /** The latest listing, so commands can pick from what the user sees. */
  sessions: Session[] = [];

  constructor(
    private readonly client: SidecarClient,
    private readonly tracker: StatusTracker,
    public filters: TreeFilters,
  ) {}

  /** Refresh soon; bursts of notifications collapse into one reload. */
  refresh(delayMs = 150): void {
    if (this.pending) clearTimeout(this.pending);
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.emitter.fire(undefined);
    }, delayMs);
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    const now = new Date();
    switch (node.type) {
      case 'branch': {
        const state = node.group.current
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.Collapsed;
        const item = new vscode.TreeItem(node.group.branch, state);
        item.id = `branch:${node.group.branch}`;
        item.description = branchDescription(node.group);
        item.iconPath = new vscode.ThemeIcon(node.group.current ? 'git-branch' : 'source-control');
        item.contextValue = 'branch';
        return item;
      }
      case 'session': {
        const s = node.session;
        const item = new vscode.TreeItem(sessionLabel(s), vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `session:${s.id}`;
        item.description = `${node.current ? 'current · ' : ''}${sessionDescription(s, now)}`;
        item.iconPath = new vscode.ThemeIcon(
          node.current ? 'debug-start' : s.status === 'ended' ? 'circle-slash' : s.status === 'archived' ? 'archive' : 'circle-outline',
        );
        item.contextValue = sessionContextValue(s, node.current ? s.id : undefined);
        const tip = new vscode.MarkdownString(undefined, true);
        tip.appendMarkdown(`**${sessionLabel(s)}**\n\n`);
        tip.appendMarkdown(`\`${s.id}\` · ${s.status} · ${s.eventCount} events · last active ${formatAge(lastActivity(s), now)}\n\n`);
        tip.appendMarkdown(`Branch \`${s.boundary.branch}\` in ${s.boundary.worktree}\n\n`);
        if (s.lastPrompt) tip.appendText(`Last prompt: ${s.lastPrompt.slice(0, 300)}`);
        item.tooltip = tip;
        return item;
      }
      case 'event': {
        const e = node.event;
        const item = new vscode.TreeItem(eventLabel(e), vscode.TreeItemCollapsibleState.None);
        item.id = `event:${e.sessionId}:${e.seq}`;
        item.description = `#${e.seq} · ${formatAge(e.time, now)}`;
        item.iconPath = new vscode.ThemeIcon(eventIcon(e.kind));
        item.contextValue = 'event';
        item.command = { command: 'sessionSidecar.showTranscript', title: 'Show Transcript', arguments: [e.sessionId] };
        return item;
      }
      case 'checkpoint': {
        const c = node.checkpoint;
        const item = new vscode.TreeItem(`checkpoint: ${c.name}`, vscode.TreeItemCollapsibleState.None);
        item.id = `checkpoint:${c.id}`;
        item.description = `#${c.seq} · ${formatAge(c.createdAt, now)}`;
        item.iconPath = new vscode.ThemeIcon('bookmark');
        item.contextValue = 'checkpoint';
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.icon);
        return item;
      }
    }
  }

  async getChildren(node?: TreeNode): Promise<TreeNode[]> {
    if (this.client.state !== 'running') {
      // An empty root lets the view's welcome content (start / restart) show.
      return [];
    }
    try {
      if (!node) return await this.roots();
      if (node.type === 'branch') {
        const activeId = this.tracker.status?.activeSession?.id;
        return node.group.sessions.map((session) => ({ type: 'session', session, current: session.id === activeId }));
      }
      if (node.type === 'session') return await this.sessionChildren(node.session);
      return [];
    } catch (err) {
      return [{ type: 'message', text: `Could not load: ${err instanceof Error ? err.message : String(err)}`, icon: 'error' }];
    }
  }

  private async roots(): Promise<TreeNode[]> {
    const params: Record<string, unknown> = { scope: this.filters.scope, limit: LIST_LIMIT };
    if (this.filters.query) params.query = this.filters.query;
    if (this.filters.statuses.length) params.status = this.filters.statuses;
    const page = await this.client.request<SessionPage>('sidecar/sessions/list', params);
    this.sessions = page.items;
    const status = this.tracker.status;
    const groups = groupByBranch(page.items, status?.boundary?.branch, status?.activeSession?.id);
    if (!groups.length) return [];
    return groups.map((group) => ({ type: 'branch', group }));
  }

  private async sessionChildren(session: Session): Promise<TreeNode[]> {
    const [show, events] = await Promise.all([
      this.client.request<ShowResult>('sidecar/sessions/show', { sessionId: session.id }),
      this.client.request<EventPage>('sidecar/sessions/events', {
        sessionId: session.id,
        afterSeq: recentAfterSeq(session.eventCount, RECENT_EVENTS),
        limit: RECENT_EVENTS,
      }),
    ]);
    const checkpoints = show.checkpoints ?? [];
    const nodes: TreeNode[] = checkpoints.map((checkpoint) => ({ type: 'checkpoint', checkpoint }));
    // Newest first: the latest work is what a user looks for. Checkpoint
    // events are already shown as checkpoint rows.
    for (const event of visibleEvents(events.items, checkpoints).reverse()) nodes.push({ type: 'event', event });
    if (!nodes.length) nodes.push({ type: 'message', text: 'No events yet', icon: 'info' });
    return nodes;
  }

  dispose(): void {
    if (this.pending) clearTimeout(this.pending);
    this.emitter.dispose();
  }
}

function eventIcon(kind: string): string {
  const icons: Record<string, string> = {
    prompt: 'comment',
    response: 'comment-discussion',
    tool_call: 'tools',
    tool_result: 'output',
    command: 'terminal',
    file_change: 'edit',
    file_open: 'file',
    branch_change: 'git-branch',
    commit: 'git-commit',
    drift: 'warning',
    decision: 'check',
    checkpoint: 'bookmark',
    annotation: 'note',
    approval_request: 'question',
    approval: 'verified',
    handoff: 'arrow-swap',
    note: 'note',
  };
  return icons[kind] ?? 'circle-small';
}
