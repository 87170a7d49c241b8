/**
 * Every lifecycle verb as a command. Commands take a tree node or a session
 * id when invoked from the view, and ask with a quick pick otherwise.
 */
import * as vscode from 'vscode';
import { openBlockChanges, openCheckpointChanges, restoreCheckpoint, type ChangeContent } from './changeView';
import type { SidecarClient } from './client';
import type { DriftDecisions } from './driftPrompt';
import { sessionDescription, sessionLabel } from './present';
import type { Checkpoint, ResumeResult, Scope, Session, SessionPage, ShowResult } from './protocol';
import type { SearchResult } from './protocol.generated';
import { searchRows, type SearchRow } from './searchModel';
import type { SessionViews } from './sessionView';
import type { SessionTreeProvider, TreeNode } from './sessionTree';
import type { StatusTracker } from './statusBar';
import { scopeText, type GroupBy } from './treeModel';
import { TranscriptProvider } from './transcriptProvider';

/** Milliseconds the search waits after the last key before asking the server. */
const SEARCH_DEBOUNCE_MS = 250;
/** Hits the search asks for. */
const SEARCH_LIMIT = 50;

const SCOPES: { label: Scope; detail: string }[] = [
  { label: 'branch', detail: 'Sessions of the current branch' },
  { label: 'worktree', detail: 'Sessions of this worktree, every branch' },
  { label: 'repository', detail: 'Sessions of every worktree of this repository' },
  { label: 'all', detail: 'Every session in the database' },
];

const STATUSES = ['active', 'idle', 'ended', 'archived'];

type SessionArg = TreeNode | Session | string | undefined;

export interface CommandDeps {
  client: SidecarClient;
  tree: SessionTreeProvider;
  tracker: StatusTracker;
  transcripts: TranscriptProvider;
  views: SessionViews;
  content: ChangeContent;
  drift: DriftDecisions;
  /** Persist filters (workspace state) and refresh the view. */
  saveFilters: () => void;
}

