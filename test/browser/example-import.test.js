'use strict';
// Every example imported as the README says (menu → Import → Examples → node-red-contrib-alltalk →
// the file → Import, a click to place it, Deploy), one after another: into a fresh Node-RED, and into
// the Node-RED that `npm start` made (its own copies of every example already deployed). Fails on a
// conflict dialog, a node left invalid, a deploy that asks for confirmation, a page of an example
// that does not answer, and any warning or error in Node-RED's log. (The Wyoming example's server is
// moved to loopback before its deploy: no test listens beyond this machine.)
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { AllTalkSimulator } = require('../../dist/simulator');
const { browserAvailable, openEditor, attachEditor, root } = require('./editor-session');
const { startScript } = require('../e2e/start-process');
const { freePort } = require('../e2e/node-red');
const act = require('./editor-actions');

const EXAMPLES = fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.json')).sort();

/** Imports examples/<file> through Node-RED's import dialog and places it with a click. */
async function importExample(page, file) {
  const name = file.replace(/\.json$/, '');
  await page.evaluate(() => document.querySelectorAll('.red-ui-notification').forEach((e) => e.setAttribute('data-seen', '1')));
  await page.evaluate(() => RED.actions.invoke('core:show-import-dialog'));
  await page.click('#red-ui-clipboard-dialog-import-tabs a[href="#red-ui-clipboard-dialog-import-tab-examples"]');
  const tab = page.locator('#red-ui-clipboard-dialog-import-tab-examples');
  const entry = tab.locator('.red-ui-treeList-label', { hasText: new RegExp(`^${name}$`) });
  if (!(await entry.isVisible())) await tab.locator('.red-ui-treeList-label', { hasText: /^node-red-contrib-alltalk$/ }).click();
  await entry.click();
  await page.click('#red-ui-clipboard-dialog-ok');
  // The imported nodes follow the pointer until a click places them.
  await page.mouse.move(500, 300);
  await page.mouse.click(500, 300);
  await page.waitForTimeout(300);
  const notices = await page.$$eval('.red-ui-notification:not([data-seen])', (els) => els.map((e) => ({ text: e.innerText, buttons: e.querySelectorAll('button').length })));
  const conflict = notices.find((n) => n.buttons > 0 || /already|conflict|exist/i.test(n.text));
  assert.equal(conflict, undefined, `importing ${file} asked about a conflict: ${conflict && conflict.text}`);
}

/** Clicks Deploy and waits until the flows run; fails when Node-RED asks to confirm (invalid or unknown nodes). */
async function deploy(page) {
  await page.click('#red-ui-header-button-deploy');
  await page.waitForTimeout(300);
  const confirm = await page.$('#red-ui-confirm-deploy, .red-ui-deploy-dialog-confirm-list');
  assert.equal(confirm, null, 'Deploy asked for confirmation (invalid or unknown nodes)');
  await page.waitForFunction(() => !RED.nodes.dirty(), null, { timeout: 15000 });
}

/** The imported Wyoming server on loopback and a free port, as a user on this machine sets it. */
async function wyomingOnLoopback(page) {
  const ids = await page.evaluate(() => RED.nodes.filterNodes({ type: 'alltalk-wyoming' }).filter((n) => n.host !== '127.0.0.1').map((n) => n.id));
  for (const id of ids) {
    // Opened from the node's context (the imported flows lie on top of each other on the canvas).
    await page.evaluate((nodeId) => RED.editor.edit(RED.nodes.node(nodeId)), id);
    await page.waitForSelector('#node-input-host', { state: 'visible' });
    await act.typeInto(page, '#node-input-host', '127.0.0.1');
    await act.typeInto(page, '#node-input-port', String(await freePort()));
    await act.closeTray(page, 'done');
  }
}

