/**
 * Entry point: wires the language client, the Sessions view, the status bar,
 * the transcript documents, the commands and the drift prompt together.
 */
import * as vscode from 'vscode';
import { ChangeContent, CONTENT_SCHEME } from './changeView';
import { SidecarClient } from './client';
import { registerCommands } from './commands';
import { DriftDecisions } from './driftPrompt';
import { SessionViews } from './sessionView';
import { SessionTreeProvider, type TreeFilters } from './sessionTree';
import { SessionStatusBar, StatusTracker } from './statusBar';
import { TRANSCRIPT_SCHEME } from './transcript';
import { TranscriptProvider } from './transcriptProvider';
import { filterDescription, isFiltered, type GroupBy } from './treeModel';

const FILTERS_KEY = 'sessionSidecar.filters';
const DEFAULT_FILTERS: TreeFilters = { scope: 'repository', query: '', statuses: [] };
/** Settings whose change needs a server restart (they go into initializationOptions). */
const RESTART_SETTINGS = ['serverCommand', 'prompts', 'staleHours', 'dbPath'];

let sidecar: SidecarClient | undefined;

/** Called by VS Code when the extension activates. */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Session Sidecar', { log: true });
  const client = new SidecarClient(output, { extensionPath: context.extensionPath, storagePath: context.globalStorageUri.fsPath });
  sidecar = client;
  const tracker = new StatusTracker(client);
  const statusBar = new SessionStatusBar(tracker, client);
  const filters = { ...DEFAULT_FILTERS, ...context.workspaceState.get<Partial<TreeFilters>>(FILTERS_KEY, {}) };
  const tree = new SessionTreeProvider(client, tracker, filters, groupByMode());
  const view = vscode.window.createTreeView('sessionSidecar.sessions', { treeDataProvider: tree, showCollapseAll: true });
  const transcripts = new TranscriptProvider(client);
  const content = new ChangeContent(client);
  const views = new SessionViews(client, content, context.extensionUri);
  const drift = new DriftDecisions(client, tracker);

  const describeView = (): void => {
    view.description = filterDescription(tree.filters);
    view.message = client.state === 'failed' ? `Server not running: ${client.error ?? 'unknown error'}` : undefined;
    void vscode.commands.executeCommand('setContext', 'sessionSidecar.filtered', isFiltered(tree.filters));
    void vscode.commands.executeCommand('setContext', 'sessionSidecar.groupBy', tree.groupBy);
  };
  const saveFilters = (): void => {
    void context.workspaceState.update(FILTERS_KEY, tree.filters);
    describeView();
    tree.refresh(0);
  };

  const refreshAll = async (): Promise<void> => {
    await tracker.refresh();
    describeView();
    tree.refresh();
  };

  context.subscriptions.push(
    output,
    client,
    tracker,
    statusBar,
    tree,
    view,
    transcripts,
    content,
    views,
    drift,
    vscode.workspace.registerTextDocumentContentProvider(TRANSCRIPT_SCHEME, transcripts),
    vscode.workspace.registerTextDocumentContentProvider(CONTENT_SCHEME, content),
    ...registerCommands({ client, tree, tracker, transcripts, views, content, drift, saveFilters }),
    client.onDidChangeState(() => void refreshAll()),
    // A row that went away meanwhile cannot be revealed; nothing to do then.
    tree.onDidChangeCurrentBranch((node) => view.reveal(node, { expand: true, select: false, focus: false }).then(undefined, () => undefined)),
    // Renames, ends and new events all change what an open transcript shows.
    tracker.onDidChange(() => transcripts.refreshOpen()),
    client.onSessionChanged(() => void refreshAll()),
    client.onHistoryChanged((p) => {
      void refreshAll();
      views.refresh([p.sessionId]);
    }),
    client.onDriftDetected((p) => {
      void refreshAll();
      if (promptMode() === 'custom') void drift.askCustom(p);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (RESTART_SETTINGS.some((key) => e.affectsConfiguration(`sessionSidecar.${key}`))) {
        void client.restart();
      }
      if (e.affectsConfiguration('sessionSidecar.groupBy')) {
        tree.groupBy = groupByMode();
        describeView();
        tree.refresh(0);
      }
    }),
  );
  describeView();
  await client.start();
}

function groupByMode(): GroupBy {
  return vscode.workspace.getConfiguration('sessionSidecar').get<string>('groupBy', 'branch') === 'date' ? 'date' : 'branch';
}

function promptMode(): string {
  return vscode.workspace.getConfiguration('sessionSidecar').get<string>('prompts', 'native');
}

/** Called by VS Code on shutdown: stop the server cleanly. */
export async function deactivate(): Promise<void> {
  await sidecar?.stop();
}
