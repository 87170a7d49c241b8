/*
 * Drives a real VS Code workbench (code-server) in headless Chromium through
 * the drift scenario and prints one JSON line with what it saw.
 *
 * Run by tests/vscode/test_vscode_e2e.py; configured through the environment:
 *   E2E_URL        code-server base URL
 *   E2E_WORKSPACE  folder to open (a git repository on branch main)
 *   E2E_ARTIFACTS  folder for screenshots
 *   E2E_CHROMIUM   Chromium executable
 *   E2E_SCENARIO   "drift" (default), "commands", "missing-server", "first-start", "started",
 *                  "lifecycle", "decision", "history" or "session-view"
 *   E2E_HISTORY    JSON of the seeded history (tests/vscode/history.py), for
 *                  "decision" and "history"
 *   E2E_APPEND     for "history": a command (JSON argv) that appends a prompt
 *                  while the workbench runs
 *   E2E_TIMEOUT_MS timeout of each wait (default 60000)
 * playwright-core is resolved from NODE_PATH (the extension's node_modules).
 */
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const { chromium } = require('playwright-core');

const url = process.env.E2E_URL;
const workspace = process.env.E2E_WORKSPACE;
const artifacts = process.env.E2E_ARTIFACTS;
const timeout = Number(process.env.E2E_TIMEOUT_MS || 60000);
const steps = [];

function step(name) {
  steps.push({ name, ms: Date.now() - started });
  process.stderr.write(`[e2e ${Date.now() - started} ms] ${name}\n`);
}
const started = Date.now();

/** Rows of the Sessions tree as {level, label, description}, in screen order. */
async function treeRows(page) {
  return page.$$eval('#workbench\\.parts\\.sidebar .monaco-list-row', (rows) =>
    rows.map((row) => ({
      level: Number(row.getAttribute('aria-level') || 0),
      label: (row.querySelector('.label-name')?.textContent || '').trim(),
      description: (row.querySelector('.label-description')?.textContent || '').trim(),
    })),
  );
}