/** The GET pages of the examples (http in nodes), each answered (not 404, no server error). */
async function pagesAnswer(base, files) {
  for (const f of files) {
    const flow = JSON.parse(fs.readFileSync(path.join(root, 'examples', f), 'utf8'));
    for (const n of flow.filter((x) => x.type === 'http in' && x.method === 'get')) {
      const res = await fetch(`${base}${n.url}`, { signal: AbortSignal.timeout(15000) });
      await res.arrayBuffer();
      assert.ok(res.status !== 404 && res.status < 500, `${f}: GET ${n.url} answered ${res.status}`);
    }
  }
}

/** Warnings and errors Node-RED logged after `from` (an offset into its output). */
function logProblems(output, from) {
  return output.slice(from).split('\n').filter((l) => /\[(warn|error)\]/.test(l));
}

/** Imports every example into the editor, deploying after each; checks the log after each deploy. */
async function importAll(editor, output, offline = undefined) {
  const { page } = editor;
  for (const f of EXAMPLES) {
    const mark = output().length;
    await importExample(page, f);
    const invalid = await page.evaluate(() => {
      const out = [];
      RED.nodes.eachNode((n) => { if (!n.valid) out.push(`${n.type} ${n.id}`); });
      RED.nodes.eachConfig((n) => { if (n.valid === false) out.push(`${n.type} ${n.id}`); });
      return out;
    });
    assert.deepEqual(invalid, [], `${f}: every imported node is valid`);
    await wyomingOnLoopback(page);
    await deploy(page);
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual(logProblems(output(), mark), [], `${f}: nothing in Node-RED's log`);
  }
  // npm start's editor asks the internet for the palette catalogue: without internet, that fails.
  assert.deepEqual(editor.problems.filter((p) => !offline || !offline.test(p)), [], 'no console errors or warnings, no failed requests');
}

describe('every example imported one after another (Chromium)', function () {
  this.timeout(240000);
  let sim;
  let simPortTaken = false;

  before(async function () {
    if (!browserAvailable()) return this.skip();
    // The examples' server configuration is 127.0.0.1:7851, where npm start's simulator listens.
    sim = new AllTalkSimulator({ port: 7851, host: '127.0.0.1' });
    try {
      await sim.start();
    } catch (err) {
      if (err.code !== 'EADDRINUSE') throw err;
      simPortTaken = true;
      sim = undefined;
    }
  });

  after(async function () {
    if (sim) await sim.stop();
  });

  it('into a fresh Node-RED: no conflict, every page answers, a clean log', async function () {
    if (simPortTaken) return this.skip();
    const editor = await openEditor({ flows: [], viewport: { width: 1280, height: 900 } });
    try {
      await importAll(editor, editor.output);
      await pagesAnswer(editor.base, EXAMPLES);
    } finally {
      await editor.stop();
    }
  });

  it('into the Node-RED that npm start made: beside its copies, the same', async function () {
    // npm start brings its own simulator on 7851 (ALLTALK_SIM_PORT); ours makes way.
    if (sim) await sim.stop();
    sim = undefined;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-start-import-'));
    const red = await startScript(dir, { ALLTALK_SIM_PORT: '7851', ALLTALK_FALLBACK_SIM_PORT: String(await freePort()) });
    let editor;
    try {
      if (!/AllTalk simulator listening on http:\/\/127\.0\.0\.1:7851\b/.test(red.output())) return this.skip();
      editor = await attachEditor(red.base, { viewport: { width: 1280, height: 900 } });
      // Node-RED's own first-start question (npm start leaves it to the user), answered as most do.
      const noUpdates = editor.page.locator('button', { hasText: 'No, do not enable notifications' });
      await noUpdates.click({ timeout: 10000 }).catch(() => {});
      await importAll(editor, red.output, /catalogue\.nodered\.org/);
      await pagesAnswer(red.base, EXAMPLES);
      const demo = await fetch(`${red.base}/alltalk-demo/player`);
      assert.equal(demo.status, 200, 'npm start\'s own player page still answers');
    } finally {
      if (editor) await editor.close();
      await red.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
