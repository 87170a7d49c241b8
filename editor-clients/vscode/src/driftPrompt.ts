/**
 * The drift decision in the workbench: one notification with short buttons
 * (for the server's native prompt and for `prompts = "custom"`), and a quick
 * pick of the pending decision's choices behind the status bar item, which
 * answers it for as long as it is pending (a notification hides after a few
 * seconds, or is closed).
 */
import * as vscode from 'vscode';
import type { MessageActionItem, ShowMessageRequestParams } from 'vscode-languageclient/node';
import type { SidecarClient } from './client';
import { choicesOf, decideParams, pendingWorkspace, promptDecision, questionOf } from './driftChoices';
import type { DecisionOption, DriftDetectedParams, StatusResult } from './protocol';
import type { StatusTracker } from './statusBar';

export { pendingWorkspace };

export class DriftDecisions implements vscode.Disposable {
  /** Settles the notification on screen once its decision was made elsewhere. */
  private shown: { settle: () => void } | undefined;
  private readonly registration: vscode.Disposable;

  constructor(
    private readonly client: SidecarClient,
    private readonly tracker: StatusTracker,
  ) {
    this.registration = client.handlePrompts((params) => this.answerNative(params));
  }

  /** The server's native prompt, shown with short buttons; answered with the server's title. */
  async answerNative(params: ShowMessageRequestParams): Promise<MessageActionItem | null | undefined> {
    const titles = (params.actions ?? []).map((a) => a.title);
    const ws = promptDecision(await this.status(), params.message, titles);
    const rec = ws?.pendingRecommendation;
    if (!rec) return undefined; // not a drift decision: the workbench shows it as it is
    const picked = await this.notify(questionOf(rec), choicesOf(rec));
    return picked ? { title: picked.title } : null;
  }

  /** `prompts = "custom"`: the same notification, answered with `sidecar/drift/decide`. */
  async askCustom(params: DriftDetectedParams): Promise<void> {
    const rec = params.recommendation;
    if (!rec.ask || rec.deferred) return;
    const picked = await this.notify(questionOf(rec), choicesOf(rec));
    if (picked) await this.decide(picked, params.folder);
  }

  /** The status bar's answer: the pending decision's choices, recommended first. */
  async pickPending(): Promise<void> {
    await this.tracker.refresh();
    const ws = pendingWorkspace(this.tracker.status);
    const rec = ws?.pendingRecommendation;
    if (!ws || !rec) {
      const deferred = this.tracker.status?.pendingRecommendation?.deferred;
      void vscode.window.showInformationMessage(
        deferred
          ? 'Session Sidecar: the decision waits until the git operation (rebase, merge…) finishes.'
          : 'Session Sidecar: no decision is pending.',
      );
      return;
    }
    const picked = await vscode.window.showQuickPick(
      choicesOf(rec).map((choice) => ({
        label: choice.label,
        description: choice.recommended ? 'recommended' : undefined,
        detail: choice.detail,
        choice,
      })),
      { title: rec.headline || 'Session Sidecar: decide', placeHolder: 'What now? The recommended choice comes first.', ignoreFocusOut: true },
    );
    if (picked) await this.decide(picked.choice, ws.folder);
  }

  private async decide(choice: DecisionOption, folder: string): Promise<void> {
    try {
      await this.client.request('sidecar/drift/decide', decideParams(choice, folder));
      this.shown?.settle();
    } catch (err) {
      void vscode.window.showErrorMessage(`Session Sidecar: ${err instanceof Error ? err.message : String(err)}`);
    }
    await this.tracker.refresh();
  }

  /** Show the notification; resolves with the choice, or undefined when closed or decided elsewhere. */
  private async notify(message: string, choices: DecisionOption[]): Promise<DecisionOption | undefined> {
    this.shown?.settle(); // a newer decision replaces the older one
    let settle: () => void = () => undefined;
    const elsewhere = new Promise<undefined>((resolve) => {
      settle = () => resolve(undefined);
    });
    const shown = { settle };
    this.shown = shown;
    try {
      const button = await Promise.race([vscode.window.showWarningMessage(message, ...choices.map((c) => c.button)), elsewhere]);
      return choices.find((c) => c.button === button);
    } finally {
      if (this.shown === shown) this.shown = undefined;
    }
  }

  private async status(): Promise<StatusResult | null> {
    try {
      return await this.client.request<StatusResult>('sidecar/status', {});
    } catch {
      return this.tracker.status;
    }
  }

  dispose(): void {
    this.shown?.settle();
    this.registration.dispose();
  }
}