/** Poll `fn` until it returns a truthy value or the timeout passes. */
async function until(what, fn, page) {
  const deadline = Date.now() + timeout;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await page.waitForTimeout(200);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}; last rows: ${JSON.stringify(await treeRows(page))}`);
}

/** Sessions listed under `branch` (level-2 rows after its level-1 row). */
function sessionsUnder(rows, branch) {
  const start = rows.findIndex((r) => r.level === 1 && r.label === branch);
  if (start < 0) return [];
  const out = [];
  for (const row of rows.slice(start + 1)) {
    if (row.level <= 1) break;
    if (row.level === 2) out.push(row);
  }
  return out;
}

async function statusText(page) {
  const item = page.locator('#workbench\\.parts\\.statusbar [id$="sessionSidecar.status"]');
  if ((await item.count()) === 0) return '';
  return (await item.first().innerText()).replace(/\s+/g, ' ').trim();
}

async function driftScenario(page, result) {
  await attached(page, result);

  execFileSync('git', ['-C', workspace, 'switch', '--quiet', '-c', 'feature'], { stdio: 'inherit' });
  step('switched to feature');

  const toast = await driftToast(page, result);
  step(`drift prompt: ${JSON.stringify(result.promptButtons)}`);
  await page.screenshot({ path: path.join(artifacts, '02-drift-prompt.png') });

  await button(toast, 'Fresh').click({ timeout });
  step('clicked Fresh');

  // The drift marker shows until the decision lands; then a new session is named.
  await until(
    'the status bar to name a new session on feature',
    async () => {
      const text = await statusText(page);
      return text.startsWith('feature · ') && !text.endsWith(' drift') && text !== `feature · ${result.initialSession}`;
    },
    page,
  );
  result.finalStatus = await statusText(page);
  const name = result.finalStatus.replace(/^feature · /, '').trim();
  result.finalStatusSession = name;
  const fresh = await until(
    `session "${name}" under feature`,
    async () => sessionsUnder(await treeRows(page), 'feature').find((r) => r.label === name),
    page,
  );
  result.freshSession = fresh;
  result.rows = await treeRows(page);
  step('fresh session listed under feature');
  // Let the toast fade so the screenshot shows the tree and the status bar.
  await page.locator('.notification-toast').first().waitFor({ state: 'hidden', timeout: 15000 }).catch(() => {});
  await page.screenshot({ path: path.join(artifacts, '03-fresh-session.png') });
}

/** The notification button whose text is exactly `text`. */
function button(toast, text) {
  return toast.locator('.monaco-button', { hasText: new RegExp(`^\\s*${text}\\s*$`) });
}

/**
 * Wait for the drift notification (it always offers Fresh), fully shown; record
 * its message, its buttons and whether each button's text fits (no ellipsis).
 */
async function driftToast(page, result) {
  const toast = page.locator('.notification-toast').filter({ has: button(page, 'Fresh') }).first();
  await toast.waitFor({ timeout });
  // The toast fades in; measure and capture it once fully shown.
  await page
    .waitForFunction(() => [...document.querySelectorAll('.notification-toast')].some((t) => getComputedStyle(t).opacity === '1'), null, { timeout: 5000 })
    .catch(() => {});
  result.promptMessage = (await toast.locator('.notification-list-item-message').innerText()).trim();
  result.promptButtons = (await toast.locator('.monaco-button').allInnerTexts()).map((t) => t.trim());
  result.promptCount = await page.locator('.notification-toast').filter({ has: button(page, 'Fresh') }).count();
  result.buttonsFit = await toast.locator('.monaco-button').evaluateAll((buttons) => buttons.map(fits));
  // The check itself, planted: a label far too long for its button must read as cut.
  result.longLabelCaught = await toast.locator('.monaco-button').first().evaluate((b) => {
    const saved = b.innerHTML;
    b.textContent = 'Resume "A session name long enough to be cut by any notification"';
    const cut = !fits(b);
    b.innerHTML = saved;
    return cut;
  });
  return toast;
}

/** The session the server attached on startup is listed under main and named in the status bar. */
async function attached(page, result) {
  const first = await until('a session under main', async () => sessionsUnder(await treeRows(page), 'main')[0], page);
  result.initialSession = first.label;
  await until('the status bar to show main', async () => (await statusText(page)).startsWith('main ·'), page);
  result.initialStatus = await statusText(page);
  step(`session "${first.label}" listed under main`);
  await page.screenshot({ path: path.join(artifacts, '01-attached.png') });
}

/** Drag the sidebar's edge so session names and descriptions fit in screenshots. */
async function widenSidebar(page) {
  const box = await page.locator('#workbench\\.parts\\.sidebar').boundingBox();
  if (!box) return;
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width + 1, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width + 200, y, { steps: 5 });
  await page.mouse.up();
}

/** Run a command from the command palette by its title. */
async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first().waitFor({ timeout });
  await input.press('Enter');
}

/**
 * Type into the open input box (or pick the row whose label matches) and
 * accept; then wait for the widget to close, or for the next input titled
 * `next` (a command asking two questions keeps the widget open).
 */
async function answer(page, text, { pick = false, next } = {}) {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout });
  await input.fill(text);
  if (pick) {
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: text }).first().waitFor({ timeout });
  }
  await input.press('Enter');
  if (next) {
    await page.locator('.quick-input-widget .quick-input-title', { hasText: next }).waitFor({ timeout });
  } else {
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout });
  }
}

/**
 * Commands without drift: start a named session from the palette, see it in
 * the tree and the status bar, read its transcript, rename it, delete the old one.
 */
async function commandsScenario(page, result) {
  await attached(page, result);

  await runCommand(page, 'Sessions: Start Fresh Session');
  await answer(page, 'e2e fresh');
  await until('the status bar to name "e2e fresh"', async () => (await statusText(page)) === 'main · e2e fresh', page);
  const fresh = await until(
    'e2e fresh under main',
    async () => sessionsUnder(await treeRows(page), 'main').find((r) => r.label === 'e2e fresh'),
    page,
  );
  result.freshSession = fresh;
  result.freshStatus = await statusText(page);
  step('started "e2e fresh"');

  await runCommand(page, 'Sessions: Show Transcript');
  await answer(page, 'e2e fresh', { pick: true });
  const editor = page.locator('.editor-instance .view-lines');
  // Monaco renders spaces as no-break spaces.
  const editorText = async () => ((await editor.count()) ? (await editor.first().innerText()).replace(/\u00a0/g, ' ') : '');
  await until('the transcript', async () => (await editorText()).includes('# e2e fresh'), page);
  result.transcript = await editorText();
  result.transcriptTab = (await page.locator('.tabs-container .tab.active').first().innerText()).trim();
  step('transcript shown');
  await shot(page, '02-transcript.png');

  await runCommand(page, 'Sessions: Rename Session');
  await answer(page, 'e2e fresh', { pick: true, next: 'Rename session' });
  await answer(page, 'e2e renamed');
  await until('the renamed session', async () => (await statusText(page)) === 'main · e2e renamed', page);
  step('renamed');

  await runCommand(page, 'Sessions: Create Checkpoint');
  await answer(page, 'e2e checkpoint');
  // Expand by the twistie: a click on the row runs its command (open the
  // transcript), whose editor takes the focus whenever the server answers and
  // would close the next quick pick.
  await page
    .locator('#workbench\\.parts\\.sidebar .monaco-list-row[aria-level="2"]', { hasText: 'e2e renamed' })
    .locator('.monaco-tl-twistie')
    .click();
  const child = await until(
    'the checkpoint under the session',
    async () => (await treeRows(page)).find((r) => r.level === 3 && r.label === 'checkpoint: e2e checkpoint'),
    page,
  );
  result.checkpointRow = child;
  result.sessionChildren = (await treeRows(page)).filter((r) => r.level === 3);
  step('checkpoint listed');

  await runCommand(page, 'Sessions: Delete Session');
  await answer(page, result.initialSession, { pick: true });
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout });
  result.deleteDialog = (await dialog.innerText()).replace(/\s+/g, ' ').trim();
  await dialog.locator('.monaco-button', { hasText: 'Delete' }).click({ timeout });
  await until(
    'the deleted session to leave the tree',
    async () => {
      const labels = sessionsUnder(await treeRows(page), 'main').map((r) => r.label);
      return labels.includes('e2e renamed') && !labels.includes(result.initialSession);
    },
    page,
  );
  result.rows = await treeRows(page);
  step('deleted the first session');
  await page.screenshot({ path: path.join(artifacts, '03-after-delete.png') });
}

/**
 * No server anywhere (no Python 3.11+ for the bundled one): the error names what
 * was tried and what to install, and its button opens the serverCommand setting.
 */
async function missingServerScenario(page, result) {
  const toast = page.locator('.notification-toast').filter({ hasText: /no server found|no Python 3\.11/ });
  await toast.first().waitFor({ timeout });
  result.errorMessage = (await toast.first().locator('.notification-list-item-message').innerText()).trim();
  result.errorButtons = (await toast.first().locator('.monaco-button').allInnerTexts()).map((t) => t.trim());
  result.status = await statusText(page);
  await page.screenshot({ path: path.join(artifacts, '01-missing-server.png') });
  step('missing-server error shown');
  await toast.first().locator('.monaco-button', { hasText: 'Open Settings' }).click({ timeout });
  const setting = page.locator('.settings-editor .setting-item-contents', { hasText: 'Server Command' });
  await setting.first().waitFor({ timeout });
  result.settingShown = (await setting.first().innerText()).replace(/\s+/g, ' ').trim();
  await page.screenshot({ path: path.join(artifacts, '02-setting.png') });
  step('setting opened');
}

/**
 * First start with only the .vsix installed: a progress notification while the
 * bundled server is installed, then the server runs (the status bar names the branch).
 */
async function firstStartScenario(page, result) {
  const progress = page.locator('.notification-toast').filter({ hasText: 'setting up the server' }).first();
  await progress.waitFor({ timeout });
  result.progress = (await progress.innerText()).replace(/\s+/g, ' ').trim();
  result.progressFits = await progress.locator('.notification-list-item-message').evaluate((el) => window.fits(el));
  step(`progress shown: ${result.progress}`);
  await page.screenshot({ path: path.join(artifacts, '01-installing.png') });
  await progress.waitFor({ state: 'hidden', timeout });
  await serverRunning(page, result);
}

/** The server runs: the status bar names the branch. */
async function serverRunning(page, result) {
  await until('the status bar to show main', async () => (await statusText(page)).startsWith('main ·'), page);
  result.status = await statusText(page);
  step(`server running: ${result.status}`);
  await page.screenshot({ path: path.join(artifacts, '02-running.png') });
}

/** Open the context menu of the session row labelled `label` and run its `action`. */
async function contextAction(page, label, action) {
  const row = page.locator('#workbench\\.parts\\.sidebar .monaco-list-row[aria-level="2"]', { hasText: label }).first();
  await row.click({ button: 'right', timeout });
  // The workbench renders context menus in a shadow root; locators pierce it.
  const item = page.locator('.context-view .action-item', { hasText: action }).first();
  await item.waitFor({ timeout });
  // A synthetic click right after the menu opens is ignored; hovering focuses
  // the item and Enter runs it, as a keyboard user would.
  await item.hover({ timeout });
  await page.locator('.context-view .action-item.focused', { hasText: action }).waitFor({ timeout });
  await page.keyboard.press('Enter');
}

/**
 * Fork from the tree's context menu, resume the first session from the
 * palette, export the fork to Markdown, then (prompts = "custom") switch
 * branch and answer the extension's own drift notification.
 */
async function lifecycleScenario(page, result) {
  await attached(page, result);

  await contextAction(page, result.initialSession, 'Fork Session');
  await answer(page, 'e2e fork');
  await until('the status bar to name "e2e fork"', async () => (await statusText(page)) === 'main · e2e fork', page);
  result.fork = await until(
    'e2e fork under main',
    async () => sessionsUnder(await treeRows(page), 'main').find((r) => r.label === 'e2e fork' && r.description.includes('current')),
    page,
  );
  result.forkStatus = await statusText(page);
  result.rowsAfterFork = await treeRows(page);
  step('forked from the context menu');

  await runCommand(page, 'Sessions: Resume Session');
  await answer(page, result.initialSession, { pick: true });
  await until('the status bar to name the first session again', async () => (await statusText(page)) === `main · ${result.initialSession}`, page);
  result.resumeStatus = await statusText(page);
  result.resumed = await until(
    'the first session marked current',
    async () => sessionsUnder(await treeRows(page), 'main').find((r) => r.label === result.initialSession && r.description.includes('current')),
    page,
  );
  step('resumed the first session from the palette');

  await runCommand(page, 'Sessions: Export Session');
  const input = page.locator('.quick-input-widget input');
  // Three questions in a row (session, format, file): the widget may stay open between them.
  await input.waitFor({ timeout });
  await input.fill('e2e fork');
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'e2e fork' }).first().waitFor({ timeout });
  await input.press('Enter');
  // The format quick pick, then the save dialog (the simple, quick-input one in the browser).
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'markdown' }).first().waitFor({ timeout });
  await input.fill('markdown');
  await input.press('Enter');
  await until('the save dialog with the default file name', async () => /session-.*\.md$/.test(await input.inputValue().catch(() => '')), page);
  result.savePath = await input.inputValue();
  await input.press('Enter');
  const toast = page.locator('.notification-toast').filter({ hasText: 'Exported to' });
  await toast.first().waitFor({ timeout });
  result.exportMessage = (await toast.first().locator('.notification-list-item-message').innerText()).trim();
  await toast.first().locator('.monaco-button', { hasText: 'Open' }).click({ timeout });
  const editor = page.locator('.editor-instance .view-lines');
  const editorText = async () => ((await editor.count()) ? (await editor.first().innerText()).replace(/\u00a0/g, ' ') : '');
  await until('the exported document', async () => (await editorText()).includes('# e2e fork'), page);
  result.exportTab = (await page.locator('.tabs-container .tab.active').first().innerText()).trim();
  result.exportEditor = await editorText();
  step('exported the fork to Markdown');
  await page.screenshot({ path: path.join(artifacts, '02-exported.png') });

  execFileSync('git', ['-C', workspace, 'switch', '--quiet', '-c', 'other'], { stdio: 'inherit' });
  step('switched to other');
  const prompt = await driftToast(page, result);
  step(`custom drift prompt: ${JSON.stringify(result.promptButtons)}`);
  await page.screenshot({ path: path.join(artifacts, '03-custom-prompt.png') });
  await button(prompt, 'Fresh').click({ timeout });
  await until(
    'the status bar to name a new session on other',
    async () => {
      const text = await statusText(page);
      return text.startsWith('other · ') && !text.endsWith(' drift') && text !== `other · ${result.initialSession}`;
    },
    page,
  );
  result.finalStatus = await statusText(page);
  const name = result.finalStatus.replace(/^other · /, '').trim();
  result.finalStatusSession = name;
  result.freshSession = await until(
    `session "${name}" under other`,
    async () => sessionsUnder(await treeRows(page), 'other').find((r) => r.label === name),
    page,
  );
  result.rows = await treeRows(page);
  step('fresh session listed under other');
  await page.screenshot({ path: path.join(artifacts, '04-fresh-on-other.png') });
}

const STATUS_ITEM = '#workbench\\.parts\\.statusbar [id$="sessionSidecar.status"]';
const QUICK_ROWS = '.quick-input-widget .monaco-list-row';

/** The rows of the open quick pick: label, description, detail. */
async function quickRows(page) {
  return page.$$eval(QUICK_ROWS, (rows) =>
    rows.map((row) => ({
      label: (row.querySelector('.quick-input-list-label .label-name')?.textContent || '').trim(),
      description: (row.querySelector('.quick-input-list-label .label-description')?.textContent || '').trim(),
      detail: (row.querySelector('.quick-input-list-label-meta .label-name')?.textContent || '').trim(),
    })),
  );
}

/** A screenshot without hover effects: the mouse rests on the empty editor area first. */
async function shot(page, name) {
  await page.mouse.move(700, 320);
  await page.screenshot({ path: path.join(artifacts, name) });
}

/** The seeded history, as tests/vscode/history.py wrote it. */
function seededHistory() {
  return JSON.parse(process.env.E2E_HISTORY || '{}');
}

/**
 * The four-choice decision with a realistic history: switch to feature/login,
 * where "Add login form" was active two hours ago; read the notification; close
 * it unanswered; answer from the status bar item instead.
 */
async function decisionScenario(page, result) {
  const history = seededHistory();
  await attached(page, result);

  execFileSync('git', ['-C', workspace, 'switch', '--quiet', 'feature/login'], { stdio: 'inherit' });
  step('switched to feature/login');
  const toast = await driftToast(page, result);
  step(`decision: ${JSON.stringify(result.promptButtons)}`);
  await shot(page, '02-decision-prompt.png');

  // Closed unanswered, as a missed or dismissed notification is: the decision stays pending.
  await runCommand(page, 'Notifications: Clear All Notifications');
  await toast.waitFor({ state: 'hidden', timeout });
  await until('the status bar to still show the pending drift', async () => (await statusText(page)).endsWith(' drift'), page);
  result.statusAfterClose = await statusText(page);
  step('notification closed; the decision is pending');

  await page.locator(STATUS_ITEM).first().click({ timeout });
  await page.locator(QUICK_ROWS).first().waitFor({ timeout });
  result.pickTitle = (await page.locator('.quick-input-widget .quick-input-title').first().innerText()).trim();
  result.pickRows = await quickRows(page);
  step(`status item offers ${JSON.stringify(result.pickRows.map((r) => r.label))}`);
  await shot(page, '03-decision-pick.png');
  // The recommended choice is first, and active.
  await page.locator('.quick-input-widget input').press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout });

  const resumed = `feature/login · ${history.login.name}`;
  await until(`the status bar to read "${resumed}"`, async () => (await statusText(page)) === resumed, page);
  result.finalStatus = await statusText(page);
  result.resumed = await until(
    `${history.login.name} current under feature/login`,
    async () => sessionsUnder(await treeRows(page), 'feature/login').find((r) => r.label === history.login.name && r.description.includes('current')),
    page,
  );
  step('resumed from the status bar');
  // Its events under it, for the picture of the view.
  await page
    .locator('#workbench\\.parts\\.sidebar .monaco-list-row[aria-level="2"]', { hasText: history.login.name })
    .first()
    .locator('.monaco-tl-twistie')
    .click();
  await until('the events of the resumed session', async () => (await treeRows(page)).some((r) => r.level === 3), page);
  result.rows = await treeRows(page);
  await shot(page, '04-resumed.png');
}

/**
 * Reading the history: a click on the failed test run of "Fix flaky pytest
 * run" opens its session view there (the failure, the diff that fixed it);
 * then a prompt appended while the workbench runs is found by the search in
 * the view's title bar and opened at its place.
 */
async function historyScenario(page, result) {
  const history = seededHistory();
  const flaky = history.flaky;
  await attached(page, result);

  await page
    .locator('#workbench\\.parts\\.sidebar .monaco-list-row[aria-level="2"]', { hasText: flaky.name })
    .first()
    .locator('.monaco-tl-twistie')
    .click({ timeout });
  const failed = page
    .locator('#workbench\\.parts\\.sidebar .monaco-list-row[aria-level="3"]')
    .filter({ has: page.locator('.label-description', { hasText: new RegExp(`(^| )#${flaky.seqs.failed} ·`) }) })
    .first();
  await failed.waitFor({ timeout });
  result.failedRow = (await failed.innerText()).replace(/\s+/g, ' ').trim();
  await failed.click({ timeout });
  const frame = await sessionViewFrame(page, flaky.name);
  await until('the failed run highlighted', async () => (await sessionViewDom(frame)).highlighted === `event-${flaky.seqs.failed}`, page);
  result.view = await sessionViewDom(frame);
  step(`session view opened at ${result.view.highlighted}`);
  await shot(page, '02-session-view.png');

  const append = JSON.parse(process.env.E2E_APPEND);
  result.appended = execFileSync(append[0], append.slice(1), { encoding: 'utf8' }).trim();
  step('appended a prompt');

  await page.locator('#workbench\\.parts\\.sidebar .action-label[aria-label^="Search History"]').first().click({ timeout });
  // The picker opens under the mouse: away from its input, or its hover covers the title.
  await page.mouse.move(700, 320);
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout });
  // Typed key by key, as a person types: the search runs once the typing pauses.
  await input.pressSequentially('zebra', { delay: 60 });
  await page.locator(QUICK_ROWS, { hasText: '[zebra]' }).first().waitFor({ timeout });
  result.searchTitle = (await page.locator('.quick-input-widget .quick-input-title').first().innerText()).trim();
  result.searchRows = await quickRows(page);
  step(`search rows ${JSON.stringify(result.searchRows)}`);
  await shot(page, '03-search.png');
  await input.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout });
  // The hit is newer than the open view: it reloads, then shows the hit highlighted.
  result.hitView = await until(
    'the session view at the hit',
    async () => {
      for (const f of page.frames()) {
        const dom = await sessionViewDom(f).catch(() => null);
        if (dom && dom.title === flaky.name && dom.highlightedText.includes('zebra')) return dom;
      }
      return null;
    },
    page,
  );
  step(`search hit opened at ${result.hitView.highlighted}`);
  await shot(page, '04-search-hit.png');

  // Nothing found says so, and offers the wider scope.
  await page.locator('#workbench\\.parts\\.sidebar .action-label[aria-label^="Search History"]').first().click({ timeout });
  await input.waitFor({ timeout });
  await input.pressSequentially('quetzalcoatl', { delay: 20 });
  await page.locator(QUICK_ROWS, { hasText: 'No matches' }).first().waitFor({ timeout });
  result.emptySearchRows = await quickRows(page);
  await input.press('Escape');
}

