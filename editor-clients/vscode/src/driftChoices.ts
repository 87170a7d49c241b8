/**
 * The drift decision as the extension shows it: short buttons for the
 * notification, full titles for the status bar's quick pick, and a message
 * that names the sessions and branches instead of raw ids. Pure: the caller
 * gathers the facts (`sidecar/status`, `sidecar/sessions/show`).
 *
 * The server's native prompt (`window/showMessageRequest`) offers the titles
 * of `sidecar/core/decisions.py`; `choiceKey` reads them back, so a native
 * prompt shows the same short buttons and is answered with the server's own
 * title.
 */
import { formatAge } from './present';
import type { DriftAction, Reason, Recommendation } from './protocol';

/** What each choice does. `remember` continues and stops asking on this branch. */
export type ChoiceKey = 'resume' | 'fresh' | 'continue' | 'remember';

/** A session as the decision names it. */
export interface NamedSession {
  name: string;
  branch: string;
  /** Last activity (ISO time), shown as an age. */
  lastActivity?: string | null;
}

/** Everything the decision's text is made of. */
export interface DriftFacts {
  rec: Recommendation;
  /** The branch the workspace is on now. */
  branch?: string;
  /** The workspace's session now (what Continue keeps); none: Continue is not offered. */
  current?: NamedSession | null;
  /** The session the recommendation resumes, by name. */
  target?: NamedSession | null;
}

export interface DriftChoice {
  key: ChoiceKey;
  /** Short button text of the notification. */
  button: string;
  /** Full title, for the quick pick. */
  title: string;
  /** One line saying what happens. */
  detail: string;
  recommended: boolean;
  /** Params of `sidecar/drift/decide`. */
  decide: { action: DriftAction; sessionId?: string; remember?: boolean };
}

/** The server's prompt titles (binding: `sidecar/core/decisions.py`). */
export const SERVER_TITLES = {
  fresh: 'Start fresh',
  continue: 'Continue here',
  remember: "Don't ask again for this branch",
} as const;

const BUTTONS: Record<ChoiceKey, string> = {
  resume: 'Resume',
  fresh: 'Fresh',
  continue: 'Continue',
  remember: "Don't ask",
};

/** Which choice a title of the server's native prompt stands for; undefined for other prompts. */
export function choiceKey(serverTitle: string): ChoiceKey | undefined {
  if (serverTitle === SERVER_TITLES.fresh) return 'fresh';
  if (serverTitle === SERVER_TITLES.continue) return 'continue';
  if (serverTitle === SERVER_TITLES.remember) return 'remember';
  if (/^Resume ".*"$/s.test(serverTitle)) return 'resume';
  return undefined;
}

/** Whether a `window/showMessageRequest` is the server's drift prompt (it always offers Start fresh). */
export function isDriftPrompt(titles: string[]): boolean {
  return titles.includes(SERVER_TITLES.fresh) && titles.every((t) => choiceKey(t) !== undefined);
}

/** The choice the recommendation's action stands for. */
function recommendedKey(rec: Recommendation): ChoiceKey | undefined {
  if (rec.action === 'resume') return 'resume';
  if (rec.action === 'fresh') return 'fresh';
  if (rec.action === 'continue') return 'continue';
  return undefined;
}

function quoted(name: string): string {
  return `"${name}"`;
}

/**
 * The decision's choices, the recommended one first, then resume, fresh,
 * continue, don't ask. Resume is offered when the recommendation names a
 * session to resume; Continue and Don't ask when the workspace has a session
 * (as the server's prompt does). `offered` limits them to what a native
 * prompt offers.
 */
