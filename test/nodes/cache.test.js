'use strict';
// The audio cache through the nodes, in a real Node-RED runtime against the simulator: a repeat is
// answered without calling AllTalk and in the same shape; every field, the format and the loaded
// model are in the key (file names and autoplay are not); msg.alltalk.cache and the node option;
// persistence on disk across a redeploy and a new runtime; size limits; corrupt or missing files.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helper, NODES, startSim, configNode, waitFor } = require('./support');
const { run, msg, generations, ready } = require('./tts-support');

const TTS = require('../../nodes/alltalk-tts.js');
const OPENAI = require('../../nodes/alltalk-openai.js');
const CONTROL = require('../../nodes/alltalk-control.js');
const nodes = [NODES.config, TTS, OPENAI, CONTROL];
const VOICE = 'female_01.wav';

function flow(sim, { tts = {}, cfg = {}, openai = {} } = {}) {
  return [
    configNode(sim, cfg),
    { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 2000, splitLongText: false, output: 'buffer', filePath: '', character_voice_gen: VOICE, wires: [['out']], ...tts },
    { id: 'oa', type: 'alltalk-openai', server: 'cfg', property: 'payload', propertyType: 'msg', voice: 'alloy', format: 'mp3', model: 'tts-1', output: '', wires: [['out']], ...openai },
    { id: 'ctl', type: 'alltalk-control', server: 'cfg', command: '', wires: [['out']] },
    { id: 'out', type: 'helper' },
  ];
}

const speech = (sim) => sim.requests.filter((r) => r.path === '/v1/audio/speech');
const cacheDir = (userDir) => path.join(userDir, 'alltalk-cache', 'cfg');
const entries = (userDir) => fs.readdirSync(cacheDir(userDir)).filter((f) => /^[0-9a-f]{40}\.(wav|mp3)$/.test(f));

