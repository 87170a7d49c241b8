/**
 * The drift decision as the extension shows it. The server makes the decision
 * whole (`sidecar/core/decisions.py`): `recommendation.question` names the
 * sessions and branches, and `recommendation.choices` carry, recommended
 * first, a short button, a full label and detail for the quick pick, the
 * native prompt's title and the params of `sidecar/drift/decide`. This module
 * only picks them out. Pure.
 */
import type { DecisionOption, Recommendation, StatusResult, WorkspaceStatus } from './protocol';

/** The decision's choices, recommended first (as the server ordered them). */
export function choicesOf(rec: Recommendation): DecisionOption[] {
  return rec.choices ?? [];
}

/** The notification's text: the server's question, else its summary. */
export function questionOf(rec: Recommendation): string {
  return rec.question || rec.summary || 'The workspace changed.';
}

/** The params of `sidecar/drift/decide` for a choice. */
export function decideParams(choice: DecisionOption, folder: string): { action: string; sessionId?: string; remember?: boolean; folder: string } {
  return {
    action: choice.action,
    ...(choice.sessionId ? { sessionId: choice.sessionId } : {}),
    ...(choice.remember ? { remember: true } : {}),
    folder,
  };
}

/** Every folder's status, the requested one first. */
function folders(status: StatusResult | null): WorkspaceStatus[] {
  return status ? [status, ...(status.workspaces ?? [])] : [];
}

/** The folder whose recommendation waits for an answer (the one a prompt's message names, if given). */
export function pendingWorkspace(status: StatusResult | null, message?: string): WorkspaceStatus | undefined {
  const waiting = folders(status).filter((w) => w.pendingRecommendation && !w.pendingRecommendation.deferred);
  return waiting.find((w) => message !== undefined && w.pendingRecommendation && questionOf(w.pendingRecommendation) === message) ?? waiting[0];
}

/**
 * The pending recommendation a native prompt (`window/showMessageRequest`)
 * stands for: the one whose choices' titles are exactly the prompt's actions.
 * Undefined for any other prompt (the workbench shows those as they come).
 */
export function promptDecision(status: StatusResult | null, message: string, titles: string[]): WorkspaceStatus | undefined {
  const same = (rec: Recommendation): boolean => {
    const offered = choicesOf(rec).map((c) => c.title);
    return offered.length === titles.length && offered.every((t) => titles.includes(t));
  };
  const candidates = folders(status).filter((w) => w.pendingRecommendation && same(w.pendingRecommendation));
  return candidates.find((w) => questionOf(w.pendingRecommendation as Recommendation) === message) ?? candidates[0];
}

/** Session ids (26 characters of lower-case Crockford base32, time first) inside prose. */
const SESSION_ID = /\s*\(?\b[0-9][0-9a-hjkmnp-tv-z]{25}\b\)?/gi;

/** `text` without raw session ids (`'name' (01j…)` reads `'name'`), for the status bar. */
export function withoutIds(text: string): string {
  return text.replace(SESSION_ID, '').replace(/\s+([.,;:])/g, '$1').trim();
}
