/**
 * The Sessions view: branches, their sessions, and each session's
 * checkpoints and recent events. Shape decided by `treeModel`, text by `present`.
 */
import * as vscode from 'vscode';
import type { SidecarClient } from './client';
import { blockDescription, blockFailed, blockIcon, blockLabel, formatAge, lastActivity, lineageText, sessionDescription, sessionLabel } from './present';
import type { Checkpoint, Session, SessionPage, ShowResult } from './protocol';
import type { DisplayBlock, RenderResult } from './protocol.generated';
import type { StatusTracker } from './statusBar';
import {
  branchDescription,
  emptyListing,
  groupByBranch,
  groupByDate,
  recentAfterSeq,
  sessionContextValue,
  visibleBlocks,
  type BranchGroup,
  type DateGroup,
  type GroupBy,
  type MessageLine,
  type TreeFilters,
} from './treeModel';

export type { TreeFilters } from './treeModel';

/** How many recent blocks (prompts, answers, tool calls with their results…) a session row lists. */
export const RECENT_BLOCKS = 20;
/** How many sessions the view asks for. */
const LIST_LIMIT = 200;

export type TreeNode =
  | { type: 'branch'; group: BranchGroup }
  | { type: 'date'; group: DateGroup }
  | { type: 'session'; session: Session; current: boolean; byDate?: boolean }
  | { type: 'block'; sessionId: string; block: DisplayBlock }
  | { type: 'checkpoint'; checkpoint: Checkpoint }
  | ({ type: 'message' } & MessageLine);