/** The frame of the open session view (webviews are nested iframes), once its page is there. */
async function sessionViewFrame(page, name) {
  return until(
    `the session view of "${name}"`,
    async () => {
      for (const frame of page.frames()) {
        const title = await frame
          .$eval('#session-view[data-ready] header.session h1', (h) => h.textContent.trim())
          .catch(() => null);
        if (title === name) return frame;
      }
      return null;
    },
    page,
  );
}

/** What the session view shows: its header, its blocks by kind, the highlighted block and whether it is on screen. */
async function sessionViewDom(frame) {
  return frame.evaluate(() => {
    const text = (el) => (el ? el.textContent.replace(/\s+/g, ' ').trim() : '');
    const highlighted = document.querySelector('article.block.highlight');
    const box = highlighted ? highlighted.getBoundingClientRect() : null;
    return {
      title: text(document.querySelector('header.session h1')),
      facts: text(document.querySelector('header.session .facts')),
      lineage: text(document.querySelector('header.session .lineage')),
      forkIcons: document.querySelectorAll('header.session svg.fork').length,
      days: [...document.querySelectorAll('h2.day')].map(text),
      userTurns: [...document.querySelectorAll('article.turn.user .markdown')].map(text),
      agentTurns: [...document.querySelectorAll('article.turn.agent .markdown')].map(text),
      tools: [...document.querySelectorAll('article.tool, article.command')].map((a) => ({
        id: a.id,
        title: text(a.querySelector('.title')),
        mark: text(a.querySelector('.mark')),
        failed: a.classList.contains('failed'),
        outputOpen: Boolean(a.querySelector('details.output[open]')),
        // Diff lines as they are (their indentation matters).
        added: [...a.querySelectorAll('pre.diff .add')].map((e) => e.textContent),
        removed: [...a.querySelectorAll('pre.diff .del')].map((e) => e.textContent),
        actions: [...a.querySelectorAll('button.action')].map(text),
      })),
      checkpoints: [...document.querySelectorAll('article.checkpoint')].map((a) => ({
        id: a.id,
        title: text(a.querySelector('.title')),
        actions: [...a.querySelectorAll('button.action')].map(text),
      })),
      highlighted: highlighted ? highlighted.id : null,
      highlightedText: text(highlighted),
      highlightedOnScreen: Boolean(box && box.top >= 0 && box.bottom <= window.innerHeight),
      // Ours, and what the webview host adds to every page (its API bridge).
      scripts: [...document.scripts].map((e) => e.getAttribute('src') || '(inline)'),
      csp: document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') || '',
      // URLs that leave the webview: anything on the web but the extension's own files
      // (served as https://file+.vscode-resource.vscode-cdn.net/..., answered locally).
      remote: [...document.querySelectorAll('[src],[href]')]
        .map((e) => e.getAttribute('src') || e.getAttribute('href'))
        .filter((u) => /^https?:/.test(u || '') && !/^https:\/\/[^/]*vscode-resource/.test(u)),
    };
  });
}

