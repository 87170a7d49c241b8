/** Builders of protocol objects for the unit tests. */
import type { Session, StatusResult } from '../../src/protocol';
import type { DisplayBlock, SearchHit } from '../../src/protocol.generated';

export function session(overrides: Partial<Session> & { branch?: string } = {}): Session {
  const { branch, ...rest } = overrides;
  return {
    id: '01JABCDEFGHJKMNPQRSTVWXYZ0',
    name: 'fix login',
    status: 'active',
    boundary: {
      repository: 'github.com/acme/app',
      worktree: '/src/app',
      branch: branch ?? 'main',
      requester: 'dev@example.com',
      machine: 'box',
    },
    createdAt: '2025-01-01T10:00:00Z',
    updatedAt: '2025-01-01T10:00:00Z',
    lastEventAt: null,
    eventCount: 0,
    ...rest,
  };
}

export function status(overrides: Partial<StatusResult> = {}): StatusResult {
  const active = session({ name: 'add search', eventCount: 3 });
  return {
    version: '0.1.0',
    dbPath: '/tmp/db.sqlite',
    folder: '/src/app',
    boundary: active.boundary,
    activeSession: active,
    pendingRecommendation: null,
    watcherMode: 'native',
    ...overrides,
  };
}

export function block(overrides: Partial<DisplayBlock> = {}): DisplayBlock {
  const seq = overrides.seq ?? 1;
  return {
    kind: 'note',
    seq,
    seqs: [seq],
    time: '2025-01-01T10:00:00Z',
    actor: 'agent',
    title: 'note',
    markdown: `**note** · #${seq}`,
    ...overrides,
  };
}

export function hit(overrides: Partial<SearchHit> = {}): SearchHit {
  return {
    sessionId: '01jgz8k9m2x4v6b8n0q2r4t6w8',
    sessionName: 'Add login form',
    seq: 4,
    kind: 'prompt',
    time: '2025-01-03T10:00:00Z',
    snippet: 'Add a [login] form with email and password',
    ...overrides,
  };
}
