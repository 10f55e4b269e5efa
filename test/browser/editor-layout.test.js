'use strict';
// Every dialog's layout in English and German, as Node-RED opens it (its default dialog width):
// labels on one line inside their box, rows on one line, no option text cut, nothing past the
// dialog's edge; every section open, and the rows that only show for some choices shown (a file
// output, long text split, an https server with its TLS row, credentials, the cache's Clear).
// The palette's AllTalk entries on one line. Pictures of every dialog go to a temporary folder
// (ALLTALK_LAYOUT_SHOTS sets another).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { AllTalkSimulator } = require('../../dist/simulator');
const { browserAvailable, openEditor } = require('./editor-session');
const act = require('./editor-actions');
const { dialogProblems, paletteProblems } = require('./layout-check');

const TYPES = ['alltalk-tts', 'alltalk-stream', 'alltalk-openai', 'alltalk-control', 'alltalk-status', 'alltalk-wyoming'];

function server(id, name, port, more = {}) {
  return { id, type: 'alltalk-config', name, protocol: 'http', host: '127.0.0.1', port: String(port), timeout: 5, generationTimeout: 300, concurrency: 1, queueLimit: 50, healthInterval: 30, apiKeyHeader: 'X-API-Key', maxAudioMb: 200, cacheMaxMb: 200, cacheMaxDays: 30, ...more };
}

/** Opens every folded section and shows the rows that depend on a choice. */
async function showEverything(page) {
  await page.evaluate(() => {
    document.querySelectorAll('.alltalk-section.alltalk-closed .alltalk-section-toggle').forEach((a) => a.click());
    const output = $('#node-input-output');
    if (output.length && output.find('option[value="file"]').length) output.val('file').trigger('change');
    const split = $('#node-input-splitLongText');
    if (split.length && !split.prop('checked')) split.prop('checked', true).trigger('change');
  });
}

for (const locale of ['en-US', 'de-DE']) {
  describe(`every dialog's layout in ${locale} (Chromium)`, function () {
    this.timeout(120000);
    let xtts;
    let piper;
    let editor;
    let page;
    let shots;
    let n = 0;

    before(async function () {
      if (!browserAvailable()) return this.skip();
      shots = process.env.ALLTALK_LAYOUT_SHOTS ? path.resolve(process.env.ALLTALK_LAYOUT_SHOTS) : fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-layout-'));
      xtts = new AllTalkSimulator({ port: 0, profile: 'xtts' });
      piper = new AllTalkSimulator({ port: 0, profile: 'piper' });
      await xtts.start();
      await piper.start();
      const flows = [
        { id: 'tab1', type: 'tab', label: 'Flow 1' },
        server('layout-gpu', 'GPU box', xtts.port, { fallbacks: [{ id: 'layout-piper' }] }),
        server('layout-piper', 'Always-on box (Piper)', piper.port),
      ];
      editor = await openEditor({ flows, locale, viewport: { width: 1280, height: 1000 } });
      page = editor.page;
      page.setDefaultTimeout(15000);
    });

    after(async function () {
      if (editor) await editor.stop();
      if (xtts) await xtts.stop();
      if (piper) await piper.stop();
    });

    afterEach(async function () {
      if (!editor) return;
      await act.cancelAll(page);
      assert.deepEqual(editor.problems.splice(0), [], 'no console errors or warnings, no failed requests');
    });

    it('the palette: every AllTalk entry on one line', async function () {
      assert.deepEqual(await paletteProblems(page), []);
      const labels = await page.$$eval('.red-ui-palette-node[data-palette-type^="alltalk-"] .red-ui-palette-label', (els) => els.map((e) => e.textContent.trim()));
      assert.equal(labels.length, TYPES.length, labels.join(', '));
    });

    const cases = TYPES.map((type) => [type, 'layout-gpu', {}]).concat([
      // On Piper, the generation fields carry notes on what the engine cannot do.
      ['alltalk-tts', 'layout-piper', { speed: '1.5', language: 'de' }],
    ]);
    for (const [type, serverId, props] of cases) {
      it(`${type}${serverId === 'layout-piper' ? ' on Piper' : ''}: every label, option and row fits`, async function () {
        n += 1;
        const node = { id: `layout-${n}`, type, z: 'tab1', x: 150 + (n % 6) * 160, y: 100 + n * 50, wires: [[]], ...(await act.defaultsOf(page, type)), server: serverId, ...props };
        await act.importNodes(page, [node]);
        await act.openDialog(page, node.id);
        await act.textMatching(page, `#${type}-server-info`, serverId === 'layout-piper' ? /piper/ : /xtts/);
        await showEverything(page);
        await page.waitForTimeout(200);
        const problems = await dialogProblems(page);
        await act.screenshot(page, shots, `layout-${locale}-${type}${serverId === 'layout-piper' ? '-piper' : ''}`);
        assert.deepEqual(problems, []);
      });
    }

    it('the server dialog: connection with TLS, fallbacks, cache and its Clear, credentials', async function () {
      n += 1;
      const node = { id: `layout-${n}`, type: 'alltalk-tts', z: 'tab1', x: 200, y: 700, wires: [[]], ...(await act.defaultsOf(page, 'alltalk-tts')), server: 'layout-gpu' };
      await act.importNodes(page, [node]);
      await act.openDialog(page, node.id);
      await page.click((await page.$('#node-input-btn-server-edit')) ? '#node-input-btn-server-edit' : '#node-input-lookup-server');
      await page.waitForSelector('#node-config-input-host', { state: 'visible' });
      await page.selectOption('#node-config-input-protocol', 'https');
      await page.dispatchEvent('#node-config-input-protocol', 'change');
      await showEverything(page);
      await page.waitForSelector('#alltalk-config-fallbacks li', { state: 'visible' });
      for (const field of ['#node-config-input-tls', '#node-config-input-username', '#node-config-input-password', '#node-config-input-apiKey', '#alltalk-config-cache-clear']) {
        assert.ok(await page.isVisible(field), `${field} is shown`);
      }
      await page.waitForTimeout(300);
      const problems = await dialogProblems(page);
      await act.screenshot(page, shots, `layout-${locale}-alltalk-config`);
      assert.deepEqual(problems, []);
      // The TLS row belongs to https only; credentials typed here are kept as credentials, not in the flow.
      await page.selectOption('#node-config-input-protocol', 'http');
      await page.dispatchEvent('#node-config-input-protocol', 'change');
      assert.equal(await page.isVisible('#node-config-input-tls'), false, 'no TLS row for http');
      await page.fill('#node-config-input-username', 'kitchen');
      await page.fill('#node-config-input-password', 's3cret');
      await act.closeTray(page, 'add');
      const saved = await page.evaluate(() => {
        const n = RED.nodes.node('layout-gpu');
        return { username: n.credentials.username, password: n.credentials.password, inFlow: JSON.stringify(RED.nodes.convertNode(n, false)).includes('s3cret') };
      });
      assert.deepEqual(saved, { username: 'kitchen', password: 's3cret', inFlow: false });
    });
  });
}
