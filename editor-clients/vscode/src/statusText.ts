/**
 * The status bar item's text and tooltip from `sidecar/status`. Pure.
 */
import { withoutIds } from './driftChoices';
import { sessionLabel } from './present';
import type { StatusResult } from './protocol';

export type DriftState = 'none' | 'pending' | 'deferred' | 'offline';

export interface StatusView {
  text: string;
  tooltip: string;
  drift: DriftState;
  /** What a click does: answer the pending decision, or the session actions. */
  command: 'sessionSidecar.decideDrift' | 'sessionSidecar.sessionActions';
}

/** Whether a recommendation waits for the user, is deferred (git operation), or none. */
export function driftState(status: StatusResult | null): DriftState {
  if (!status) return 'offline';
  const rec = status.pendingRecommendation;
  if (!rec) return 'none';
  if (rec.deferred) return 'deferred';
  return rec.action === 'continue' && !rec.ask ? 'none' : 'pending';
}

/**
 * `$(history) main · fix login $(warning) drift` — branch, active session name and
 * a drift marker; an offline server reads as such instead of stale data.
 */
export function statusView(status: StatusResult | null, serverError?: string): StatusView {
  if (!status) {
    return {
      text: '$(circle-slash) Sessions: offline',
      tooltip: serverError ? `Session Sidecar server is not running: ${serverError}` : 'Session Sidecar server is not running',
      drift: 'offline',
      command: 'sessionSidecar.sessionActions',
    };
  }
  const drift = driftState(status);
  const branch = status.boundary?.branch ?? 'no repository';
  const session = status.activeSession ? sessionLabel(status.activeSession) : 'no session';
  const marker = drift === 'pending' ? ' $(warning) drift' : drift === 'deferred' ? ' $(clock) deferred' : '';
  const lines = [
    `Branch: ${branch}`,
    `Session: ${session}${status.activeSession ? ` (${status.activeSession.status}, ${status.activeSession.eventCount} events)` : ''}`,
  ];
  const rec = status.pendingRecommendation;
  if (rec && drift !== 'none') {
    lines.push(`Drift: ${withoutIds(rec.summary || rec.action)}${rec.deferred ? ' (after the git operation ends)' : ''}`);
  } else {
    lines.push('Drift: none');
  }
  const decide = drift === 'pending';
  lines.push('', decide ? 'Click to answer the pending decision' : 'Click for session actions');
  return {
    text: `$(history) ${branch} · ${session}${marker}`,
    tooltip: lines.join('\n'),
    drift,
    command: decide ? 'sessionSidecar.decideDrift' : 'sessionSidecar.sessionActions',
  };
}
