'use strict';
// The browser checks of every node's dialog, as a function so that they run on more than one
// Node-RED: editor.test.js (the Node-RED of the devDependencies) and test/compat (3.1, 4 and 5).
// As a new user meets them: the package as npm would publish it, a new server that was never
// deployed, the live simulator behind it (an XTTS-like one and a Piper-like one). Fails on any
// browser console error or warning, and on any failed request to Node-RED. Saves a screenshot of
// every dialog (ALLTALK_SCREENSHOTS sets where).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { AllTalkSimulator } = require('../../dist/simulator');
const { browserAvailable, openEditor, root } = require('./editor-session');
const act = require('./editor-actions');

/** What each dialog shows from the live server. */
const DIALOGS = {
  'alltalk-status': { info: '#alltalk-status-server-info', refresh: '#alltalk-status-refresh' },
  'alltalk-tts': {
    info: '#alltalk-tts-server-info', refresh: '#alltalk-tts-refresh', voice: '#node-input-character_voice_gen',
    language: '#node-input-language', preview: '#alltalk-tts-preview', ranges: [['#node-input-speed', '3', '1.5'], ['#node-input-temperature', '0', '0.7']],
  },
  'alltalk-stream': {
    info: '#alltalk-stream-server-info', refresh: '#alltalk-stream-refresh', voice: '#node-input-voice',
    language: '#node-input-language', preview: '#alltalk-stream-preview', ranges: [['#node-input-maxCharacters', '0', '500']],
  },
  'alltalk-openai': { info: '#alltalk-openai-server-info', refresh: '#alltalk-openai-refresh', ranges: [['#node-input-speed', '5', '1.5']] },
  'alltalk-control': { info: '#alltalk-control-server-info', refresh: '#alltalk-control-refresh', models: '#node-input-model', voiceMap: '#node-input-alloy' },
  'alltalk-wyoming': {
    info: '#alltalk-wyoming-server-info', refresh: '#alltalk-wyoming-refresh', voice: '#node-input-voice',
    language: '#node-input-language', preview: '#alltalk-wyoming-preview', ranges: [['#node-input-port', '70000', '10200']],
  },
};

/**
 * Defines the suite `title`. `where()` (called in `before`) resolves the options for openEditor:
 * { packageDir, redJs, nodeBinary } (all optional: the packed checkout on the devDependencies' Node-RED).
 * Screenshots go to `shots` (a folder), when given.
 */
