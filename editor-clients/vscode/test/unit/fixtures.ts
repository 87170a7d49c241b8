/** Builders of protocol objects for the unit tests. */
import type { Session, SidecarEvent, StatusResult } from '../../src/protocol';

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

export function event(overrides: Partial<SidecarEvent> = {}): SidecarEvent {
  return {
    sessionId: 's1',
    seq: 1,
    time: '2025-01-01T10:00:00Z',
    kind: 'prompt',
    actor: 'user',
    payload: {},
    ...overrides,
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