/** The active editor tab's title and whether a diff editor is showing. */
async function activeDiff(page) {
  const tab = page.locator('.tabs-container .tab.active').first();
  const title = (await tab.count()) ? (await tab.innerText()).replace(/\s+/g, ' ').trim() : '';
  const diff = await page.locator('.editor-instance .monaco-diff-editor').count();
  return { title, diff: diff > 0 };
}

/** The text of the diff editor's two sides, once they are rendered and the right one shows `expected`. */
async function diffSides(page, expected) {
  return until(
    `the diff editor's sides to show ${expected}`,
    async () => {
      const sides = await page.$$eval('.editor-instance .monaco-diff-editor .view-lines', (els) =>
        els.map((e) => e.innerText.replace(/\u00a0/g, ' ')),
      );
      return sides.length >= 2 && sides[0].trim() && sides[1].includes(expected) ? sides : null;
    },
    page,
  );
}

/**
 * The session view with a realistic history: a click on the failed test run of
 * "Fix flaky pytest run" opens the session's view scrolled to it; the fix's
 * "Open Changes" opens VS Code's diff editor; the checkpoint's "Open Changes"
 * compares it with the working tree; the fork shows its lineage; grouping by date.
 */
async function sessionViewScenario(page, result) {
  const history = seededHistory();
  const flaky = history.flaky;
  await until('the seeded sessions under main', async () => sessionsUnder(await treeRows(page), 'main').some((r) => r.label === flaky.name), page);
  step('seeded sessions listed');

  await page
    .locator('#workbench\\.parts\\.sidebar .monaco-list-row[aria-level="2"]', { hasText: flaky.name })
    .first()
    .locator('.monaco-tl-twistie')
    .click({ timeout });
  const failed = page
    .locator('#workbench\\.parts\\.sidebar .monaco-list-row[aria-level="3"]')
    .filter({ has: page.locator('.label-description', { hasText: new RegExp(`(^| )#${flaky.seqs.failed} ·`) }) })
    .first();
  await failed.waitFor({ timeout });
  await failed.click({ timeout });
  let frame = await sessionViewFrame(page, flaky.name);
  await until('the failed run highlighted', async () => (await sessionViewDom(frame)).highlighted === `event-${flaky.seqs.failed}`, page);
  result.view = await sessionViewDom(frame);
  result.viewTab = (await activeDiff(page)).title;
  step(`session view at #${flaky.seqs.failed}`);
  await shot(page, '01-session-view.png');

  // The fix's Open Changes: VS Code's own diff editor with the edit's before and after.
  await frame.locator(`#event-${flaky.seqs.edit} button.action[data-action="openChanges"]`).click({ timeout });
  await until('the diff editor', async () => (await activeDiff(page)).diff, page);
  result.changeDiff = await activeDiff(page);
  result.changeSides = await diffSides(page, 'h.name');
  step(`diff editor: ${result.changeDiff.title}`);
  await shot(page, '02-open-changes.png');

  // The checkpoint's Open Changes: the file changed since, snapshot left, working file right.
  await page.locator('.tabs-container .tab', { hasText: flaky.name }).first().click({ timeout });
  frame = await sessionViewFrame(page, flaky.name);
  result.checkpointBlock = (await sessionViewDom(frame)).checkpoints;
  await frame.locator('article.checkpoint button.action[data-action="checkpointChanges"]').first().click({ timeout });
  await until('the checkpoint diff', async () => (await activeDiff(page)).title.includes('checkpoint'), page);
  result.checkpointDiff = await activeDiff(page);
  result.checkpointSides = await diffSides(page, 'print(2)');
  step(`checkpoint diff: ${result.checkpointDiff.title}`);
  await shot(page, '03-checkpoint-changes.png');

  // Lineage: the fork under feature/login says where it came from.
  const loginRow = page.locator('#workbench\\.parts\\.sidebar .monaco-list-row[aria-level="1"]', { hasText: 'feature/login' }).first();
  result.forkRow = await until(
    'the fork under feature/login',
    async () => {
      const fork = sessionsUnder(await treeRows(page), 'feature/login').find((r) => r.label === history.oauth.name);
      // A click that lands while the tree reloads (new events) is lost: expand again until it shows.
      if (!fork && (await loginRow.getAttribute('aria-expanded')) === 'false') await loginRow.locator('.monaco-tl-twistie').click({ timeout });
      return fork;
    },
    page,
  );
  result.forkIcon = await page
    .locator('#workbench\\.parts\\.sidebar .monaco-list-row[aria-level="2"]', { hasText: history.oauth.name })
    .first()
    .locator('.codicon-repo-forked')
    .count();
  // The row's inline "Open Session" action, shown while the mouse is over the row.
  const forkRow = page.locator('#workbench\\.parts\\.sidebar .monaco-list-row[aria-level="2"]', { hasText: history.oauth.name }).first();
  await forkRow.hover({ timeout });
  await forkRow.locator('.action-label[aria-label^="Open Session"]').click({ timeout });
  const forkFrame = await sessionViewFrame(page, history.oauth.name);
  result.forkView = await sessionViewDom(forkFrame);
  step('fork lineage shown');
  await shot(page, '04-fork.png');

  // Group by date from the view's title bar, and back.
  await page.locator('#workbench\\.parts\\.sidebar .action-label[aria-label^="Group Sessions by Date"]').first().click({ timeout });
  result.dateGroups = await until(
    'the date groups',
    async () => {
      const labels = (await treeRows(page)).filter((r) => r.level === 1).map((r) => r.label);
      return labels.length && labels.every((l) => ['Today', 'Yesterday', 'This week', 'Older'].includes(l)) ? labels : null;
    },
    page,
  );
  result.dateRows = await treeRows(page);
  step(`grouped by date: ${JSON.stringify(result.dateGroups)}`);
  await shot(page, '05-by-date.png');
  await page.locator('#workbench\\.parts\\.sidebar .action-label[aria-label^="Group Sessions by Branch"]').first().click({ timeout });
  result.branchGroups = await until(
    'the branch groups again',
    async () => {
      const labels = (await treeRows(page)).filter((r) => r.level === 1).map((r) => r.label);
      return labels.includes('main') ? labels : null;
    },
    page,
  );
}

