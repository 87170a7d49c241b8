/**
 * Owns the language client: finds the server, starts, stops and restarts it,
 * sends requests and re-emits the sidecar notifications as VS Code events.
 */
import * as vscode from 'vscode';
import {
  LanguageClient,
  MessageType,
  ShowMessageRequest,
  State,
  type LanguageClientOptions,
  type MessageActionItem,
  type ServerOptions,
  type ShowMessageRequestParams,
} from 'vscode-languageclient/node';
import type {
  DriftDetectedParams,
  HistoryChangedParams,
  PromptMode,
  SessionChangedParams,
} from './protocol';
import type { NotificationMethod, RequestMethod } from './protocol.generated';
import type { ExtensionPlaces } from './bundledInstall';
import { discoverServer } from './serverDiscovery';

export type ClientState = 'stopped' | 'starting' | 'running' | 'failed';

/**
 * Answers a `window/showMessageRequest` the server sends; `undefined` leaves
 * the request to the default handling (a notification with the server's titles).
 */
export type PromptHandler = (params: ShowMessageRequestParams) => Promise<MessageActionItem | null | undefined>;

/** The one connection to the Session Sidecar server. */
export class SidecarClient implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private _state: ClientState = 'stopped';
  private _error: string | undefined;
  private readonly stateEmitter = new vscode.EventEmitter<ClientState>();
  private readonly sessionChangedEmitter = new vscode.EventEmitter<SessionChangedParams>();
  private readonly historyChangedEmitter = new vscode.EventEmitter<HistoryChangedParams>();
  private readonly driftDetectedEmitter = new vscode.EventEmitter<DriftDetectedParams>();
  private promptHandler: PromptHandler | undefined;

  /** Fires when the server starts, stops or fails. */
  readonly onDidChangeState = this.stateEmitter.event;
  /** `sidecar/sessionChanged`: the active session changed, and why. */
  readonly onSessionChanged = this.sessionChangedEmitter.event;
  /** `sidecar/historyChanged`: a session got new events. */
  readonly onHistoryChanged = this.historyChangedEmitter.event;
  /** `sidecar/driftDetected`: a recommendation after the boundary changed. */
  readonly onDriftDetected = this.driftDetectedEmitter.event;

  constructor(
    private readonly output: vscode.LogOutputChannel,
    /** The extension's folder (the bundled server) and its global storage (where it is installed). */
    private readonly places: ExtensionPlaces,
  ) {}

  get state(): ClientState {
    return this._state;
  }

  /** Why the last start failed, for the status bar and the tree. */
  get error(): string | undefined {
    return this._error;
  }

  /** Let `handler` answer the server's prompts (the drift decision); one handler at a time. */
  handlePrompts(handler: PromptHandler): vscode.Disposable {
    this.promptHandler = handler;
    return new vscode.Disposable(() => {
      if (this.promptHandler === handler) this.promptHandler = undefined;
    });
  }

  private async answerPrompt(params: ShowMessageRequestParams): Promise<MessageActionItem | null> {
    try {
      const answer = await this.promptHandler?.(params);
      if (answer !== undefined) return answer;
    } catch (err) {
      this.output.error(`The prompt "${params.message}" could not be shown as a decision: ${String(err)}`);
    }
    const show =
      params.type === MessageType.Error
        ? vscode.window.showErrorMessage
        : params.type === MessageType.Warning
          ? vscode.window.showWarningMessage
          : vscode.window.showInformationMessage;
    return (await show(params.message, ...(params.actions ?? []))) ?? null;
  }

  private setState(state: ClientState, error?: string): void {
    this._state = state;
    this._error = error;
    this.stateEmitter.fire(state);
  }

  /** Find and start the server; on failure show an actionable message. */
  async start(): Promise<void> {
    if (this.client) return;
    this.setState('starting');
    const folder = vscode.workspace.workspaceFolders?.[0];
    const found = await discoverServer(folder?.uri, this.places, this.output);
    if (!found.ok) {
      this.output.error(found.message);
      this.output.error(`PATH of the extension host: ${process.env.PATH ?? '(unset)'}`);
      this.setState('failed', 'no server found');
      void this.offerSettings(found.message);
      return;
    }
    const { command, args, source } = found.server;
    this.output.info(`Starting server (${source}): ${[command, ...args].join(' ')}`);
    const config = vscode.workspace.getConfiguration('sessionSidecar', folder?.uri);
    const initializationOptions: Record<string, unknown> = {
      prompts: config.get<PromptMode>('prompts', 'native'),
      staleHours: config.get<number>('staleHours', 8),
    };
    const dbPath = config.get<string>('dbPath', '').trim();
    if (dbPath) initializationOptions.dbPath = dbPath;

    // No `transport`: the client then talks over stdio without appending `--stdio`.
    const serverOptions: ServerOptions = {
      command,
      args,
      options: { cwd: folder?.uri.fsPath, env: found.server.env ?? process.env },
    };
    const clientOptions: LanguageClientOptions = {
      // didOpen/didSave/didClose of workspace files are events of the session
      // (the server keeps no document content).
      documentSelector: [{ scheme: 'file' }],
      initializationOptions,
      outputChannel: this.output,
      traceOutputChannel: this.output,
    };
    const client = new LanguageClient('sessionSidecar', 'Session Sidecar', serverOptions, clientOptions);
    // The language client restarts a crashed server by itself (a few times);
    // mirror that so the view and status bar follow.
    client.onDidChangeState((e) => {
      if (this.client !== client) return;
      if (e.newState === State.Stopped && this._state === 'running') {
        this.setState('failed', 'the server stopped');
      } else if (e.newState === State.Running && this._state === 'failed') {
        this.setState('running');
      }
    });
    // Registered before start so notifications sent during startup
    // (the session attached to the workspace) are not lost.
    client.onNotification(notification('sidecar/sessionChanged'), (p: SessionChangedParams) => this.sessionChangedEmitter.fire(p));
    client.onNotification(notification('sidecar/historyChanged'), (p: HistoryChangedParams) => this.historyChangedEmitter.fire(p));
    client.onNotification(notification('sidecar/driftDetected'), (p: DriftDetectedParams) => this.driftDetectedEmitter.fire(p));
    // Replaces the language client's default: the drift prompt gets short buttons
    // and a message with names (see driftPrompt.ts).
    client.onRequest(ShowMessageRequest.type, (params) => this.answerPrompt(params));
    this.client = client;
    try {
      await client.start();
    } catch (err) {
      this.client = undefined;
      const message = err instanceof Error ? err.message : String(err);
      this.output.error(`Server failed to start: ${message}`);
      this.setState('failed', message);
      void this.offerSettings(
        `Session Sidecar: the server "${[command, ...args].join(' ')}" failed to start (${message}). ` +
          'Check "sessionSidecar.serverCommand" and the "Session Sidecar" output.',
      );
      return;
    }
    this.setState('running');
  }

  /** The setup error, with what to do about it: open the setting, read the log, try again. */
  private async offerSettings(message: string): Promise<void> {
    const choice = await vscode.window.showErrorMessage(message, 'Open Settings', 'Show Output', 'Restart');
    if (choice === 'Open Settings') {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'sessionSidecar.serverCommand');
    } else if (choice === 'Show Output') {
      this.output.show();
    } else if (choice === 'Restart') {
      await this.restart();
    }
  }

  /** Stop the server (if running). */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) {
      try {
        await client.stop(5000);
      } catch (err) {
        this.output.warn(`Stopping the server: ${String(err)}`);
      }
    }
    this.setState('stopped');
  }

  /** Stop, then start again with the current settings. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /**
   * Send a request; rejects with a readable error when the server is not running.
   * `method` must be one the server registers (generated from its registry).
   */
  async request<T>(method: RequestMethod, params: object = {}): Promise<T> {
    if (!this.client || this._state !== 'running') {
      throw new Error(`Session Sidecar server is not running${this._error ? ` (${this._error})` : ''}`);
    }
    return this.client.sendRequest<T>(method, params);
  }

  dispose(): void {
    void this.stop();
    this.stateEmitter.dispose();
    this.sessionChangedEmitter.dispose();
    this.historyChangedEmitter.dispose();
    this.driftDetectedEmitter.dispose();
  }
}

/** A notification name, checked against the server's at compile time. */
function notification(name: NotificationMethod): string {
  return name;
}
