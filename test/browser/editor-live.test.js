'use strict';
// The example flows as `npm start` deploys them, in a real browser: a click on an inject button
// speaks, and the badges show it live; then the same editor in German (dialogs, badges, help).
// Fails on any browser console error or warning. Saves the pictures the README shows
// (ALLTALK_SCREENSHOTS sets where; `npm run screenshots` puts them in docs/images).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { AllTalkSimulator } = require('../../dist/simulator');
const { exampleFlows, START_SERVER_ID } = require('../../scripts/example-flows');
const { browserAvailable, openEditor } = require('./editor-session');
const act = require('./editor-actions');

const DOORBELL_TAB = 'start-announce-doorbell';
const INJECT = `${DOORBELL_TAB}-1e2f3a4b5c6d7e82`;
const SAY_IT = `${DOORBELL_TAB}-2f3a4b5c6d7e8f93`;
const SPEAK = `${DOORBELL_TAB}-6d7e8f9a0b1c2d37`;

/** The badge text the editor shows under a node. */
function badgeText(page, id) {
  return page.evaluate((nodeId) => {
    const label = document.querySelector(`[id="${nodeId}"] .red-ui-flow-node-status-label`);
    return label ? label.textContent : '';
  }, id);
}

async function waitForBadge(page, id, re) {
  try {
    await page.waitForFunction(({ nodeId, source }) => {
      const label = document.querySelector(`[id="${nodeId}"] .red-ui-flow-node-status-label`);
      return label && new RegExp(source).test(label.textContent);
    }, { nodeId: id, source: re.source }, { timeout: 15000 });
  } catch {
    throw new Error(`the badge of ${id} never matched ${re}: "${await badgeText(page, id)}"`);
  }
  return badgeText(page, id);
}