const scenarios = {
  drift: driftScenario,
  commands: commandsScenario,
  'missing-server': missingServerScenario,
  'first-start': firstStartScenario,
  started: serverRunning,
  lifecycle: lifecycleScenario,
  decision: decisionScenario,
  history: historyScenario,
  'session-view': sessionViewScenario,
};
const scenario = process.env.E2E_SCENARIO || 'drift';

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.E2E_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 } });
  // Whether an element's text is shown whole: nothing inside is wider than its box
  // (CSS ellipsis cuts what overflows).
  await page.addInitScript(() => {
    window.fits = (el) => [el, ...el.querySelectorAll('*')].every((e) => e.scrollWidth <= e.clientWidth + 1);
  });
  const result = { steps };
  try {
    await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
    await page.locator('.monaco-workbench').waitFor({ timeout });
    step('workbench loaded');

    await page.locator('#workbench\\.parts\\.activitybar .action-item a[aria-label^="Sessions"]').click({ timeout });
    step('Sessions view opened');
    await widenSidebar(page);

    await scenarios[scenario](page, result);
    result.ok = true;
  } catch (err) {
    result.ok = false;
    result.error = String(err && err.stack ? err.stack : err);
    result.rows = await treeRows(page).catch(() => []);
    result.status = await statusText(page).catch(() => '');
    await page.screenshot({ path: path.join(artifacts, 'failure.png') }).catch(() => {});
  } finally {
    await browser.close();
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exitCode = result.ok ? 0 : 1;
}

main().catch((err) => {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(err && err.stack ? err.stack : err), steps })}\n`);
  process.exitCode = 1;
});
