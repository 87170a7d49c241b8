import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { choicesOf, decideParams, pendingWorkspace, promptDecision, questionOf, withoutIds } from '../../src/driftChoices';
import type { DecisionOption, Recommendation, StatusResult, WorkspaceStatus } from '../../src/protocol';

const TARGET_ID = '01jgz8k9m2x4v6b8n0q2r4t6w8';

const resume: DecisionOption = {
  key: 'resume',
  action: 'resume',
  sessionId: TARGET_ID,
  title: 'Resume "Add login form"',
  button: 'Resume',
  label: 'Resume "Add login form" on feature/login',
  detail: 'Back to its history (active 2 hours ago)',
  recommended: true,
};
const fresh: DecisionOption = { key: 'fresh', action: 'fresh', title: 'Start fresh', button: 'Fresh', label: 'Start a fresh session on feature/login' };
const remember: DecisionOption = {
  key: 'remember',
  action: 'continue',
  remember: true,
  title: "Don't ask again for this branch",
  button: "Don't ask",
  label: "Continue and don't ask again on feature/login",
};

const switched: Recommendation = {
  action: 'resume',
  targetSessionId: TARGET_ID,
  reasons: [],
  summary: `Resume session 'Add login form': the branch changed from 'main' to 'feature/login'.`,
  ask: true,
  deferred: false,
  question: 'You switched from main to feature/login. Resume "Add login form" (feature/login, active 2 hours ago) or start fresh on feature/login?',
  choices: [resume, fresh],
};

function folder(uri: string, rec: Recommendation | null): WorkspaceStatus {
  return { folder: uri, boundary: null, activeSession: null, pendingRecommendation: rec };
}

function status(...all: WorkspaceStatus[]): StatusResult {
  return { ...all[0], version: '0', dbPath: 'db', workspaces: all };
}

describe('the server-made decision', () => {
  it('shows the question, else the summary', () => {
    assert.equal(questionOf(switched), switched.question);
    assert.equal(questionOf({ ...switched, question: '' }), switched.summary);
  });
  it('offers the choices as the server ordered them', () => {
    assert.deepEqual(choicesOf(switched).map((c) => c.button), ['Resume', 'Fresh']);
    assert.deepEqual(choicesOf({ ...switched, choices: undefined }), []);
  });
  it('answers with the choice own decide params', () => {
    assert.deepEqual(decideParams(resume, 'file:///r'), { action: 'resume', sessionId: TARGET_ID, folder: 'file:///r' });
    assert.deepEqual(decideParams(fresh, 'file:///r'), { action: 'fresh', folder: 'file:///r' });
    assert.deepEqual(decideParams(remember, 'file:///r'), { action: 'continue', remember: true, folder: 'file:///r' });
  });
});

describe('which decision a prompt stands for', () => {
  const other: Recommendation = { ...switched, question: 'Another folder.', choices: [fresh] };
  const st = status(folder('file:///a', other), folder('file:///b', switched));
  it('is the pending one with exactly the prompt titles', () => {
    assert.equal(promptDecision(st, switched.question ?? '', ['Resume "Add login form"', 'Start fresh'])?.folder, 'file:///b');
    assert.equal(promptDecision(st, 'Another folder.', ['Start fresh'])?.folder, 'file:///a');
  });
  it('is none for a prompt that is not a drift decision', () => {
    assert.equal(promptDecision(st, 'Install?', ['Install', 'Cancel']), undefined);
    assert.equal(promptDecision(null, 'x', ['Start fresh']), undefined);
  });
  it('prefers the folder the message names, skipping deferred ones', () => {
    assert.equal(pendingWorkspace(st, switched.question)?.folder, 'file:///b');
    assert.equal(pendingWorkspace(st)?.folder, 'file:///a');
    const deferred = status(folder('file:///a', { ...other, deferred: true }), folder('file:///b', switched));
    assert.equal(pendingWorkspace(deferred)?.folder, 'file:///b');
  });
});

describe('withoutIds', () => {
  it('drops parenthesised and bare session ids', () => {
    assert.equal(withoutIds(`Resume session 'a' (${TARGET_ID}): why.`), "Resume session 'a': why.");
    assert.equal(withoutIds(`Session ${TARGET_ID} is ended.`), 'Session is ended.');
    assert.equal(withoutIds('HEAD is now on main.'), 'HEAD is now on main.');
  });
});