describe('the audio cache in the nodes', function () {
  this.timeout(30000);
  let sim;
  let userDir;

  beforeEach(async function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-cache-nodes-'));
    helper.settings({ userDir });
    sim = await startSim();
  });

  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await sim.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('alltalk-tts: a repeat comes from the cache, without calling AllTalk, in the same shape', async function () {
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const first = await run(msg({ payload: 'The washing machine is done.', topic: 'laundry' }));
    const second = await run(msg({ payload: 'The washing machine is done.', topic: 'laundry' }));
    assert.equal(generations(sim).length, 1, 'one generation');
    assert.equal(sim.requests.filter((r) => r.path.startsWith('/audio')).length, 1, 'one download');
    assert.equal(first.msg.alltalk.cached, false);
    assert.equal(second.msg.alltalk.cached, true);
    assert.ok(Buffer.isBuffer(second.msg.payload));
    assert.ok(second.msg.payload.equals(first.msg.payload), 'the same audio');
    for (const key of ['url', 'urls', 'cacheUrl', 'filePath', 'contentType', 'topic']) assert.deepEqual(second.msg[key], first.msg[key], key);
    assert.deepEqual(second.msg.alltalk.request, first.msg.alltalk.request);
    assert.deepEqual(second.msg.alltalk.response, first.msg.alltalk.response);
    assert.equal(second.msg.alltalk.bytes, first.msg.alltalk.bytes);
    assert.deepEqual(Object.keys(second.msg.alltalk.timing).sort(), Object.keys(first.msg.alltalk.timing).sort());
    assert.equal(entries(userDir).length, 1, 'one entry on disk');
  });

  it('alltalk-tts: any field that changes the sound is a miss; file names and the output mode are not', async function () {
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const text = 'Dinner is ready.';
    assert.equal((await run(msg({ payload: text }))).msg.alltalk.cached, false);
    const misses = [{ payload: 'Dinner is ready!' }, { payload: text, language: 'de' }, { payload: text, speed: 1.5 },
      { payload: text, alltalk: { temperature: 0.5 } }, { payload: text, alltalk: { text_filtering: 'none' } }];
    for (const m of misses) assert.equal((await run(msg(m))).msg.alltalk.cached, false, JSON.stringify(m));
    const hits = [{ payload: text, alltalk: { output_file_name: 'other_name' } }, { payload: text, alltalk: { output_file_timestamp: false } }];
    for (const m of hits) assert.equal((await run(msg(m))).msg.alltalk.cached, true, JSON.stringify(m));
    assert.equal(generations(sim).length, 1 + misses.length);
    // autoplay plays on the AllTalk machine: it always goes there.
    const auto = await run(msg({ payload: text, alltalk: { autoplay: true } }));
    assert.equal(auto.msg.alltalk.cached, undefined);
    assert.equal(generations(sim).length, 2 + misses.length);
  });

  it('alltalk-tts: another loaded model is a miss', async function () {
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const c = helper.getNode('cfg').connection;
    const models = c.cache.settings.models_available.map((m) => m.name);
    const other = models.find((m) => m !== c.cache.settings.current_model_loaded);
    assert.ok(other, `another model among ${models}`);
    await run(msg({ payload: 'Good night.' }));
    await c.changeModel((signal) => c.client.reloadModel(other, { signal, models }));
    assert.equal(c.cache.settings.current_model_loaded, other);
    const after = await run(msg({ payload: 'Good night.' }));
    assert.equal(after.msg.alltalk.cached, false);
    assert.equal(generations(sim).length, 2);
  });

  it('a model change queued ahead of a message: its audio is kept under the model that made it', async function () {
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const c = helper.getNode('cfg').connection;
    const models = c.cache.settings.models_available.map((m) => m.name);
    const first = c.cache.settings.current_model_loaded;
    const other = models.find((m) => m !== first);
    const release = sim.holdEngine();
    const blocker = run(msg({ payload: 'Blocking the queue.' }));
    await waitFor(() => sim.generations.length === 1, 'generating');
    const change = run(msg({ topic: 'load-model', payload: other, priority: 5 }), 'ctl');
    const hello = run(msg({ payload: 'Hello there.' }));
    await waitFor(() => c.queue.length === 2, 'both waiting');
    release();
    await blocker;
    assert.equal((await change).msg.payload.ok, true);
    assert.equal((await hello).msg.alltalk.cached, false);
    assert.equal(c.cache.settings.current_model_loaded, other);
    // Made by the other model, kept as the other model's: a repeat now is a hit ...
    assert.equal((await run(msg({ payload: 'Hello there.' }))).msg.alltalk.cached, true);
    // ... and with the first model back, it is not taken for that model's.
    await c.changeModel((signal) => c.client.reloadModel(first, { signal, models }));
    assert.equal((await run(msg({ payload: 'Hello there.' }))).msg.alltalk.cached, false);
  });

  it('msg.alltalk.cache = false skips the cache; the node option off never looks; anything else is refused before sending', async function () {
    await helper.load(nodes, [...flow(sim), { id: 'tts2', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 2000, output: 'buffer', character_voice_gen: VOICE, cache: false, wires: [['out']] }]);
    await ready(sim);
    await run(msg({ payload: 'Hello.' }));
    const skipped = await run(msg({ payload: 'Hello.', alltalk: { cache: false } }));
    assert.equal(skipped.msg.alltalk.cached, undefined);
    const skippedText = await run(msg({ payload: 'Hello.', alltalk: { cache: 'false' } }));
    assert.equal(skippedText.msg.alltalk.cached, undefined, 'the string "false" as well');
    const off = await run(msg({ payload: 'Hello.' }), 'tts2');
    assert.equal(off.msg.alltalk.cached, undefined);
    const forced = await run(msg({ payload: 'Hello.', alltalk: { cache: true } }), 'tts2');
    assert.equal(forced.msg.alltalk.cached, true);
    assert.equal(generations(sim).length, 4);
    const bad = await run(msg({ payload: 'Hello.', alltalk: { cache: 'no' } }));
    assert.equal(bad.error.kind, 'validation');
    assert.match(bad.error.message, /msg\.alltalk\.cache must be true or false/);
    assert.equal(generations(sim).length, 4, 'nothing sent');
  });

  it('survives a redeploy and a new runtime on the same user directory; deleting the server configuration removes it', async function () {
    await helper.load(nodes, flow(sim));
    await ready(sim);
    await run(msg({ payload: 'The post has arrived.' }));
    await helper.unload();
    await helper.load(nodes, flow(sim));
    await ready(sim);
    assert.equal((await run(msg({ payload: 'The post has arrived.' }))).msg.alltalk.cached, true, 'after a redeploy');
    await helper.unload();
    await helper.stopServer();
    await helper.startServer();
    await helper.load(nodes, flow(sim));
    await ready(sim);
    assert.equal((await run(msg({ payload: 'The post has arrived.' }))).msg.alltalk.cached, true, 'in a new runtime');
    assert.equal(generations(sim).length, 0);
    // Deleted from the flows: Node-RED closes it with removed = true.
    await helper.getNode('cfg').close(true);
    await waitFor(() => !fs.existsSync(cacheDir(userDir)), 'the folder removed');
  });

  it('keeps to its size: the least recently used go first; 0 MB keeps nothing', async function () {
    await helper.load(nodes, flow(sim, { cfg: { cacheMaxMb: 0.1 } }));
    await ready(sim);
    const texts = ['One fine day.', 'Two fine days.', 'Three fine days.', 'Four fine days.', 'Five fine days.'];
    const sizes = [];
    for (const t of texts) sizes.push((await run(msg({ payload: t }))).msg.alltalk.bytes);
    assert.ok(sizes.reduce((a, b) => a + b) > 0.1 * 1024 * 1024, `the audio (${sizes}) is more than 0.1 MB`);
    const total = entries(userDir).reduce((n, f) => n + fs.statSync(path.join(cacheDir(userDir), f)).size, 0);
    assert.ok(total <= 0.1 * 1024 * 1024, `${total} bytes kept`);
    assert.equal((await run(msg({ payload: texts[4] }))).msg.alltalk.cached, true, 'the newest is kept');
    assert.equal((await run(msg({ payload: texts[0] }))).msg.alltalk.cached, false, 'the oldest went');
    await helper.unload();
    await helper.load(nodes, flow(sim, { cfg: { cacheMaxMb: 0 } }));
    await ready(sim);
    assert.equal((await run(msg({ payload: texts[4] }))).msg.alltalk.cached, undefined);
    assert.equal(generations(sim).length, 1);
  });

  it('a corrupt, cut or missing file is a miss, never an error', async function () {
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const text = 'The oven is hot.';
    const first = await run(msg({ payload: text }));
    const file = () => path.join(cacheDir(userDir), entries(userDir)[0]);
    fs.truncateSync(file(), 100);
    const cut = await run(msg({ payload: text }));
    assert.equal(cut.error, undefined);
    assert.equal(cut.msg.alltalk.cached, false);
    assert.ok(cut.msg.payload.equals(first.msg.payload));
    fs.rmSync(file());
    assert.equal((await run(msg({ payload: text }))).msg.alltalk.cached, false);
    assert.equal(generations(sim).length, 3);
    fs.writeFileSync(path.join(cacheDir(userDir), path.basename(file(), '.wav') + '.json'), '{not json');
    await helper.unload();
    await helper.load(nodes, flow(sim));
    await ready(sim);
    assert.equal((await run(msg({ payload: text }))).msg.alltalk.cached, false, 'a corrupt description after a restart');
    assert.equal(generations(sim).length, 1);
  });

  it('alltalk-tts file output: a hit writes the cached audio to the file', async function () {
    const out = path.join(userDir, 'out');
    await helper.load(nodes, flow(sim, { tts: { output: 'file', filePath: `${out}/`, createFolders: true } }));
    await ready(sim);
    const first = await run(msg({ payload: 'Rain is coming.' }));
    fs.rmSync(first.msg.payload);
    const second = await run(msg({ payload: 'Rain is coming.' }));
    assert.equal(second.msg.alltalk.cached, true);
    assert.equal(second.msg.payload, first.msg.payload);
    assert.equal(fs.statSync(second.msg.payload).size, first.msg.alltalk.bytes);
  });

  it('alltalk-openai: a repeat comes from the cache; the format and the voice are in the key', async function () {
    await helper.load(nodes, flow(sim, { openai: { voice: '', format: '' } }));
    await ready(sim);
    const first = await run(msg({ payload: 'Welcome home.', voice: 'alloy' }), 'oa');
    const second = await run(msg({ payload: 'Welcome home.', voice: 'alloy' }), 'oa');
    assert.equal(first.msg.alltalk.cached, false);
    assert.equal(second.msg.alltalk.cached, true);
    assert.ok(second.msg.payload.equals(first.msg.payload));
    assert.equal(second.msg.contentType, 'audio/mpeg');
    assert.equal((await run(msg({ payload: 'Welcome home.', voice: 'alloy', format: 'wav' }), 'oa')).msg.alltalk.cached, false);
    assert.equal((await run(msg({ payload: 'Welcome home.', voice: 'nova' }), 'oa')).msg.alltalk.cached, false);
    assert.equal((await run(msg({ payload: 'Welcome home.', voice: 'alloy', format: 'pcm' }), 'oa')).msg.alltalk.cached, false);
    const pcm = await run(msg({ payload: 'Welcome home.', voice: 'alloy', format: 'pcm' }), 'oa');
    assert.equal(pcm.msg.alltalk.cached, true);
    assert.equal(pcm.msg.contentType, 'audio/pcm');
    assert.equal(speech(sim).length, 4);
  });

  it('alltalk-openai: output url without the address for speakers is refused before sending', async function () {
    await helper.load(nodes, flow(sim, { openai: { output: 'url' } }));
    await ready(sim);
    const r = await run(msg({ payload: 'Hello.' }), 'oa');
    assert.equal(r.error.kind, 'validation');
    assert.match(r.error.message, /address of Node-RED for speakers/);
    assert.equal(speech(sim).length, 0);
  });

  it('alltalk-control clear-cache empties it (voicemap too); the admin route shows and clears it', async function () {
    await helper.load(nodes, flow(sim));
    await ready(sim);
    await run(msg({ payload: 'Clear me.' }));
    await run(msg({ payload: 'Clear me too.' }), 'oa');
    const stats = await helper.request().get('/alltalk/server/cfg').expect(200);
    assert.equal(stats.body.cache.entries, 2);
    assert.ok(stats.body.cache.bytes > 0);
    const cleared = await run(msg({ topic: 'clear-cache' }), 'ctl');
    assert.deepEqual(cleared.msg.payload.response.entries, 2);
    assert.equal(cleared.msg.payload.ok, true);
    assert.equal(entries(userDir).length, 0);
    assert.equal((await run(msg({ payload: 'Clear me.' }))).msg.alltalk.cached, false);
    const viaRoute = await helper.request().post('/alltalk/server/cfg/cache/clear').expect(200);
    assert.equal(viaRoute.body.removed.entries, 1);
    assert.equal(viaRoute.body.cache.entries, 0);
    await run(msg({ payload: 'Clear me too.' }), 'oa');
    const voices = sim.voices.filter((v) => v.endsWith('.wav'));
    const map = Object.fromEntries(['alloy', 'echo', 'fable', 'nova', 'onyx', 'shimmer'].map((k) => [k, voices[0]]));
    const mapped = await run(msg({ topic: 'voicemap', payload: map }), 'ctl');
    assert.equal(mapped.msg.payload.cacheCleared.entries, 1);
    assert.equal((await run(msg({ payload: 'Clear me too.' }), 'oa')).msg.alltalk.cached, false);
  });

  it('a cache folder that cannot be made: generation goes on without it, the server configuration says why', async function () {
    fs.writeFileSync(path.join(userDir, 'alltalk-cache'), 'a file where the folder should be');
    await helper.load(nodes, flow(sim, { cfg: { speakerUrl: 'http://127.0.0.1:1880' } }));
    const warnings = [];
    helper.getNode('cfg').on('call:warn', (call) => warnings.push(String(call.args[0])));
    await ready(sim);
    await waitFor(() => warnings.some((w) => /audio cache is off: the cache folder .*alltalk-cache/.test(w)), 'the warning');
    const plain = await run(msg({ payload: 'Still spoken.', alltalk: { output: 'buffer' } }));
    assert.ok(Buffer.isBuffer(plain.msg.payload));
    assert.equal(plain.msg.alltalk.cached, undefined);
    const url = await run(msg({ payload: 'Still spoken.' }), 'oa');
    assert.ok(url.msg.payload.length > 0);
    const before = speech(sim).length;
    const served = await run(msg({ payload: 'Served?', alltalk: { output: 'url' } }), 'oa');
    assert.equal(served.error.kind, 'validation');
    assert.match(served.error.message, /cannot serve audio by URL: the cache folder .* cannot be used/);
    assert.equal(speech(sim).length, before, 'nothing sent');
  });
});
