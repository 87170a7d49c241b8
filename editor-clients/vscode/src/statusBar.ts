/**
 * The workspace's sidecar status (branch, active session, pending drift),
 * kept fresh from `sidecar/status`, and the status bar item showing it.
 */
import * as vscode from 'vscode';
import type { SidecarClient } from './client';
import type { StatusResult } from './protocol';
import { statusView } from './statusText';

/** Last known `sidecar/status` of the first workspace folder. */
export class StatusTracker implements vscode.Disposable {
  private _status: StatusResult | null = null;
  private readonly emitter = new vscode.EventEmitter<StatusResult | null>();
  readonly onDidChange = this.emitter.event;

  constructor(private readonly client: SidecarClient) {}

  get status(): StatusResult | null {
    return this._status;
  }

  /** Ask the server again; an offline server clears the status. */
  async refresh(): Promise<void> {
    try {
      this._status = this.client.state === 'running' ? await this.client.request<StatusResult>('sidecar/status', {}) : null;
    } catch {
      this._status = null;
    }
    this.emitter.fire(this._status);
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

/**
 * The status bar item: `branch · session` plus a drift marker. A click answers
 * the pending decision while there is one, else offers the session actions.
 */
export class SessionStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly tracker: StatusTracker,
    private readonly client: SidecarClient,
  ) {
    this.item = vscode.window.createStatusBarItem('sessionSidecar.status', vscode.StatusBarAlignment.Left, 50);
    this.item.name = 'Session Sidecar';
    this.subscription = tracker.onDidChange(() => this.render());
    this.render();
    this.item.show();
  }

  private render(): void {
    const view =
      this.client.state === 'starting'
        ? { ...statusView(null), text: '$(sync~spin) Sessions: starting', tooltip: 'Starting the Session Sidecar server' }
        : statusView(this.tracker.status, this.client.error);
    this.item.text = view.text;
    this.item.tooltip = view.tooltip;
    this.item.command = view.command;
    this.item.backgroundColor =
      view.drift === 'pending' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.accessibilityInformation = { label: view.text.replace(/\$\([^)]*\)\s*/g, '') };
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
