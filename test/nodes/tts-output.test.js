'use strict';
// alltalk-tts in a running flow: text kept exactly or split at sentence ends into one joined
// WAV, and the three outputs (buffer, url, file), legacy absolute URLs included.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helper, startSim, watchStatus } = require('./support');
const { parseWav } = require('../../dist/api');
const { nodes, ttsFlow, generations, run, msg, ready } = require('./tts-support');

describe('alltalk-tts', function () {
  let sim;
  afterEach(async function () {
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
  });

  describe('text', function () {
    it('keeps narrator text with quotes and asterisks, unicode and emoji exactly', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim, { narrator_enabled: 'true' }));
      await ready(sim);
      const text = '*Die Tür öffnet sich.* "Grüß Gott, 你好! 👋" she said — *quietly*.';
      const r = await run(msg({ payload: text }));
      assert.ok(r.msg, r.error && r.error.message);
      assert.equal(generations(sim)[0].form.text_input, text);
      const info = parseWav(r.msg.payload);
      assert.equal(info.sampleRate, 44100, 'narrator output is the combined 44.1 kHz file');
      assert.ok(info.duration > 0);
    });

    it('splits long text at sentence ends, in order, and joins one valid WAV', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim, { maxCharacters: 100, splitLongText: true }));
      await ready(sim);
      const sentences = Array.from({ length: 8 }, (_, i) => `This is sentence number ${i + 1} of the long announcement.`);
      const text = sentences.join(' ');
      const r = await run(msg({ payload: text }));
      assert.ok(r.msg, r.error && r.error.message);
      const sent = generations(sim).map((g) => g.form.text_input);
      assert.ok(sent.length > 1);
      assert.ok(sent.every((t) => t.length <= 100));
      assert.equal(sent.join(' '), text, 'in order, nothing lost');
      assert.ok(sent.every((t) => /\.$/.test(t)), 'cut at sentence ends');
      const joined = parseWav(r.msg.payload);
      assert.equal(joined.declaredDataLength, joined.dataLength, 'one header with the real size');
      assert.equal(r.msg.payload.readUInt32LE(4), r.msg.payload.length - 8);
      const parts = await Promise.all(r.msg.urls.map(async (u) => parseWav(Buffer.from(await (await fetch(u)).arrayBuffer()))));
      const sum = parts.reduce((s, p) => s + p.duration, 0);
      assert.ok(Math.abs(joined.duration - sum) < 0.01, `joined ${joined.duration}s, parts ${sum}s`);
      assert.equal(r.msg.alltalk.parts, sent.length);
    });

    it('refuses a text that would need splitting when the output is a single URL', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim, { maxCharacters: 40, splitLongText: true, output: 'url' }));
      await ready(sim);
      const r = await run(msg({ payload: 'First sentence here. Second sentence here. Third one.' }));
      assert.match(r.error.message, /would be generated in 2 files, but output "url" gives one URL/);
      assert.equal(generations(sim).length, 0);
    });

    it('refuses long text when splitting is off', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim, { maxCharacters: 50 }));
      await ready(sim);
      const r = await run(msg({ payload: 'x'.repeat(51) }));
      assert.match(r.error.message, /51 characters long; AllTalk accepts at most 50/);
      assert.equal(generations(sim).length, 0);
    });
  });

  describe('output', function () {
    it('buffer: the audio downloaded from the server, with url, cacheUrl, filePath, contentType and timing', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim));
      await ready(sim);
      const badge = watchStatus(helper.getNode('tts'));
      // Badges change at most every 100 ms; after a quiet moment the next one shows at once.
      await new Promise((r) => setTimeout(r, 150));
      const r = await run(msg({ payload: 'The washing machine is done.', topic: 'laundry', extra: 1 }));
      assert.ok(r.msg, r.error && r.error.message);
      const m = r.msg;
      assert.ok(Buffer.isBuffer(m.payload));
      const direct = Buffer.from(await (await fetch(m.url)).arrayBuffer());
      assert.ok(m.payload.equals(direct));
      assert.ok(m.url.startsWith(`${sim.url}/audio/`));
      assert.ok(m.cacheUrl.startsWith(`${sim.url}/audiocache/`));
      assert.ok(path.isAbsolute(m.filePath));
      assert.equal(m.contentType, 'audio/wav');
      assert.equal(m.topic, 'laundry');
      assert.equal(m.extra, 1);
      assert.equal(m.alltalk.bytes, m.payload.length);
      assert.equal(m.alltalk.response.status, 'generate-success');
      for (const k of ['queuedMs', 'generationMs', 'downloadMs']) assert.equal(typeof m.alltalk.timing[k], 'number');
      await badge.waitFor('done');
      assert.match(badge.last().text, /^done \d+(\.\d)? s$/);
      assert.ok(badge.texts().includes('generating…'));
    });

    it('url: no download, the URL in msg.payload and msg.url', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim, { output: 'url' }));
      await ready(sim);
      const r = await run(msg({ payload: 'hi there' }));
      assert.equal(r.msg.payload, r.msg.url);
      assert.equal(sim.requests.filter((q) => q.path.startsWith('/audio')).length, 0);
    });

    it('msg.alltalk.output picks the mode when the dialog leaves it on its default', async function () {
      sim = await startSim();
      await helper.load(nodes, ttsFlow(sim));
      await ready(sim);
      const r = await run(msg({ payload: 'hi there', alltalk: { output: 'url' } }));
      assert.equal(typeof r.msg.payload, 'string');
    });

    it('file: written through a temporary name into created folders', async function () {
      sim = await startSim();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-tts-'));
      const target = path.join(dir, 'a', 'b', 'doorbell.wav');
      await helper.load(nodes, ttsFlow(sim, { output: 'file', filePath: target, createFolders: true }));
      await ready(sim);
      const r = await run(msg({ payload: 'Someone is at the door.' }));
      assert.ok(r.msg, r.error && r.error.message);
      assert.equal(r.msg.payload, target);
      assert.equal(r.msg.filename, target);
      const written = fs.readFileSync(target);
      const direct = Buffer.from(await (await fetch(r.msg.url)).arrayBuffer());
      assert.ok(written.equals(direct));
      assert.deepEqual(fs.readdirSync(path.dirname(target)), ['doorbell.wav'], 'no temporary file left');
      // A folder from msg.filename receives the server's file name.
      await helper.unload();
      await helper.load(nodes, ttsFlow(sim, { output: 'file', createFolders: true }));
      await ready(sim);
      const r2 = await run(msg({ payload: 'Again.', filename: `${dir}/drop/` }));
      assert.ok(r2.msg, r2.error && r2.error.message);
      assert.equal(path.dirname(r2.msg.filename), path.join(dir, 'drop'));
      assert.ok(fs.existsSync(r2.msg.filename));
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('rebases a legacy absolute URL on the configured server', async function () {
      sim = await startSim({ legacyApi: { ip: '10.11.12.13' } });
      await helper.load(nodes, ttsFlow(sim));
      await ready(sim);
      const r = await run(msg({ payload: 'legacy' }));
      assert.ok(r.msg, r.error && r.error.message);
      assert.ok(r.msg.url.startsWith(`${sim.url}/audio/`), r.msg.url);
      assert.ok(r.msg.alltalk.response.output_file_url.startsWith('http://10.11.12.13'));
      assert.ok(Buffer.isBuffer(r.msg.payload) && r.msg.payload.length > 44);
    });
  });
});
