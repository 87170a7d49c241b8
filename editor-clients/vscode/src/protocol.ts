/**
 * Wire types of the Session Sidecar protocol (camelCase JSON), mirrored from
 * the server's pydantic models. Pure types: no VS Code import, so the pure
 * modules that use them run under `node --test`.
 */
import type { DecisionOption } from './protocol.generated';

export type { DecisionOption };

export type SessionStatus = 'active' | 'idle' | 'ended' | 'archived';
export type Scope = 'branch' | 'worktree' | 'repository' | 'all';
export type DriftAction = 'continue' | 'resume' | 'fork' | 'fresh';
export type PromptMode = 'native' | 'custom' | 'off';

export interface Boundary {
  repository: string;
  worktree: string;
  branch: string;
  requester: string;
  machine: string;
  task?: string | null;
  phase?: string | null;
  provider?: string | null;
}

export interface Session {
  id: string;
  name: string;
  description?: string;
  status: SessionStatus;
  boundary: Boundary;
  createdAt: string;
  updatedAt: string;
  lastEventAt?: string | null;
  eventCount: number;
  lastPrompt?: string | null;
  parentId?: string | null;
  forkedAtSeq?: number | null;
  pinned?: boolean;
  tags?: string[];
  holder?: string | null;
}

export interface Checkpoint {
  id: string;
  sessionId: string;
  name: string;
  seq: number;
  headSha?: string | null;
  snapshotSha?: string | null;
  createdAt: string;
}

export interface Reason {
  code: string;
  severity: string;
  message: string;
  evidence?: Record<string, unknown>;
}

export interface Recommendation {
  action: DriftAction;
  targetSessionId?: string | null;
  reasons: Reason[];
  summary: string;
  ask: boolean;
  deferred: boolean;
  /** Why the decision comes up, in one sentence (server-made). */
  headline?: string;
  /** The decision in words, naming sessions and branches (server-made). */
  question?: string;
  /** The answers to offer, recommended first (server-made: `sidecar/core/decisions.py`). */
  choices?: DecisionOption[];
}

export interface WorkspaceStatus {
  folder: string;
  boundary: Boundary | null;
  activeSession: Session | null;
  pendingRecommendation: Recommendation | null;
  watcherMode?: string;
}

export interface StatusResult extends WorkspaceStatus {
  version: string;
  dbPath: string;
  gitOperation?: string | null;
  workspaces?: WorkspaceStatus[];
}

export interface SessionPage {
  items: Session[];
  nextCursor: string | null;
}

export interface ShowResult {
  session: Session;
  footprint: { path: string; weight: number; lastSeq: number }[];
  checkpoints: Checkpoint[];
  lineage: Session[];
  children: Session[];
  annotations: { id: string; seq?: number | null; code: string; text: string }[];
}

export interface ResumeResult {
  session: Session;
  resumed: boolean;
  warning: { code: string; message: string } | null;
}

export interface DriftDetectedParams {
  folder: string;
  recommendation: Recommendation;
  before: Boundary | null;
  after: Boundary;
}

export interface SessionChangedParams {
  folder: string;
  session: Session | null;
  reason: string;
}

export interface HistoryChangedParams {
  sessionId: string;
  lastSeq: number;
}