function sessionIdOf(arg: SessionArg): string | undefined {
  if (!arg) return undefined;
  if (typeof arg === 'string') return arg;
  if ('type' in arg) {
    if (arg.type === 'session') return arg.session.id;
    if (arg.type === 'block') return arg.sessionId;
    if (arg.type === 'checkpoint') return arg.checkpoint.sessionId;
    return undefined;
  }
  return arg.id;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Register all commands; returns their disposables. */
export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { client, tree, tracker, transcripts, views, content, drift } = deps;

  const afterChange = async (): Promise<void> => {
    await tracker.refresh();
    tree.refresh(0);
  };

  /** The session an action applies to: the argument, else a quick pick (active session first). */
  async function pickSession(arg: SessionArg, placeHolder: string, filter?: (s: Session) => boolean): Promise<string | undefined> {
    const given = sessionIdOf(arg);
    if (given) return given;
    const page = await client.request<SessionPage>('sidecar/sessions/list', { scope: 'repository', limit: 200 });
    const activeId = tracker.status?.activeSession?.id;
    const now = new Date();
    const items = page.items
      .filter((s) => !filter || filter(s))
      .sort((a, b) => (a.id === activeId ? -1 : b.id === activeId ? 1 : 0))
      .map((s) => ({
        label: sessionLabel(s),
        description: `${s.boundary.branch} · ${sessionDescription(s, now)}`,
        detail: s.id === activeId ? 'current session' : (s.lastPrompt ?? undefined),
        id: s.id,
      }));
    if (!items.length) {
      void vscode.window.showInformationMessage('Session Sidecar: no sessions to choose from.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true, matchOnDetail: true });
    return picked?.id;
  }

  /** Wrap a command body: errors become a message, success refreshes the view. */
  const run =
    (body: (arg?: SessionArg, ...rest: unknown[]) => Promise<void>) =>
    async (arg?: SessionArg, ...rest: unknown[]): Promise<void> => {
      try {
        await body(arg, ...rest);
      } catch (err) {
        void vscode.window.showErrorMessage(`Session Sidecar: ${message(err)}`);
      }
    };

  const startFresh = async (): Promise<void> => {
    const name = await vscode.window.showInputBox({
      title: 'Start a fresh session',
      prompt: 'Name of the new session (optional)',
      placeHolder: 'e.g. fix login redirect',
    });
    if (name === undefined) return;
    const result = await client.request<{ session: Session; warning: { message: string } | null }>(
      'sidecar/sessions/start',
      name.trim() ? { name: name.trim() } : {},
    );
    if (result.warning) void vscode.window.showWarningMessage(`Session Sidecar: ${result.warning.message}`);
    await afterChange();
  };

  const resume = async (arg?: SessionArg): Promise<void> => {
    const sessionId = await pickSession(arg, 'Session to resume');
    if (!sessionId) return;
    let result = await client.request<ResumeResult>('sidecar/sessions/resume', { sessionId });
    if (!result.resumed && result.warning?.code === 'held') {
      const choice = await vscode.window.showWarningMessage(result.warning.message, 'Fork It', 'Take Over');
      if (choice === 'Fork It') {
        await client.request('sidecar/sessions/fork', { sessionId });
      } else if (choice === 'Take Over') {
        result = await client.request<ResumeResult>('sidecar/sessions/resume', { sessionId, takeOver: true });
      }
    } else if (result.warning) {
      void vscode.window.showWarningMessage(`Session Sidecar: ${result.warning.message}`);
    }
    await afterChange();
  };

  const fork = async (arg?: SessionArg): Promise<void> => {
    const sessionId = await pickSession(arg, 'Session to fork');
    if (!sessionId) return;
    const name = await vscode.window.showInputBox({ title: 'Fork session', prompt: 'Name of the fork (optional)' });
    if (name === undefined) return;
    await client.request('sidecar/sessions/fork', name.trim() ? { sessionId, name: name.trim() } : { sessionId });
    await afterChange();
  };

  const rename = async (arg?: SessionArg): Promise<void> => {
    const sessionId = await pickSession(arg, 'Session to rename');
    if (!sessionId) return;
    const current = tree.sessions.find((s) => s.id === sessionId)?.name ?? '';
    const name = await vscode.window.showInputBox({
      title: 'Rename session',
      value: current,
      validateInput: (v) => (v.trim() ? undefined : 'A name is required'),
    });
    if (!name?.trim()) return;
    await client.request('sidecar/sessions/rename', { sessionId, name: name.trim() });
    await afterChange();
  };

  const end = async (arg?: SessionArg): Promise<void> => {
    const sessionId = await pickSession(arg, 'Session to end', (s) => s.status === 'active' || s.status === 'idle');
    if (!sessionId) return;
    await client.request('sidecar/sessions/end', { sessionId });
    await afterChange();
  };

  const del = async (arg?: SessionArg): Promise<void> => {
    const sessionId = await pickSession(arg, 'Session to delete');
    if (!sessionId) return;
    const label = tree.sessions.find((s) => s.id === sessionId);
    const choice = await vscode.window.showWarningMessage(
      `Delete session "${label ? sessionLabel(label) : sessionId}" and all its events? This cannot be undone.`,
      { modal: true },
      'Delete',
    );
    if (choice !== 'Delete') return;
    await client.request('sidecar/sessions/delete', { sessionId, confirm: true });
    await afterChange();
  };

  const exportSession = async (arg?: SessionArg): Promise<void> => {
    const sessionId = await pickSession(arg, 'Session to export');
    if (!sessionId) return;
    const format = await vscode.window.showQuickPick(
      [
        { label: 'markdown', description: 'Readable transcript (.md)' },
        { label: 'jsonl', description: 'One event per line (.jsonl)' },
      ],
      { placeHolder: 'Export format' },
    );
    if (!format) return;
    const ext = format.label === 'markdown' ? 'md' : 'jsonl';
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      defaultUri: folder ? vscode.Uri.joinPath(folder, `session-${sessionId}.${ext}`) : undefined,
      filters: { [format.label]: [ext] },
    });
    if (!target) return;
    const result = await client.request<{ content: string }>('sidecar/sessions/export', { sessionId, format: format.label });
    await vscode.workspace.fs.writeFile(target, Buffer.from(result.content, 'utf8'));
    const open = await vscode.window.showInformationMessage(`Exported to ${target.fsPath}`, 'Open');
    if (open) await vscode.window.showTextDocument(target);
  };

  const checkpoint = async (arg?: SessionArg): Promise<void> => {
    const sessionId = sessionIdOf(arg) ?? tracker.status?.activeSession?.id ?? (await pickSession(undefined, 'Session to checkpoint'));
    if (!sessionId) return;
    const name = await vscode.window.showInputBox({
      title: 'Create checkpoint',
      prompt: 'Checkpoint name',
      value: `before ${new Date().toISOString().slice(0, 16).replace('T', ' ')}`,
    });
    if (!name?.trim()) return;
    await client.request('sidecar/checkpoints/create', { sessionId, name: name.trim() });
    await afterChange();
  };

  /** The event an argument points at: `seq` when given, else the block's or checkpoint's row. */
  const seqOf = (arg: SessionArg, seq: unknown): number | undefined => {
    if (typeof seq === 'number') return seq;
    if (arg && typeof arg === 'object' && 'type' in arg) {
      if (arg.type === 'block') return arg.block.seq;
      if (arg.type === 'checkpoint') return arg.checkpoint.seq;
    }
    return undefined;
  };

  /**
   * Open a session's view (the chat-style webview); scrolled to event `seq`
   * and highlighted when given (an event row, a search hit), else at the top.
   */
  const openSession = async (arg?: SessionArg, seq?: unknown): Promise<void> => {
    const sessionId = sessionIdOf(arg) ?? (await pickSession(undefined, 'Session to open'));
    if (!sessionId) return;
    await views.show(sessionId, seqOf(arg, seq));
  };

  /** "Open Changes" of a change row: the recorded before and after in the diff editor. */
  const openChanges = async (arg?: SessionArg): Promise<void> => {
    if (arg && typeof arg === 'object' && 'type' in arg && arg.type === 'block') {
      await openBlockChanges(content, arg.sessionId, arg.block);
    } else if (arg && typeof arg === 'object' && 'type' in arg && arg.type === 'checkpoint') {
      await openCheckpointChanges(client, arg.checkpoint.id);
    }
  };

  /** The checkpoint a command applies to: a checkpoint row, else a quick pick of the active session's. */
  const pickCheckpoint = async (arg: SessionArg, placeHolder: string): Promise<Checkpoint | undefined> => {
    if (arg && typeof arg === 'object' && 'type' in arg && arg.type === 'checkpoint') return arg.checkpoint;
    const sessionId = sessionIdOf(arg) ?? tracker.status?.activeSession?.id ?? (await pickSession(undefined, 'Session of the checkpoint'));
    if (!sessionId) return undefined;
    const show = await client.request<ShowResult>('sidecar/sessions/show', { sessionId });
    const checkpoints = show.checkpoints ?? [];
    if (!checkpoints.length) {
      void vscode.window.showInformationMessage(`Session Sidecar: "${sessionLabel(show.session)}" has no checkpoints.`);
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      checkpoints.map((c) => ({ label: c.name, description: `#${c.seq} · ${c.createdAt}`, checkpoint: c })),
      { placeHolder },
    );
    return picked?.checkpoint;
  };

  const checkpointChanges = async (arg?: SessionArg): Promise<void> => {
    const cp = await pickCheckpoint(arg, 'Checkpoint to compare with the working tree');
    if (cp) await openCheckpointChanges(client, cp.id);
  };

  const restore = async (arg?: SessionArg): Promise<void> => {
    const cp = await pickCheckpoint(arg, 'Checkpoint to restore');
    if (cp && (await restoreCheckpoint(client, cp))) await afterChange();
  };

  const setGroupBy = (groupBy: GroupBy) => async (): Promise<void> => {
    await vscode.workspace.getConfiguration('sessionSidecar').update('groupBy', groupBy, vscode.ConfigurationTarget.Global);
  };

  /**
   * Open a session's transcript as a Markdown document (the server's Markdown,
   * as the export writes it); at event `seq` when given, else at the top.
   * `name` names the tab when the view does not list the session.
   */
  const showTranscript = async (arg?: SessionArg, seq?: unknown, name?: unknown): Promise<void> => {
    const sessionId = sessionIdOf(arg) ?? (await pickSession(undefined, 'Session transcript to show'));
    if (!sessionId) return;
    const known = tree.sessions.find((s) => s.id === sessionId) ?? (tracker.status?.activeSession?.id === sessionId ? tracker.status.activeSession : undefined);
    const label = sessionLabel(known ?? { id: sessionId, name: typeof name === 'string' ? name : '' });
    const doc = await vscode.workspace.openTextDocument(TranscriptProvider.uri(sessionId, label));
    const editor = await vscode.window.showTextDocument(doc, { preview: true });
    const at = typeof seq === 'number' ? seq : arg && typeof arg === 'object' && 'type' in arg && arg.type === 'block' ? arg.block.seq : undefined;
    if (at === undefined) return;
    await transcripts.ensureEvent(doc, at);
    const line = Math.min(transcripts.lineOf(doc.uri, at), Math.max(0, doc.lineCount - 1));
    const start = new vscode.Position(line, 0);
    editor.selection = new vscode.Selection(start, start);
    editor.revealRange(new vscode.Range(start, start), vscode.TextEditorRevealType.AtTop);
  };

  /** A live quick pick over `sidecar/sessions/search`: hits as you type, Enter opens the session view there. */
  const search = async (): Promise<void> => {
    const pick = vscode.window.createQuickPick<vscode.QuickPickItem & SearchRow>();
    let scope: Scope = tree.filters.scope;
    let timer: NodeJS.Timeout | undefined;
    let asked = 0;
    const titled = (): void => {
      pick.title = `Search session history in ${scopeText(scope)}`;
    };
    const ask = async (query: string): Promise<void> => {
      const mine = ++asked;
      if (!query.trim()) {
        pick.items = [];
        pick.busy = false;
        return;
      }
      pick.busy = true;
      try {
        const result = await client.request<SearchResult>('sidecar/sessions/search', { query, scope, limit: SEARCH_LIMIT });
        if (mine !== asked) return;
        // The server matched already: every row stays, whatever the picker's own filter thinks.
        pick.items = searchRows(result.items, query, scope, new Date()).map((row) => ({ ...row, alwaysShow: true }));
      } catch (err) {
        if (mine === asked) pick.items = [{ label: `$(error) ${message(err)}`, alwaysShow: true }];
      } finally {
        if (mine === asked) pick.busy = false;
      }
    };
    titled();
    pick.placeholder = 'Words from prompts, answers, commands and outputs';
    pick.matchOnDescription = true;
    pick.matchOnDetail = true;
    pick.onDidChangeValue((value) => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => void ask(value), SEARCH_DEBOUNCE_MS);
    });
    pick.onDidAccept(() => {
      const row = pick.selectedItems[0];
      if (row?.widen) {
        scope = row.widen;
        titled();
        void ask(pick.value);
      } else if (row?.hit) {
        const hit = row.hit;
        pick.hide();
        void run(openSession)(hit.sessionId, hit.seq);
      }
    });
    pick.onDidHide(() => {
      if (timer) clearTimeout(timer);
      pick.dispose();
    });
    pick.show();
  };

  const switchScope = async (arg?: SessionArg): Promise<void> => {
    const given = SCOPES.find((s) => s.label === arg);
    const picked =
      given ??
      (await vscode.window.showQuickPick(
        SCOPES.map((s) => ({ ...s, description: s.label === tree.filters.scope ? 'current' : undefined })),
        { placeHolder: 'Which sessions the view lists' },
      ));
    if (!picked) return;
    tree.filters.scope = picked.label;
    deps.saveFilters();
  };

  const clearFilter = async (): Promise<void> => {
    tree.filters.query = '';
    tree.filters.statuses = [];
    deps.saveFilters();
  };

  const filter = async (): Promise<void> => {
    const query = await vscode.window.showInputBox({
      title: 'Filter sessions',
      prompt: 'Text in session names, descriptions and last prompts (empty: no filter). "Search History" searches every event.',
      value: tree.filters.query,
    });
    if (query === undefined) return;
    const statuses = await vscode.window.showQuickPick(
      STATUSES.map((label) => ({ label, picked: tree.filters.statuses.includes(label) })),
      { canPickMany: true, placeHolder: 'Statuses to show (none: all)' },
    );
    tree.filters.query = query.trim();
    if (statuses) tree.filters.statuses = statuses.map((s) => s.label);
    deps.saveFilters();
  };

  const sessionActions = async (): Promise<void> => {
    const active = tracker.status?.activeSession;
    const actions: { label: string; command: string; args?: unknown[] }[] = [];
    const pending = tracker.status?.pendingRecommendation;
    if (pending && !pending.deferred) actions.push({ label: '$(warning) Answer the pending decision…', command: 'sessionSidecar.decideDrift' });
    actions.push(
      { label: '$(add) Start fresh session', command: 'sessionSidecar.startFresh' },
      { label: '$(debug-continue) Resume a session…', command: 'sessionSidecar.resume' },
      { label: '$(search) Search history…', command: 'sessionSidecar.search' },
    );
    if (active) {
      actions.push(
        { label: `$(open-preview) Open "${sessionLabel(active)}"`, command: 'sessionSidecar.openSession', args: [active.id] },
        { label: '$(repo-forked) Fork the current session', command: 'sessionSidecar.fork', args: [active.id] },
        { label: '$(bookmark) Create checkpoint', command: 'sessionSidecar.checkpoint', args: [active.id] },
        { label: '$(edit) Rename the current session', command: 'sessionSidecar.rename', args: [active.id] },
        { label: '$(debug-stop) End the current session', command: 'sessionSidecar.end', args: [active.id] },
      );
    }
    actions.push(
      { label: '$(list-tree) Show the Sessions view', command: 'sessionSidecar.sessions.focus' },
      { label: '$(debug-restart) Restart server', command: 'sessionSidecar.restartServer' },
    );
    const picked = await vscode.window.showQuickPick(actions, { placeHolder: 'Session actions' });
    if (picked) await vscode.commands.executeCommand(picked.command, ...(picked.args ?? []));
  };

  const restartServer = async (): Promise<void> => {
    await client.restart();
    await afterChange();
  };

  const refresh = async (): Promise<void> => {
    await afterChange();
  };

  const decideDrift = async (): Promise<void> => {
    await drift.pickPending();
  };

  const table: [string, (arg?: SessionArg, ...rest: unknown[]) => Promise<void>][] = [
    ['sessionSidecar.startFresh', startFresh],
    ['sessionSidecar.resume', resume],
    ['sessionSidecar.fork', fork],
    ['sessionSidecar.rename', rename],
    ['sessionSidecar.end', end],
    ['sessionSidecar.delete', del],
    ['sessionSidecar.export', exportSession],
    ['sessionSidecar.checkpoint', checkpoint],
    ['sessionSidecar.showTranscript', showTranscript],
    ['sessionSidecar.openSession', openSession],
    ['sessionSidecar.openChanges', openChanges],
    ['sessionSidecar.checkpointChanges', checkpointChanges],
    ['sessionSidecar.restoreCheckpoint', restore],
    ['sessionSidecar.groupByDate', setGroupBy('date')],
    ['sessionSidecar.groupByBranch', setGroupBy('branch')],
    ['sessionSidecar.refresh', refresh],
    ['sessionSidecar.switchScope', switchScope],
    ['sessionSidecar.filter', filter],
    ['sessionSidecar.clearFilter', clearFilter],
    ['sessionSidecar.search', search],
    ['sessionSidecar.decideDrift', decideDrift],
    ['sessionSidecar.restartServer', restartServer],
    ['sessionSidecar.sessionActions', sessionActions],
  ];
  return table.map(([id, body]) => vscode.commands.registerCommand(id, run(body)));
}
