/**
 * Entry point: wires the language client, the Sessions view, the status bar,
 * the transcript documents, the commands and the drift prompt together.
 */
import * as vscode from 'vscode';
import { SidecarClient } from './client';
import { registerCommands } from './commands';
import { driftChoices, driftMessage } from './driftChoices';
import type { DriftDetectedParams, ShowResult } from './protocol';
import { SessionTreeProvider, type TreeFilters } from './sessionTree';
import { SessionStatusBar, StatusTracker } from './statusBar';
import { TRANSCRIPT_SCHEME } from './transcript';
import { TranscriptProvider } from './transcriptProvider';

const FILTERS_KEY = 'sessionSidecar.filters';
const DEFAULT_FILTERS: TreeFilters = { scope: 'repository', query: '', statuses: [] };
/** Settings whose change needs a server restart (they go into initializationOptions). */
const RESTART_SETTINGS = ['serverCommand', 'prompts', 'staleHours', 'dbPath'];

let sidecar: SidecarClient | undefined;

/** Called by VS Code when the extension activates. */
export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Session Sidecar', { log: true });
  const client = new SidecarClient(output);
  sidecar = client;
  const tracker = new StatusTracker(client);
  const statusBar = new SessionStatusBar(tracker, client);
  const filters = { ...DEFAULT_FILTERS, ...context.workspaceState.get<Partial<TreeFilters>>(FILTERS_KEY, {}) };
  const tree = new SessionTreeProvider(client, tracker, filters);
  const view = vscode.window.createTreeView('sessionSidecar.sessions', { treeDataProvider: tree, showCollapseAll: true });
  const transcripts = new TranscriptProvider(client);

  const describeView = (): void => {
    const parts: string[] = [tree.filters.scope];
    if (tree.filters.query) parts.push(`"${tree.filters.query}"`);
    if (tree.filters.statuses.length) parts.push(tree.filters.statuses.join('|'));
    view.description = parts.join(' · ');
    view.message = client.state === 'failed' ? `Server not running: ${client.error ?? 'unknown error'}` : undefined;
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
    vscode.workspace.registerTextDocumentContentProvider(TRANSCRIPT_SCHEME, transcripts),
    ...registerCommands({ client, tree, tracker, saveFilters }),
    client.onDidChangeState(() => void refreshAll()),
    // Renames, ends and new events all change what an open transcript shows.
    tracker.onDidChange(() => transcripts.refreshOpen()),
    client.onSessionChanged(() => void refreshAll()),
    client.onHistoryChanged(() => void refreshAll()),
    client.onDriftDetected((p) => {
      void refreshAll();
      if (promptMode() === 'custom') void askAboutDrift(client, p);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (RESTART_SETTINGS.some((key) => e.affectsConfiguration(`sessionSidecar.${key}`))) {
        void client.restart();
      }
    }),
  );
  describeView();
  await client.start();
}

function promptMode(): string {
  return vscode.workspace.getConfiguration('sessionSidecar').get<string>('prompts', 'native');
}

/** The drift prompt rendered by the extension (prompts = "custom"). */
async function askAboutDrift(client: SidecarClient, params: DriftDetectedParams): Promise<void> {
  const rec = params.recommendation;
  if (!rec.ask || rec.deferred) return;
  let targetName: string | undefined;
  if (rec.action === 'resume' && rec.targetSessionId) {
    try {
      const show = await client.request<ShowResult>('sidecar/sessions/show', { sessionId: rec.targetSessionId });
      targetName = show.session.name || undefined;
    } catch {
      // The button then names the id; the prompt still works.
    }
  }
  const choices = driftChoices(rec, targetName);
  const picked = await vscode.window.showWarningMessage(driftMessage(rec), ...choices.map((c) => c.title));
  const choice = choices.find((c) => c.title === picked);
  if (!choice) return;
  try {
    await client.request('sidecar/drift/decide', { ...choice.decide, folder: params.folder });
  } catch (err) {
    void vscode.window.showErrorMessage(`Session Sidecar: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Called by VS Code on shutdown: stop the server cleanly. */
export async function deactivate(): Promise<void> {
  await sidecar?.stop();
}
