'use strict';
// The audio cache heals itself, in a real Node-RED runtime against the simulator: a cache folder
// deleted or replaced while Node-RED runs is made again at the next write (output url keeps
// working); a file whose bytes changed at the same size is a miss, never served; identical
// messages at the same moment share one generation (single flight) in every output mode of
// alltalk-tts and alltalk-openai; two configurations sharing one folder see each other's entries;
// configuration ids never share a folder. (Node ids here never equal a property value such as
// "url" or "file": Node-RED would take the property for a reference to that node.)
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { helper, NODES, startSim, configNode, waitFor, runOn } = require('./support');

let httpNode;
function captureHttpNode(RED) {
  httpNode = RED.httpNode;
}
const nodes = [NODES.config, require('../../nodes/alltalk-tts.js'), require('../../nodes/alltalk-openai.js'), captureHttpNode];

function get(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

let seq = 0;
const msg = (props) => ({ _msgid: `ch${++seq}`, ...props });
const ttsGenerations = (sim) => sim.requests.filter((r) => r.path === '/api/tts-generate').length;
const speechGenerations = (sim) => sim.requests.filter((r) => r.path === '/v1/audio/speech').length;

describe('the audio cache heals itself', function () {
  this.timeout(30000);
  let sim;
  let server;
  let base;
  let userDir;
  const folder = () => path.join(userDir, 'alltalk-cache', 'cfg');

  function flow(extra = [], cfg = {}) {
    return [
      configNode(sim, { speakerUrl: base, ...cfg }),
      { id: 'tUrl', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'url', wires: [['out']] },
      { id: 'tBuf', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'buffer', wires: [['out']] },
      { id: 'tFile', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'file', filePath: `${userDir}/written/`, createFolders: true, wires: [['out']] },
      { id: 'oBuf', type: 'alltalk-openai', server: 'cfg', property: 'payload', propertyType: 'msg', voice: 'alloy', format: 'mp3', output: 'buffer', wires: [['out']] },
      { id: 'oUrl', type: 'alltalk-openai', server: 'cfg', property: 'payload', propertyType: 'msg', voice: 'alloy', format: 'wav', output: 'url', wires: [['out']] },
      { id: 'oFile', type: 'alltalk-openai', server: 'cfg', property: 'payload', propertyType: 'msg', voice: 'alloy', format: 'opus', output: 'file', filePath: `${userDir}/speech/`, createFolders: true, wires: [['out']] },
      { id: 'out', type: 'helper' },
      ...extra,
    ];
  }

  async function deploy(extra, cfg) {
    await helper.load(nodes, flow(extra, cfg));
    await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'ready');
    sim.clearRequests();
  }

  async function ok(node, props) {
    const r = await runOn(node, msg(props));
    assert.ok(r.msg && !r.error, r.error && r.error.message);
    return r.msg;
  }

  beforeEach(async function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-healing-'));
    helper.settings({ userDir });
    sim = await startSim();
    server = http.createServer((req, res) => httpNode(req, res));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${server.address().port}`;
  });

  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await new Promise((r) => server.close(r));
    await sim.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('a cache folder deleted while Node-RED runs is made again at the next write; output url keeps working', async function () {
    await deploy();
    const before = await ok('tUrl', { payload: 'The dishwasher is done.' });
    assert.equal((await get(before.payload)).status, 200);
    fs.rmSync(folder(), { recursive: true, force: true });
    for (const text of ['The dishwasher is done.', 'The dryer is done.']) {
      const after = await ok('tUrl', { payload: text });
      assert.equal(after.alltalk.cached, false, 'the old entry went with the folder');
      const res = await get(after.payload);
      assert.equal(res.status, 200, `${text}: served again`);
      assert.equal(res.body.toString('latin1', 0, 4), 'RIFF');
    }
    assert.ok(fs.existsSync(path.join(folder(), 'secret')), 'the folder is back, with its secret');
    const again = await ok('tUrl', { payload: 'The dryer is done.' });
    assert.equal(again.alltalk.cached, true, 'and it caches again');
  });

  it('a cache folder replaced by an empty one while Node-RED runs: the same', async function () {
    await deploy();
    await ok('tBuf', { payload: 'Kept before.' });
    fs.renameSync(folder(), `${folder()}-old`);
    fs.mkdirSync(folder());
    const after = await ok('tUrl', { payload: 'Kept after.' });
    assert.equal((await get(after.payload)).status, 200);
    assert.equal((await ok('tBuf', { payload: 'Kept before.' })).alltalk.cached, false, 'a miss, not an error');
  });

  it('a file whose bytes changed but kept its size is a miss, never served or answered', async function () {
    await deploy();
    const first = await ok('tUrl', { payload: 'Tampered with.' });
    const file = path.join(folder(), first.payload.split('/').pop());
    const bytes = fs.readFileSync(file);
    const changed = Buffer.from(bytes);
    for (let i = 100; i < changed.length; i += 7) changed[i] ^= 0x5a;
    fs.writeFileSync(file, changed);
    assert.equal(fs.statSync(file).size, bytes.length);
    assert.equal((await get(first.payload)).status, 404, 'the changed file is not served');
    const second = await ok('tBuf', { payload: 'Tampered with.' });
    assert.equal(second.alltalk.cached, false);
    assert.ok(!second.payload.equals(changed));
    // Kept again, whole: and the same corruption in a buffer read is a miss too.
    const entry = fs.readdirSync(folder()).find((f) => f.endsWith('.wav'));
    const kept = fs.readFileSync(path.join(folder(), entry));
    kept[kept.length - 1] ^= 0xff;
    fs.writeFileSync(path.join(folder(), entry), kept);
    assert.equal((await ok('tBuf', { payload: 'Tampered with.' })).alltalk.cached, false);
  });

  for (const [node, count] of [['tBuf', ttsGenerations], ['tUrl', ttsGenerations], ['tFile', ttsGenerations], ['oBuf', speechGenerations], ['oUrl', speechGenerations], ['oFile', speechGenerations]]) {
    it(`10 identical messages at once to ${node}: one generation, 10 answers, 9 of them from the shared result`, async function () {
      await deploy();
      const sent = Array.from({ length: 10 }, () => msg({ payload: 'Everybody to the kitchen, dinner is ready.' }));
      const ends = await Promise.all(sent.map((m) => runOn(node, m)));
      for (const e of ends) assert.ok(e.msg && !e.error, e.error && e.error.message);
      assert.deepEqual(ends.map((e) => e.msg._msgid), sent.map((m) => m._msgid), 'each message answered, once');
      assert.equal(count(sim), 1, 'one generation');
      assert.deepEqual(ends.map((e) => e.msg.alltalk.cached).sort(), [false, ...Array(9).fill(true)]);
      const payloads = new Set(ends.map((e) => (Buffer.isBuffer(e.msg.payload) ? e.msg.payload.toString('base64') : e.msg.payload)));
      assert.equal(payloads.size, 1, 'the same answer for all');
    });
  }

  it('a message with msg.alltalk.cache = false still gets its own generation among identical ones', async function () {
    await deploy();
    const same = { payload: 'Lights out in ten minutes.' };
    const ends = await Promise.all([
      runOn('tBuf', msg(same)), runOn('tBuf', msg(same)), runOn('tBuf', msg({ ...same, alltalk: { cache: false } })), runOn('tBuf', msg(same)),
    ]);
    for (const e of ends) assert.ok(e.msg, e.error && e.error.message);
    assert.equal(ttsGenerations(sim), 2);
    assert.equal(ends[2].msg.alltalk.cached, undefined, 'it did not look in the cache');
  });

  it('a shared generation that fails: the next identical message generates instead, and each ends once', async function () {
    await deploy();
    const release = sim.holdEngine();
    const sent = Array.from({ length: 4 }, () => msg({ payload: 'Shared but failing.' }));
    const pending = sent.map((m) => runOn('tBuf', m));
    await waitFor(() => sim.generations.length === 1, 'the first generating');
    // The first one's node is told to stop it: the other three do not fail with it.
    helper.getNode('cfg').connection.cancelInFlight(new Error('cancelled for the test'));
    release();
    const ends = await Promise.all(pending);
    assert.ok(ends[0].error, 'the first failed');
    for (const e of ends.slice(1)) assert.ok(e.msg, e.error && e.error.message);
    assert.equal(ttsGenerations(sim), 2, 'one more generation, shared by the rest');
  });

  it('two configurations sharing one cache folder see each other\'s entries on a miss; deleting one keeps the folder', async function () {
    const shared = path.join(userDir, 'shared-cache');
    const second = [
      { ...configNode(sim, { speakerUrl: base, cacheFolder: shared }), id: 'cfg2' },
      { id: 'tBuf2', type: 'alltalk-tts', server: 'cfg2', property: 'payload', propertyType: 'msg', output: 'buffer', wires: [['out']] },
    ];
    await deploy(second, { cacheFolder: shared });
    await waitFor(() => helper.getNode('cfg2').connection.state.state === 'ready', 'the second ready');
    sim.clearRequests();
    const first = await ok('tBuf', { payload: 'Said through the first.' });
    assert.equal(first.alltalk.cached, false);
    const other = await ok('tBuf2', { payload: 'Said through the first.' });
    assert.equal(other.alltalk.cached, true, 'found on disk, written by the other configuration');
    assert.equal(ttsGenerations(sim), 1);
    assert.ok(other.payload.equals(first.payload));
    // The second configuration deleted (Node-RED closes it with removed = true): the shared folder and the audio stay.
    await helper.getNode('cfg2').close(true);
    assert.ok(fs.readdirSync(shared).some((f) => f.endsWith('.wav')));
    assert.equal((await ok('tBuf', { payload: 'Said through the first.' })).alltalk.cached, true);
  });

  it('configuration ids map to folders without collisions ("a.b" and "a_b"); deleting one keeps the other\'s audio', async function () {
    const pair = (id) => [
      { ...configNode(sim), id },
      { id: `t-${id}`, type: 'alltalk-tts', server: id, property: 'payload', propertyType: 'msg', output: 'buffer', wires: [['out']] },
    ];
    await helper.load(nodes, [...pair('a.b'), ...pair('a_b'), { id: 'out', type: 'helper' }]);
    for (const id of ['a.b', 'a_b']) await waitFor(() => helper.getNode(id).connection.state.state === 'ready', id);
    for (const id of ['a.b', 'a_b']) assert.ok((await runOn(`t-${id}`, msg({ payload: `Hello from ${id}.` }))).msg);
    const folders = fs.readdirSync(path.join(userDir, 'alltalk-cache')).sort();
    assert.equal(folders.length, 2, folders.join());
    await helper.getNode('a.b').close(true);
    const left = fs.readdirSync(path.join(userDir, 'alltalk-cache'));
    assert.equal(left.length, 1);
    const r = await runOn('t-a_b', msg({ payload: 'Hello from a_b.' }));
    assert.equal(r.msg.alltalk.cached, true, 'its audio is still there');
  });
});