describe('the example flows deployed, in a real browser (Chromium)', function () {
  this.timeout(120000);
  let sim;
  let piper;
  let flows;
  let shots;

  before(async function () {
    if (!browserAvailable()) return this.skip();
    shots = process.env.ALLTALK_SCREENSHOTS ? path.resolve(process.env.ALLTALK_SCREENSHOTS) : fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-shots-'));
    sim = new AllTalkSimulator({ port: 0, profile: 'xtts', msPerChar: 5, minGenerationMs: 300 });
    await sim.start();
    piper = new AllTalkSimulator({ port: 0, profile: 'piper' });
    await piper.start();
    flows = exampleFlows({ protocol: 'http', host: '127.0.0.1', port: sim.port }, false, '', { protocol: 'http', host: '127.0.0.1', port: piper.port });
  });

  after(async function () {
    if (sim) await sim.stop();
    if (piper) await piper.stop();
  });

  /** An editor on the example flows in `locale`, the doorbell tab in front, its server ready. */
  async function doorbellEditor(locale) {
    const editor = await openEditor({ flows, locale, viewport: { width: 1280, height: 720 } });
    await editor.page.evaluate((tab) => RED.workspaces.show(tab), DOORBELL_TAB);
    return editor;
  }

  it('a click on the doorbell inject speaks; the badges show ready, generating and done live', async function () {
    const editor = await doorbellEditor('en-US');
    const { page } = editor;
    try {
      assert.equal(await waitForBadge(page, SAY_IT, /^ready$/), 'ready');
      assert.equal(await waitForBadge(page, SPEAK, /^ready$/), 'ready');
      const generating = page.waitForFunction((nodeId) => {
        const label = document.querySelector(`[id="${nodeId}"] .red-ui-flow-node-status-label`);
        return label && label.textContent === 'generating…';
      }, SAY_IT, { timeout: 15000 });
      await page.click(`[id="${INJECT}"] .red-ui-flow-node-button`);
      await generating;
      const done = await waitForBadge(page, SAY_IT, /^done \d/);
      assert.match(done, /^done \d+\.\d s$/);
      await page.mouse.move(1, 1);
      await page.locator('#red-ui-workspace').screenshot({ path: path.join(shots, 'flow-live-badges.png') });
      const spoken = sim.requests.filter((r) => r.path === '/api/tts-generate').map((r) => r.form.text_input);
      assert.deepEqual(spoken, ['Someone is at the front door.']);
      // The server dialog shows the audio cache of the deployed server, and Clear empties it.
      await act.openDialog(page, SAY_IT);
      await page.click((await page.$('#node-input-btn-server-edit')) ? '#node-input-btn-server-edit' : '#node-input-lookup-server');
      await act.textMatching(page, '#alltalk-config-cache-info', /^Cached: 0\.\d MB of 200 MB \(entries: 1\)$/);
      await page.click('#alltalk-config-cache-clear');
      await act.textMatching(page, '#alltalk-config-cache-info', /^Cached: 0\.0 MB of 200 MB \(entries: 0\)$/);
      assert.equal(await page.isDisabled('#alltalk-config-cache-clear'), true, 'nothing left to clear');
      await act.cancelAll(page);
      assert.deepEqual(editor.problems, [], 'no console errors or warnings, no failed requests');
    } finally {
      await editor.stop();
    }
  });

  it('in German: the dialog, its help and the badges follow the editor language', async function () {
    const editor = await doorbellEditor('de-DE');
    const { page } = editor;
    try {
      assert.equal(await waitForBadge(page, SAY_IT, /^Bereit$/), 'Bereit', 'the badge word is German in the editor');
      await act.openDialog(page, SAY_IT);
      await act.textMatching(page, '#alltalk-tts-server-info', /xtts/);
      const dialog = await page.evaluate(() => document.querySelector('.red-ui-tray').innerText);
      assert.match(dialog, /Stimme/, 'German labels');
      assert.doesNotMatch(dialog, /alltalk-(tts|config)\.[a-z]+\./, 'no catalogue key shows untranslated');
      await act.screenshot(page, shots, 'alltalk-tts-de');
      await act.closeTray(page, 'cancel');
      const help = await act.sidebarHelp(page, 'alltalk-tts');
      assert.match(help, /Eingangsdaten|Eingaben/, 'the help is the German one');
      assert.deepEqual(editor.problems, [], 'no console errors or warnings, no failed requests');
      assert.ok(await page.evaluate((id) => RED.nodes.node(id).server, SAY_IT) === START_SERVER_ID);
    } finally {
      await editor.stop();
    }
  });

  it('the two-servers example: the server dialog lists its fallback with the fallback\'s live state; the message says where it ran', async function () {
    const editor = await openEditor({ flows, viewport: { width: 1280, height: 900 } });
    const { page } = editor;
    const tab = 'start-two-servers';
    const speak = `${tab}-2c9f7b3e5d1a4b68`;
    try {
      await page.evaluate((t) => RED.workspaces.show(t), tab);
      assert.equal(await waitForBadge(page, speak, /^ready$/), 'ready');
      // The primary goes away: the next message is spoken by the Piper box, and the flow says so.
      await sim.stop();
      await page.click(`[id="${tab}-8e2d4a6c1b3f5e97"] .red-ui-flow-node-button`);
      const done = await waitForBadge(page, speak, /^done .* via /);
      assert.match(done, /^done \d+(\.\d)? s via Always-on box \(Piper\)$/);
      assert.ok(piper.requests.some((r) => r.path === '/api/tts-generate'), 'the fallback generated it');
      await act.openDialog(page, speak);
      await page.click((await page.$('#node-input-btn-server-edit')) ? '#node-input-btn-server-edit' : '#node-input-lookup-server');
      await page.waitForSelector('#alltalk-config-fallbacks li', { state: 'visible' });
      const fallback = await page.$eval('#alltalk-config-fallbacks li select', (s) => s.options[s.selectedIndex].textContent);
      assert.equal(fallback, 'Always-on box (Piper)');
      await act.textMatching(page, '#alltalk-config-fallbacks .alltalk-fallback-state', /^ready$/);
      assert.equal(await page.isChecked('#node-config-input-share'), false);
      await act.screenshot(page, shots, 'alltalk-config-fallbacks');
      await act.cancelAll(page);
      assert.deepEqual(editor.problems.filter((p) => !/ERR_CONNECTION_REFUSED|net::/.test(p)), [], 'no console errors or warnings');
    } finally {
      await editor.stop();
    }
  });
});
