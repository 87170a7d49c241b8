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
import {
  choiceKey,
  driftChoices,
  driftLead,
  driftMessage,
  isDriftPrompt,
  type ChoiceKey,
  type DriftChoice,
  type DriftFacts,
  type NamedSession,
} from './driftChoices';
import { lastActivity, sessionLabel } from './present';
import type { DriftDetectedParams, Recommendation, Session, ShowResult, StatusResult, WorkspaceStatus } from './protocol';
import type { StatusTracker } from './statusBar';

function named(session: Session): NamedSession {
  return { name: sessionLabel(session), branch: session.boundary.branch, lastActivity: lastActivity(session) };
}

/** The folder whose recommendation waits for an answer (the one a prompt's message names, if given). */
export function pendingWorkspace(status: StatusResult | null, message?: string): WorkspaceStatus | undefined {
  if (!status) return undefined;
  const all: WorkspaceStatus[] = [status, ...(status.workspaces ?? [])];
  const waiting = all.filter((w) => w.pendingRecommendation && !w.pendingRecommendation.deferred);
  return waiting.find((w) => message !== undefined && w.pendingRecommendation?.summary === message) ?? waiting[0];
}

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
    if (!isDriftPrompt(titles)) return undefined;
    const offered = titles.map(choiceKey).filter((k): k is ChoiceKey => k !== undefined);
    const resumeTitle = titles.find((t) => choiceKey(t) === 'resume');
    const status = await this.status();
    const ws = pendingWorkspace(status, params.message) ?? status ?? undefined;
    const rec: Recommendation = ws?.pendingRecommendation ?? {
      // The status did not answer: the prompt still works, from its own titles.
      action: resumeTitle ? 'resume' : 'fresh',
      targetSessionId: null,
      reasons: [],
      summary: params.message,
      ask: true,
      deferred: false,
    };
    const facts = await this.facts(rec, ws);
    if (!facts.target && resumeTitle) facts.target = { name: resumeTitle.slice('Resume "'.length, -1), branch: facts.branch ?? '' };
    const choices = driftChoices(facts, new Date(), offered);
    const picked = await this.notify(driftMessage(facts, choices, new Date()), choices);
    const title = picked && titles.find((t) => choiceKey(t) === picked.key);
    return title ? { title } : null;
  }

  /** `prompts = "custom"`: the same notification, answered with `sidecar/drift/decide`. */
  async askCustom(params: DriftDetectedParams): Promise<void> {
    const rec = params.recommendation;
    if (!rec.ask || rec.deferred) return;
    const status = await this.status();
    const facts = await this.facts(rec, pendingWorkspace(status) ?? status ?? undefined);
    facts.branch = params.after.branch;
    const choices = driftChoices(facts, new Date());
    const picked = await this.notify(driftMessage(facts, choices, new Date()), choices);
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
    const facts = await this.facts(rec, ws);
    const choices = driftChoices(facts, new Date());
    const picked = await vscode.window.showQuickPick(
      choices.map((choice) => ({
        label: choice.title,
        description: choice.recommended ? 'recommended' : undefined,
        detail: choice.detail,
        choice,
      })),
      { title: driftLead(rec), placeHolder: 'What now? The recommended choice comes first.', ignoreFocusOut: true },
    );
    if (picked) await this.decide(picked.choice, ws.folder);
  }

  private async decide(choice: DriftChoice, folder: string): Promise<void> {
    try {
      await this.client.request('sidecar/drift/decide', { ...choice.decide, folder });
      this.shown?.settle();
    } catch (err) {
      void vscode.window.showErrorMessage(`Session Sidecar: ${err instanceof Error ? err.message : String(err)}`);
    }
    await this.tracker.refresh();
  }

  /** Show the notification; resolves with the choice, or undefined when closed or decided elsewhere. */
  private async notify(message: string, choices: DriftChoice[]): Promise<DriftChoice | undefined> {
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

  /** Names for the decision: the branch now, the current session, the session to resume. */
  private async facts(rec: Recommendation, ws: WorkspaceStatus | undefined): Promise<DriftFacts> {
    const facts: DriftFacts = {
      rec,
      branch: ws?.boundary?.branch,
      current: ws?.activeSession ? named(ws.activeSession) : null,
    };
    if (rec.action === 'resume' && rec.targetSessionId) {
      try {
        const show = await this.client.request<ShowResult>('sidecar/sessions/show', { sessionId: rec.targetSessionId });
        facts.target = named(show.session);
      } catch {
        // Deleted meanwhile, or an unknown id: the choice then reads "the last session".
      }
    }
    return facts;
  }

  dispose(): void {
    this.shown?.settle();
    this.registration.dispose();
  }
}