function editorSuite(title, where = () => ({}), shots = undefined) {
  let SHOTS = shots;
  describe(title, function () {
    this.timeout(120000);
    let xtts;
    let piper;
    let editor;
    let page;
    let x = 150;

    before(async function () {
      if (!browserAvailable()) {
        console.log('      (skipped: no Chromium at /usr/bin/chromium; CI installs it and sets ALLTALK_REQUIRE_BROWSER=1)');
        return this.skip();
      }
      SHOTS = SHOTS || fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-shots-'));
      xtts = new AllTalkSimulator({ port: 0, profile: 'xtts' });
      piper = new AllTalkSimulator({ port: 0, profile: 'piper' });
      await xtts.start();
      await piper.start();
      editor = await openEditor({ flows: [{ id: 'tab1', type: 'tab', label: 'Flow 1' }], ...(await where()) });
      page = editor.page;
      page.setDefaultTimeout(15000);
    });

    after(async function () {
      if (editor) {
        await editor.stop();
        console.log(`      screenshots of the dialogs: ${SHOTS}`);
      }
      if (xtts) await xtts.stop();
      if (piper) await piper.stop();
    });

    afterEach(async function () {
      if (!editor) return;
      if (this.currentTest.state === 'failed') await act.cancelAll(page);
      const problems = editor.problems.splice(0);
      assert.deepEqual(problems, [], 'no console errors or warnings, no failed requests');
    });

    it('the server dialog: Test connection and Refresh say which server they read, a stale result goes', async function () {
      const id = await act.dropNode(page, 'alltalk-status', (x += 60), 120);
      await act.openDialog(page, id);
      await act.addServer(page, { port: piper.port });
      await page.click('#alltalk-config-test');
      const tested = await act.textMatching(page, '#alltalk-config-result', /piper/);
      assert.match(tested, new RegExp(`http://127\\.0\\.0\\.1:${piper.port}: ready`));
      // Another port typed: the old result goes; Refresh reads what the fields say now, and says so.
      await page.fill('#node-config-input-port', String(xtts.port));
      assert.equal((await page.textContent('#alltalk-config-result')).trim(), '', 'the old result is cleared');
      await page.click('#alltalk-config-refresh');
      const refreshed = await act.textMatching(page, '#alltalk-config-result', /xtts/);
      assert.match(refreshed, new RegExp(`127\\.0\\.0\\.1:${xtts.port}`));
      assert.match(refreshed, /not deployed|not saved/i, refreshed);
      // A folded section opens with a click on its heading, and its arrow turns.
      const folded = page.locator('.alltalk-section.alltalk-closed').first();
      assert.ok(await folded.count(), 'the sections with nothing set are folded');
      assert.equal(await folded.locator('.alltalk-section-body').isVisible(), false);
      await folded.locator('.alltalk-section-toggle').click();
      const opened = page.locator('.alltalk-section').filter({ has: page.locator('#node-config-input-queueLimit') });
      if (await opened.evaluate((el) => el.classList.contains('alltalk-closed'))) await opened.locator('.alltalk-section-toggle').click();
      assert.ok(await page.isVisible('#node-config-input-queueLimit'));
      assert.equal(await opened.locator('.alltalk-section-toggle i.fa-angle-down').count(), 1, 'the arrow points down when open');
      await act.screenshot(page, SHOTS, 'alltalk-config');
      await act.closeTray(page, 'add');
      await act.closeTray(page, 'done');
    });

    for (const [type, d] of Object.entries(DIALOGS)) {
      it(`${type}: a new server fills the dialog from the live server; ranges flagged; help lists msg properties`, async function () {
        const id = await act.dropNode(page, type, (x += 60), 200 + (x % 300));
        await act.openDialog(page, id);
        assert.equal(await page.isVisible(d.info), false, 'no empty info box before a server is chosen');
        await act.addServer(page, { port: xtts.port });
        const calls = editor.requests.length;
        await act.closeTray(page, 'add');
        const info = await act.textMatching(page, d.info, /xtts/);
        await page.waitForTimeout(300);
        // AllTalk is read once (a look at the runtime's cache of deployed servers may come first).
        const reads = editor.requests.slice(calls).filter((r) => r === 'POST /alltalk/probe' || r.endsWith('/refresh'));
        assert.deepEqual(reads, ['POST /alltalk/probe'], 'the new server is read once');
        assert.match(info, new RegExp(`127\\.0\\.0\\.1:${xtts.port}: ready`), 'the summary names the server');
        if (d.voice) {
          assert.deepEqual(await act.pickerValues(page, d.voice), xtts.voices, 'the voice picker offers the server\'s voices');
          assert.deepEqual(await act.pickerValues(page, d.voice, 'MALE_0'), xtts.voices.filter((v) => /male_0/i.test(v)), 'typing searches the voices');
          if (type === 'alltalk-tts') {
            // The picker open, for the README.
            const input = `${d.voice} + .red-ui-typedInput-container input.red-ui-typedInput-input`;
            await page.fill(input, 'fem');
            await page.click(input);
            await page.waitForSelector('.red-ui-autoComplete-container', { state: 'visible' });
            await act.screenshot(page, SHOTS, 'alltalk-tts-voice-picker', { whole: false, keepFocus: true });
            await page.keyboard.press('Escape');
            await page.fill(input, '');
          }
        }
        if (d.language) {
          const langs = await act.choices(page, d.language);
          for (const l of ['', 'en', 'de', 'fr']) assert.ok(langs.includes(l), `language ${l || '(server default)'} offered`);
        }
        if (d.models) assert.deepEqual((await act.optionValues(page, d.models)).filter(Boolean), xtts.settings.models_available.map((m) => m.name));
        if (d.voiceMap) assert.deepEqual((await act.optionValues(page, d.voiceMap)).filter(Boolean), xtts.voices);
        if (d.voice) {
          await act.typeInto(page, d.voice, 'nobody.wav');
          assert.ok(await act.invalid(page, d.voice), 'a voice the server does not have is marked');
          await act.typeInto(page, d.voice, xtts.voices[0]);
          assert.equal(await act.invalid(page, d.voice), false);
        }
        for (const [field, bad, good] of d.ranges || []) {
          if (!(await page.isVisible(field))) continue;
          await act.typeInto(page, field, bad);
          assert.ok(await act.invalid(page, field), `${field} = ${bad} is flagged`);
          await act.typeInto(page, field, good);
          assert.equal(await act.invalid(page, field), false, `${field} = ${good} is fine`);
        }
        if (d.preview) {
          const answer = page.waitForResponse((r) => r.url().endsWith('/alltalk/preview'));
          await page.click(d.preview);
          const res = await answer;
          assert.equal(res.status(), 200, await res.text());
          assert.match(res.headers()['content-type'], /^audio\//);
          const body = await res.body();
          assert.equal(body.subarray(0, 4).toString('latin1'), 'RIFF', 'the preview is audio');
          assert.ok(body.length > 1000);
          await page.waitForTimeout(300);
          assert.equal(await page.locator('.red-ui-notification-error').count(), 0, 'the browser played it without an error');
        }
        await act.screenshot(page, SHOTS, type);
        // Refresh on a server that was never deployed: read again, and it says so.
        await page.click(d.refresh);
        const again = await act.textMatching(page, d.info, /not deployed/i);
        assert.match(again, new RegExp(`127\\.0\\.0\\.1:${xtts.port}`));
        await act.closeTray(page, 'done');
        assert.equal(await page.evaluate((nodeId) => RED.nodes.node(nodeId).valid, id), true, 'the node is valid after Done');
        const help = await act.sidebarHelp(page, type);
        const helpHtml = fs.readFileSync(path.join(root, 'src', 'nodes', type, 'locales', 'en-US', `${type}.html`), 'utf8');
        const props = act.documentedProperties(helpHtml);
        assert.ok(props.length >= 3, `${type}'s help documents its msg properties`);
        for (const p of props) assert.ok(help.includes(p), `the sidebar help lists ${p}`);
      });
    }

    describe('on a Piper-like server (a saved server, never deployed)', function () {
      let n = 0;
      /** Imports a server for the Piper simulator and a node of `type` with `props`; opens its dialog. */
      async function openOnPiper(type, props) {
        n += 1;
        const cfg = { id: `piper-cfg-${n}`, type: 'alltalk-config', name: '', protocol: 'http', host: '127.0.0.1', port: String(piper.port), timeout: 5, generationTimeout: 300, concurrency: 1, queueLimit: 50, healthInterval: 30, apiKeyHeader: 'X-API-Key', maxAudioMb: 200 };
        const node = { id: `piper-node-${n}`, type, z: 'tab1', x: 200 + n * 150, y: 500, wires: [[]], ...(await act.defaultsOf(page, type)), server: cfg.id, ...props };
        await act.importNodes(page, [cfg, node]);
        await act.openDialog(page, node.id);
        await act.textMatching(page, `#${type}-server-info`, /piper/);
        return node.id;
      }
      const noteOf = (field) => page.evaluate((f) => {
        const note = $(`#node-input-${f}`).closest('.form-row').find('.alltalk-capability-note');
        return { greyed: $(`#node-input-${f}`).closest('.form-row').hasClass('alltalk-not-capable'), text: note.is(':visible') ? note.text() : '', refused: note.hasClass('alltalk-refused'), disabled: $(`#node-input-${f}`).prop('disabled') };
      }, field);

      it('alltalk-tts: saved speed and language are greyed with the reason, flagged as refused, and can be cleared', async function () {
        const id = await openOnPiper('alltalk-tts', { property: 'payload', propertyType: 'msg', speed: '1.5', language: 'de', maxCharacters: 2000, maxTotalCharacters: 20000, output: '' });
        const speed = await noteOf('speed');
        assert.deepEqual({ ...speed, text: undefined }, { greyed: true, text: undefined, refused: true, disabled: false }, JSON.stringify(speed));
        assert.match(speed.text, /^Piper cannot change the speed\./, `the reason in words: ${speed.text}`);
        assert.match(speed.text, /refused/i, 'says the saved value will be refused');
        assert.ok(await act.invalid(page, '#node-input-speed'), 'the saved speed is flagged');
        const language = await noteOf('language');
        assert.equal(language.greyed, true);
        assert.match(language.text, /^Piper speaks the language of its voice only\./, 'language says why it is greyed');
        assert.doesNotMatch(speed.text + language.text, /_capable/, 'no flag names');
        assert.equal((await noteOf('pitch')).refused, false, 'a blank field is greyed, not flagged');
        await act.screenshot(page, SHOTS, 'alltalk-tts-piper');
        await act.typeInto(page, '#node-input-speed', '');
        // The language's own list: its first entry is the server default.
        await page.click('#node-input-language + .red-ui-typedInput-container .red-ui-typedInput-option-trigger');
        await page.locator('.red-ui-typedInput-options:visible a').first().click();
        assert.equal(await act.invalid(page, '#node-input-speed'), false, 'cleared, it is fine');
        assert.equal((await noteOf('speed')).refused, false);
        await act.closeTray(page, 'done');
        const saved = await page.evaluate((nodeId) => { const x = RED.nodes.node(nodeId); return { speed: x.speed, language: x.language, valid: x.valid }; }, id);
        assert.deepEqual(saved, { speed: '', language: '', valid: true });
      });

      it('alltalk-stream: says the engine cannot stream', async function () {
        await openOnPiper('alltalk-stream', { property: 'payload', propertyType: 'msg', maxCharacters: 500, output: 'chunks' });
        const warning = await act.textMatching(page, '#alltalk-stream-warning', /Piper/);
        assert.match(warning, /stream/i);
        await act.closeTray(page, 'cancel');
      });

      it('alltalk-control: DeepSpeed and low VRAM are unavailable, with the reason', async function () {
        await openOnPiper('alltalk-control', { command: 'stop' });
        const options = await page.evaluate(() => ['deepspeed', 'lowvram'].map((c) => {
          const o = $(`#node-input-command option[value="${c}"]`);
          return { disabled: o.prop('disabled'), title: o.attr('title') };
        }));
        for (const o of options) {
          assert.equal(o.disabled, true);
          assert.match(o.title, /Piper/);
        }
        await act.closeTray(page, 'cancel');
      });
    });
  });
}

module.exports = { editorSuite };
