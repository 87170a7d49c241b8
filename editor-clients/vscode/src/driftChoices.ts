/**
 * The buttons of the drift prompt when the extension renders it itself
 * (`sessionSidecar.prompts = "custom"`). Titles match the server's native
 * prompt so both modes read the same. Pure.
 */
import type { DriftAction, Recommendation } from './protocol';

export interface DriftChoice {
  title: string;
  /** Params of `sidecar/drift/decide`. */
  decide: { action: DriftAction; sessionId?: string; remember?: boolean };
}

/**
 * The choices for a recommendation: `Resume "<name>"` when a resumable
 * session exists (first when resume is recommended), then start fresh,
 * continue here, and don't ask again for this branch.
 */
export function driftChoices(rec: Recommendation, targetName?: string): DriftChoice[] {
  const fresh: DriftChoice = { title: 'Start fresh', decide: { action: 'fresh' } };
  const here: DriftChoice = { title: 'Continue here', decide: { action: 'continue' } };
  const never: DriftChoice = {
    title: "Don't ask again for this branch",
    decide: { action: 'continue', remember: true },
  };
  const choices: DriftChoice[] = [];
  const resumable = rec.action === 'resume' && rec.targetSessionId;
  if (resumable) {
    choices.push({
      title: `Resume "${targetName ?? rec.targetSessionId}"`,
      decide: { action: 'resume', sessionId: rec.targetSessionId ?? undefined },
    });
  }
  choices.push(fresh, here, never);
  return choices;
}

/** The message of the drift prompt: the summary, else the strongest reason. */
export function driftMessage(rec: Recommendation): string {
  if (rec.summary) return rec.summary;
  const reason = rec.reasons.find((r) => r.severity === 'strong') ?? rec.reasons[0];
  return reason ? reason.message : `Session Sidecar recommends: ${rec.action}`;
}
