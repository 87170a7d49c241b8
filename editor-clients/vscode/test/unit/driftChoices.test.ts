import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { choiceKey, driftChoices, driftLead, driftMessage, isDriftPrompt, withoutIds, type DriftFacts } from '../../src/driftChoices';
import type { Recommendation } from '../../src/protocol';

const NOW = new Date('2025-01-03T12:00:00Z');
const TARGET_ID = '01jgz8k9m2x4v6b8n0q2r4t6w8';

const switched: Recommendation = {
  action: 'resume',
  targetSessionId: TARGET_ID,
  reasons: [
    {
      code: 'branch_changed',
      severity: 'strong',
      message: "HEAD is now on 'feature/login'; the session was working on 'main'.",
      evidence: { before: 'main', after: 'feature/login' },
    },
    {
      code: 'resumable_session',
      severity: 'info',
      message: `Session 'Add login form' (${TARGET_ID}) on 'feature/login' was active 2 hours ago and can be resumed.`,
    },
  ],
  summary: `Resume session 'Add login form' (${TARGET_ID}): the branch changed from 'main' to 'feature/login', and it was active 2 hours ago.`,
  ask: true,
  deferred: false,
};

const facts: DriftFacts = {
  rec: switched,
  branch: 'feature/login',
  current: { name: 'Fix flaky tests', branch: 'main' },
  target: { name: 'Add login form', branch: 'feature/login', lastActivity: '2025-01-03T10:00:00Z' },
};

describe('driftChoices', () => {
  it('offers four short buttons, the recommended resume first', () => {
    assert.deepEqual(
      driftChoices(facts, NOW).map((c) => c.button),
      ['Resume', 'Fresh', 'Continue', "Don't ask"],
    );
  });
  it('gives every choice a full title with the names', () => {
    assert.deepEqual(
      driftChoices(facts, NOW).map((c) => c.title),
      [
        'Resume "Add login form" on feature/login',
        'Start a fresh session on feature/login',
        'Continue "Fix flaky tests"',
        "Continue and don't ask again on feature/login",
      ],
    );
  });
  it('answers with the params of sidecar/drift/decide', () => {
    const [resume, fresh, here, never] = driftChoices(facts, NOW);
    assert.deepEqual(resume.decide, { action: 'resume', sessionId: TARGET_ID });
    assert.deepEqual(fresh.decide, { action: 'fresh' });
    assert.deepEqual(here.decide, { action: 'continue' });
    assert.deepEqual(never.decide, { action: 'continue', remember: true });
  });
  it('puts the recommended choice first and marks only it', () => {
    const fresh = driftChoices({ ...facts, rec: { ...switched, action: 'fresh', targetSessionId: null }, target: null }, NOW);
    assert.deepEqual(fresh.map((c) => [c.key, c.recommended]), [
      ['fresh', true],
      ['continue', false],
      ['remember', false],
    ]);
    const cont = driftChoices({ ...facts, rec: { ...switched, action: 'continue', targetSessionId: null } }, NOW);
    assert.equal(cont[0].key, 'continue');
  });
  it('offers neither Continue nor Don\'t ask without a current session', () => {
    assert.deepEqual(driftChoices({ ...facts, current: null }, NOW).map((c) => c.key), ['resume', 'fresh']);
  });
  it('still offers what a native prompt offers when the names are not known', () => {
    const rec: Recommendation = { ...switched, action: 'fresh', targetSessionId: null };
    assert.deepEqual(
      driftChoices({ rec, current: null }, NOW, ['fresh', 'continue', 'remember']).map((c) => c.title),
      ['Start a fresh session', 'Continue the current session', "Continue and don't ask again"],
    );
  });
  it('keeps only what a native prompt offers', () => {
    assert.deepEqual(driftChoices(facts, NOW, ['fresh', 'continue']).map((c) => c.key), ['fresh', 'continue']);
  });
  it('carries no raw id in any text', () => {
    for (const c of driftChoices(facts, NOW)) {
      assert.ok(!`${c.button} ${c.title} ${c.detail}`.includes(TARGET_ID), c.title);
    }
  });
});

describe('driftMessage', () => {
  it('says why, then names what each button stands for', () => {
    const choices = driftChoices(facts, NOW);
    assert.equal(
      driftMessage(facts, choices, NOW),
      'You switched from main to feature/login. Resume "Add login form" (feature/login, active 2h ago), ' +
        'start fresh on feature/login, or continue "Fix flaky tests"?',
    );
  });
  it('falls back to the summary without ids when no reason is given', () => {
    const rec = { ...switched, reasons: [] };
    assert.equal(driftLead(rec), "Resume session 'Add login form': the branch changed from 'main' to 'feature/login', and it was active 2 hours ago.");
  });
  it('uses the strongest reason, never the resumable note', () => {
    const rec: Recommendation = { ...switched, reasons: [switched.reasons[1], { code: 'stale', severity: 'medium', message: 'The session has been idle for 20 hours' }] };
    assert.equal(driftLead(rec), 'The session has been idle for 20 hours.');
  });
});

describe('native prompt titles', () => {
  it('reads the server titles back', () => {
    assert.equal(choiceKey('Resume "Add login form"'), 'resume');
    assert.equal(choiceKey('Start fresh'), 'fresh');
    assert.equal(choiceKey('Continue here'), 'continue');
    assert.equal(choiceKey("Don't ask again for this branch"), 'remember');
    assert.equal(choiceKey('Open Settings'), undefined);
  });
  it('recognises the drift prompt and nothing else', () => {
    assert.ok(isDriftPrompt(['Resume "x"', 'Start fresh', 'Continue here', "Don't ask again for this branch"]));
    assert.ok(isDriftPrompt(['Start fresh']));
    assert.ok(!isDriftPrompt(['Start fresh', 'Cancel']));
    assert.ok(!isDriftPrompt(['OK']));
  });
});

describe('withoutIds', () => {
  it('drops parenthesised and bare session ids', () => {
    assert.equal(withoutIds(`Resume session 'a' (${TARGET_ID}): why.`), "Resume session 'a': why.");
    assert.equal(withoutIds(`Session ${TARGET_ID} is ended.`), 'Session is ended.');
    assert.equal(withoutIds('HEAD is now on main.'), 'HEAD is now on main.');
  });
});