export function driftChoices(facts: DriftFacts, now: Date, offered?: ChoiceKey[]): DriftChoice[] {
  const { rec } = facts;
  const branch = facts.branch ?? facts.target?.branch;
  const onBranch = branch ? ` on ${branch}` : '';
  const best = recommendedKey(rec);
  const all: DriftChoice[] = [];
  if (rec.action === 'resume' && (rec.targetSessionId || facts.target)) {
    const target = facts.target;
    const age = target?.lastActivity ? `, last active ${formatAge(target.lastActivity, now)}` : '';
    all.push({
      key: 'resume',
      button: BUTTONS.resume,
      title: `Resume ${target ? quoted(target.name) : 'the last session'}${onBranch}`,
      detail: `Go back to that session's history${target ? ` (${target.branch}${age})` : ''}`,
      recommended: false,
      decide: { action: 'resume', sessionId: rec.targetSessionId ?? undefined },
    });
  }
  all.push({
    key: 'fresh',
    button: BUTTONS.fresh,
    title: `Start a fresh session${onBranch}`,
    detail: 'A new, empty session for this work',
    recommended: false,
    decide: { action: 'fresh' },
  });
  // A native prompt that offers Continue has a session, even when its name is not known here.
  const current = facts.current ?? (offered?.includes('continue') ? { name: '', branch: '' } : null);
  if (current) {
    const named = current.name ? quoted(current.name) : 'the current session';
    all.push(
      {
        key: 'continue',
        button: BUTTONS.continue,
        title: `Continue ${named}`,
        detail: current.branch ? `Keep working in the current session (from ${current.branch})` : 'Keep working in the current session',
        recommended: false,
        decide: { action: 'continue' },
      },
      {
        key: 'remember',
        button: BUTTONS.remember,
        title: `Continue and don't ask again${onBranch}`,
        detail: `Keep ${named} and remember this choice for the branch`,
        recommended: false,
        decide: { action: 'continue', remember: true },
      },
    );
  }
  const shown = offered ? all.filter((c) => offered.includes(c.key)) : all;
  for (const choice of shown) choice.recommended = choice.key === best;
  return [...shown.filter((c) => c.recommended), ...shown.filter((c) => !c.recommended)];
}

/** Session ids (26 characters of lower-case Crockford base32, time first) inside prose. */
const SESSION_ID = /\s*\(?\b[0-9][0-9a-hjkmnp-tv-z]{25}\b\)?/gi;

/** `text` without raw session ids (`'name' (01j…)` reads `'name'`). */
export function withoutIds(text: string): string {
  return text.replace(SESSION_ID, '').replace(/\s+([.,;:])/g, '$1').trim();
}

function strongest(reasons: Reason[]): Reason | undefined {
  const rank = (r: Reason): number => (r.severity === 'strong' ? 0 : r.severity === 'medium' ? 1 : 2);
  return [...reasons].filter((r) => r.code !== 'resumable_session').sort((a, b) => rank(a) - rank(b))[0];
}

/** Why the question comes up: the strongest reason in words, without ids. */
export function driftLead(rec: Recommendation): string {
  const reason = strongest(rec.reasons ?? []);
  if (!reason) return rec.summary ? withoutIds(rec.summary) : 'The workspace changed.';
  const ev = reason.evidence ?? {};
  if (reason.code === 'branch_changed' && typeof ev.before === 'string' && typeof ev.after === 'string') {
    return `You switched from ${ev.before} to ${ev.after}.`;
  }
  const text = withoutIds(reason.message);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/**
 * The notification's message: why, then the choices in words with the names
 * the buttons stand for, e.g. `You switched from main to feature/login.
 * Resume "Add login form" (feature/login, active 2h ago), start fresh, or
 * continue "Fix flaky tests"?`
 */
export function driftMessage(facts: DriftFacts, choices: DriftChoice[], now: Date): string {
  const parts: string[] = [];
  for (const choice of choices) {
    if (choice.key === 'resume') {
      const t = facts.target;
      const where = t ? ` (${[t.branch, t.lastActivity ? `active ${formatAge(t.lastActivity, now)}` : ''].filter(Boolean).join(', ')})` : '';
      parts.push(`resume ${t ? quoted(t.name) : 'the last session'}${where}`);
    } else if (choice.key === 'fresh') {
      parts.push(facts.branch ? `start fresh on ${facts.branch}` : 'start fresh');
    } else if (choice.key === 'continue' && facts.current) {
      parts.push(`continue ${quoted(facts.current.name)}`);
    }
  }
  const last = parts[parts.length - 1] ?? '';
  const question = parts.length > 2 ? `${parts.slice(0, -1).join(', ')}, or ${last}` : parts.join(' or ');
  const sentence = question ? `${question.charAt(0).toUpperCase()}${question.slice(1)}?` : '';
  return [driftLead(facts.rec), sentence].filter(Boolean).join(' ');
}