export class SessionTreeProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly currentEmitter = new vscode.EventEmitter<TreeNode>();
  /**
   * The workspace moved to another branch: its row, to be expanded. The view
   * keeps a row's expansion by id, so a branch seen collapsed before would stay so.
   */
  readonly onDidChangeCurrentBranch = this.currentEmitter.event;
  private currentBranch: string | undefined;
  private branchNodes = new Map<string, TreeNode>();
  /** By date: the group row of each session id (what `getParent` answers). */
  private dateNodes = new Map<string, TreeNode>();
  private pending: NodeJS.Timeout | undefined;
  /** The latest listing, so commands can pick from what the user sees. */
  sessions: Session[] = [];

  constructor(
    private readonly client: SidecarClient,
    private readonly tracker: StatusTracker,
    public filters: TreeFilters,
    /** Group sessions by branch (default) or by date of last activity. */
    public groupBy: GroupBy = 'branch',
  ) {}

  /** The session of `id` from the latest listing, for its name. */
  private known(id: string): Session | undefined {
    return this.sessions.find((s) => s.id === id);
  }

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
      case 'date': {
        const item = new vscode.TreeItem(node.group.label, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `date:${node.group.label}`;
        item.description = `${node.group.sessions.length} ${node.group.sessions.length === 1 ? 'session' : 'sessions'}`;
        item.iconPath = new vscode.ThemeIcon('calendar');
        item.contextValue = 'date';
        return item;
      }
      case 'session': {
        const s = node.session;
        const item = new vscode.TreeItem(sessionLabel(s), vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `session:${s.id}`;
        const lineage = lineageText(s, s.parentId ? this.known(s.parentId) : undefined);
        item.description = [
          node.current ? 'current' : '',
          node.byDate ? s.boundary.branch : '',
          sessionDescription(s, now),
          lineage,
        ]
          .filter(Boolean)
          .join(' · ');
        // A fork carries the fork icon whatever its state; "current" is in its description.
        item.iconPath = new vscode.ThemeIcon(
          s.parentId
            ? 'repo-forked'
            : node.current
              ? 'debug-start'
              : s.status === 'ended'
                ? 'circle-slash'
                : s.status === 'archived'
                  ? 'archive'
                  : 'circle-outline',
        );
        item.contextValue = sessionContextValue(s, node.current ? s.id : undefined);
        const tip = new vscode.MarkdownString(undefined, true);
        tip.appendMarkdown(`**${sessionLabel(s)}**\n\n`);
        tip.appendMarkdown(`\`${s.id}\` · ${s.status} · ${s.eventCount} events · last active ${formatAge(lastActivity(s), now)}\n\n`);
        tip.appendMarkdown(`Branch \`${s.boundary.branch}\` in ${s.boundary.worktree}\n\n`);
        if (lineage) tip.appendText(`${lineage.charAt(0).toUpperCase()}${lineage.slice(1)}\n\n`);
        if (s.lastPrompt) tip.appendText(`Last prompt: ${s.lastPrompt.slice(0, 300)}`);
        item.tooltip = tip;
        return item;
      }
      case 'block': {
        const b = node.block;
        const item = new vscode.TreeItem(blockLabel(b), vscode.TreeItemCollapsibleState.None);
        item.id = `block:${node.sessionId}:${b.seq}`;
        item.description = blockDescription(b, now);
        item.iconPath = new vscode.ThemeIcon(
          blockIcon(b),
          blockFailed(b) ? new vscode.ThemeColor('errorForeground') : b.dimmed ? new vscode.ThemeColor('disabledForeground') : undefined,
        );
        item.tooltip = `${b.title}\n\nOpen the session at #${b.seq}`;
        item.contextValue = b.diff ? 'block.change' : 'block';
        item.command = { command: 'sessionSidecar.openSession', title: 'Open Session', arguments: [node.sessionId, b.seq] };
        return item;
      }
      case 'checkpoint': {
        const c = node.checkpoint;
        const item = new vscode.TreeItem(`checkpoint: ${c.name}`, vscode.TreeItemCollapsibleState.None);
        item.id = `checkpoint:${c.id}`;
        item.description = `#${c.seq} · ${formatAge(c.createdAt, now)}`;
        item.iconPath = new vscode.ThemeIcon('bookmark');
        item.contextValue = 'checkpoint';
        item.tooltip = `Checkpoint "${c.name}" at #${c.seq}${c.headSha ? ` (HEAD ${c.headSha.slice(0, 7)})` : ''}`;
        item.command = { command: 'sessionSidecar.openSession', title: 'Open Session', arguments: [c.sessionId, c.seq] };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.iconPath = new vscode.ThemeIcon(node.icon);
        if (node.command) item.command = { command: node.command, title: node.text, arguments: node.args ?? [] };
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
      if (node.type === 'date') {
        const activeId = this.tracker.status?.activeSession?.id;
        return node.group.sessions.map((session) => ({ type: 'session', session, current: session.id === activeId, byDate: true }));
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
    if (!page.items.length) return emptyListing(this.filters).map((line) => ({ type: 'message', ...line }));
    const status = this.tracker.status;
    if (this.groupBy === 'date') {
      const dated = groupByDate(page.items, new Date(), status?.activeSession?.id);
      const nodes: TreeNode[] = dated.map((group) => ({ type: 'date', group }));
      this.dateNodes = new Map(dated.flatMap((group, i) => group.sessions.map((s) => [s.id, nodes[i]] as [string, TreeNode])));
      this.branchNodes = new Map();
      this.currentBranch = undefined;
      return nodes;
    }
    this.dateNodes = new Map();
    const groups = groupByBranch(page.items, status?.boundary?.branch, status?.activeSession?.id);
    const nodes: TreeNode[] = groups.map((group) => ({ type: 'branch', group }));
    this.branchNodes = new Map(groups.map((group, i) => [group.branch, nodes[i]]));
    const current = groups.find((g) => g.current);
    if (current && current.branch !== this.currentBranch) {
      const node = this.branchNodes.get(current.branch);
      // After this listing is on screen.
      if (node) setTimeout(() => this.currentEmitter.fire(node), 0);
    }
    this.currentBranch = current?.branch;
    return nodes;
  }

  /** The branch row above a session row (what `TreeView.reveal` needs); other rows are not revealed. */
  getParent(node: TreeNode): TreeNode | undefined {
    if (node.type !== 'session') return undefined;
    return node.byDate ? this.dateNodes.get(node.session.id) : this.branchNodes.get(node.session.boundary.branch);
  }

  private async sessionChildren(session: Session): Promise<TreeNode[]> {
    // Twice as many events as rows: a tool call and its result make one block.
    const events = RECENT_BLOCKS * 2;
    const [show, page] = await Promise.all([
      this.client.request<ShowResult>('sidecar/sessions/show', { sessionId: session.id }),
      this.client.request<RenderResult>('sidecar/sessions/render', {
        sessionId: session.id,
        afterSeq: recentAfterSeq(session.eventCount, events),
        limit: events,
      }),
    ]);
    const checkpoints = show.checkpoints ?? [];
    const nodes: TreeNode[] = checkpoints.map((checkpoint) => ({ type: 'checkpoint', checkpoint }));
    // Newest first: the latest work is what a user looks for. Checkpoints
    // already have their own rows.
    const blocks = visibleBlocks(page.items, checkpoints).slice(-RECENT_BLOCKS).reverse();
    for (const block of blocks) nodes.push({ type: 'block', sessionId: session.id, block });
    if (!nodes.length) nodes.push({ type: 'message', text: 'No events yet', icon: 'info' });
    return nodes;
  }

  dispose(): void {
    if (this.pending) clearTimeout(this.pending);
    this.emitter.dispose();
    this.currentEmitter.dispose();
  }
}
