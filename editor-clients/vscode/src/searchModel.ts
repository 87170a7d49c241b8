/**
 * The rows of the history search (`sidecar/sessions/search`): one per hit,
 * with the session's name, the snippet and the age, or one row saying that
 * nothing matched and how to look wider. Pure.
 */
import { formatAge, oneLine, sessionLabel } from './present';
import type { Scope } from './protocol';
import type { SearchHit } from './protocol.generated';
import { scopeText } from './treeModel';

/** Longest snippet shown on a row. */
export const MAX_SNIPPET = 160;

export interface SearchRow {
  label: string;
  description?: string;
  detail?: string;
  /** The hit to open; none for the message rows. */
  hit?: SearchHit;
  /** Choosing this row searches again with this scope. */
  widen?: Scope;
}

/** One row per hit: `Add login form` / `prompt · #4 · 2h ago` / `…the [login] form…`. */
export function searchRows(hits: SearchHit[], query: string, scope: Scope, now: Date): SearchRow[] {
  if (!query.trim()) return [];
  if (!hits.length) {
    const row: SearchRow = { label: `$(search-stop) No matches for "${query.trim()}" in ${scopeText(scope)}` };
    if (scope !== 'all') {
      row.detail = 'Choose this row to search every repository (scope: all)';
      row.widen = 'all';
    } else {
      row.detail = 'Every word must appear in one event: try fewer or other words';
    }
    return [row];
  }
  return hits.map((hit) => ({
    label: sessionLabel({ id: hit.sessionId, name: hit.sessionName }),
    description: `${hit.kind.replace(/_/g, ' ')} · #${hit.seq} · ${formatAge(hit.time, now)}`,
    detail: oneLine(hit.snippet, MAX_SNIPPET),
    hit,
  }));
}
