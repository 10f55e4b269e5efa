'use strict';
// URLs that Node-RED serves to speakers, fetched by a plain HTTP client over loopback: cached audio
// with its type and length, ranges and HEAD; 404 for anything else; alltalk-stream's live URL that
// starts the stream when fetched, once; and alltalk-stream's own cache (kept when finished, replayed).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { helper, NODES, startSim, configNode, waitFor, collect } = require('./support');
const { run, msg, generations, ready } = require('./tts-support');
const { parseWav } = require('../../dist/api');

const VOICE = 'female_01.wav';
/** Serves Node-RED's HTTP-node app (the test runtime does not listen on it itself). */
let httpNode;
function captureHttpNode(RED) {
  httpNode = RED.httpNode;
}
const nodes = [NODES.config, require('../../nodes/alltalk-tts.js'), require('../../nodes/alltalk-openai.js'), require('../../nodes/alltalk-stream.js'), captureHttpNode];

function request(url, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('URLs served by Node-RED for speakers', function () {
  this.timeout(30000);
  let sim;
  let server;
  let base;
  let userDir;

  function flow(cfg = {}, extra = {}) {
    return [
      configNode(sim, { speakerUrl: base, ...cfg }),
      { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 60, splitLongText: true, output: 'url', character_voice_gen: VOICE, wires: [['out']], ...extra.tts },
      { id: 'oa', type: 'alltalk-openai', server: 'cfg', property: 'payload', propertyType: 'msg', voice: 'alloy', format: 'mp3', output: 'url', wires: [['out']] },
      { id: 'st', type: 'alltalk-stream', server: 'cfg', property: 'payload', propertyType: 'msg', voice: VOICE, language: 'en', output: 'url', maxCharacters: 2000, wires: [['out']], ...extra.st },
      { id: 'out', type: 'helper' },
    ];
  }

  beforeEach(async function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-speaker-'));
    helper.settings({ userDir });
    sim = await startSim();
    server = http.createServer((req, res) => httpNode(req, res));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${server.address().port}`;
  });

  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await sim.stop();
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  it('alltalk-tts output url: a URL on Node-RED with the audio, its type, length, ranges and HEAD; a repeat gives the same URL', async function () {
    await helper.load(nodes, flow());
    await ready(sim);
    const { msg: m } = await run(msg({ payload: 'The washing machine is done.' }));
    assert.match(m.url, new RegExp(`^${base}/alltalk-audio/cfg/[0-9a-f]{40}\\.wav$`));
    assert.equal(m.payload, m.url);
    assert.deepEqual(m.urls, [m.url]);
    const got = await request(m.url);
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-type'], 'audio/wav');
    assert.equal(Number(got.headers['content-length']), got.body.length);
    assert.equal(got.body.length, m.alltalk.bytes);
    assert.ok(parseWav(got.body).duration > 0);
    const part = await request(m.url, { headers: { Range: 'bytes=0-99' } });
    assert.equal(part.status, 206);
    assert.equal(part.body.length, 100);
    assert.equal(part.headers['content-range'], `bytes 0-99/${got.body.length}`);
    assert.ok(part.body.equals(got.body.subarray(0, 100)));
    const tail = await request(m.url, { headers: { Range: 'bytes=-10' } });
    assert.ok(tail.body.equals(got.body.subarray(-10)));
    // Past the end: 416, not "not found"; the validators hold from one request to the next.
    const past = await request(m.url, { headers: { Range: `bytes=${got.body.length + 10}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers['content-range'], `bytes */${got.body.length}`);
    const again1 = await request(m.url);
    assert.equal(again1.headers.etag, got.headers.etag);
    assert.equal(again1.headers['last-modified'], got.headers['last-modified']);
    assert.equal((await request(m.url, { headers: { 'If-None-Match': got.headers.etag } })).status, 304);
    const resumed = await request(m.url, { headers: { 'If-Range': got.headers.etag, Range: 'bytes=100-199' } });
    assert.equal(resumed.status, 206);
    assert.ok(resumed.body.equals(got.body.subarray(100, 200)));
    assert.equal((await request(m.url, { headers: { 'If-Match': '"other"' } })).status, 412);
    const head = await request(m.url, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(Number(head.headers['content-length']), got.body.length);
    const again = await run(msg({ payload: 'The washing machine is done.' }));
    assert.equal(again.msg.url, m.url);
    assert.equal(again.msg.alltalk.cached, true);
    assert.equal(generations(sim).length, 1);
  });

  it('a relative user directory in the settings still serves the files', async function () {
    helper.settings({ userDir: path.relative(process.cwd(), userDir) });
    await helper.load(nodes, flow());
    await ready(sim);
    const { msg: m } = await run(msg({ payload: 'Relative paths are fine.' }));
    const got = await request(m.url);
    assert.equal(got.status, 200);
    assert.equal(got.body.length, m.alltalk.bytes);
  });

  it('a split text gets one URL for the joined audio; alltalk-openai gives its mp3', async function () {
    await helper.load(nodes, flow());
    await ready(sim);
    const long = 'The first sentence is here. The second sentence follows it. And a third one ends the text.';
    const { msg: m } = await run(msg({ payload: long }));
    assert.ok(m.alltalk.parts > 1, `${m.alltalk.parts} parts`);
    assert.match(m.url, /\/alltalk-audio\/cfg\/[0-9a-f]{40}\.wav$/);
    const wav = parseWav((await request(m.url)).body);
    assert.ok(wav.duration > 0);
    const oa = await run(msg({ payload: 'Welcome home.' }), 'oa');
    assert.match(oa.msg.url, /\/alltalk-audio\/cfg\/[0-9a-f]{40}\.mp3$/);
    const mp3 = await request(oa.msg.url);
    assert.equal(mp3.headers['content-type'], 'audio/mpeg');
    assert.ok(mp3.body.equals(Buffer.alloc(0)) === false);
  });

  it('anything else under the route is 404: unknown names, other servers, paths out of the folder, listings', async function () {
    await helper.load(nodes, flow());
    await ready(sim);
    const { msg: m } = await run(msg({ payload: 'Secret stays inside.' }));
    const name = path.basename(new URL(m.url).pathname);
    const paths = [`/alltalk-audio/cfg/${'0'.repeat(40)}.wav`, `/alltalk-audio/cfg/${name.replace('.wav', '.mp3')}`,
      `/alltalk-audio/cfg/${name.replace('.wav', '.json')}`, '/alltalk-audio/cfg/secret', '/alltalk-audio/cfg/', '/alltalk-audio/cfg',
      `/alltalk-audio/other/${name}`, '/alltalk-audio/cfg/..%2fsecret', '/alltalk-audio/cfg/%2e%2e%2f%2e%2e%2fsettings.js',
      `/alltalk-audio/cfg/live-${'a'.repeat(32)}.wav`, `/alltalk-audio/cfg/${name.toUpperCase()}`];
    for (const p of paths) {
      const r = await request(`${base}${p}`);
      assert.equal(r.status, 404, p);
      assert.ok(!/^[0-9a-f]{64}$/.test(r.body.toString()), `${p} leaks the secret`);
    }
  });

  it('alltalk-stream output url: a single-use URL at once; the stream starts when a speaker fetches it', async function () {
    await helper.load(nodes, flow());
    await ready(sim);
    const out = collect(helper.getNode('out'));
    const ended = [];
    helper.getNode('st').on('call:error', (call) => ended.push(call.args[0]));
    helper.getNode('st').receive(msg({ payload: 'Someone is at the door.' }));
    await waitFor(() => out.length === 1, 'the URL');
    const url = out[0].url;
    assert.match(url, new RegExp(`^${base}/alltalk-audio/cfg/live-[0-9a-f]{32}\\.wav$`));
    assert.equal(out[0].payload, url);
    assert.equal(sim.requests.filter((r) => r.path.startsWith('/api/tts-generate-streaming')).length, 0, 'nothing generated before the fetch');
    const head = await request(url, { method: 'HEAD' });
    assert.equal(head.status, 200, 'a look does not use it up');
    const got = await request(url);
    assert.equal(got.status, 200);
    assert.equal(got.headers['content-type'], 'audio/wav');
    assert.equal(got.body.toString('latin1', 0, 4), 'RIFF');
    assert.ok(got.body.length > 44 + 1000, `${got.body.length} bytes streamed`);
    assert.equal(sim.requests.filter((r) => r.path.startsWith('/api/tts-generate-streaming')).length, 1);
    assert.equal((await request(url)).status, 404, 'used once');
    assert.equal(ended.length, 0);
  });

  it('alltalk-stream output url: a stop before the fetch ends the message with an error and frees the URL; nothing is generated', async function () {
    await helper.load(nodes, flow());
    await ready(sim);
    const out = collect(helper.getNode('out'));
    const errors = [];
    helper.getNode('st').on('call:error', (call) => errors.push(call.args[0]));
    helper.getNode('st').receive(msg({ payload: 'Never fetched.' }));
    await waitFor(() => out.length === 1, 'the URL');
    helper.getNode('st').receive(msg({ topic: 'stop' }));
    await waitFor(() => errors.length === 1, 'the error');
    assert.equal(errors[0].kind, 'aborted');
    assert.equal((await request(out[0].url)).status, 404);
    assert.equal(sim.requests.filter((r) => r.path.startsWith('/api/tts-generate-streaming')).length, 0);
  });

  it('alltalk-stream cache: a finished stream is kept and replayed as chunks a join rebuilds', async function () {
    await helper.load(nodes, flow({}, { st: { output: '', cache: true } }));
    await ready(sim);
    const asBuffer = { output: 'buffer' };
    const first = await run(msg({ payload: 'The garage door is open.', alltalk: asBuffer }), 'st');
    const second = await run(msg({ payload: 'The garage door is open.', alltalk: asBuffer }), 'st');
    assert.equal(first.msg.alltalk.cached, false);
    assert.equal(second.msg.alltalk.cached, true);
    assert.ok(second.msg.payload.equals(first.msg.payload), 'the same WAV');
    assert.deepEqual(second.msg.audioFormat, first.msg.audioFormat);
    assert.equal(second.msg.alltalk.seconds, first.msg.alltalk.seconds);
    assert.equal(sim.requests.filter((r) => r.path.startsWith('/api/tts-generate-streaming')).length, 1);
    // As chunks: the pieces, joined, are the whole WAV again.
    const chunks = collect(helper.getNode('out'));
    helper.getNode('st').receive(msg({ payload: 'The garage door is open.', alltalk: { output: 'chunks' } }));
    await waitFor(() => chunks.some((c) => c.parts && c.parts.count !== undefined), 'the last chunk');
    assert.ok(chunks.length > 1);
    assert.ok(Buffer.concat(chunks.map((c) => c.payload)).equals(first.msg.payload));
    assert.equal(chunks[chunks.length - 1].alltalk.cached, true);
  });

  it('alltalk-stream cache: a stopped stream is not kept', async function () {
    await sim.stop();
    sim = await startSim({ streamChunkSamples: 2400, streamChunkIntervalMs: 20, audioSecondsPerChar: 0.5 });
    await helper.load(nodes, flow({}, { st: { output: 'buffer', cache: true } }));
    await ready(sim);
    const text = 'A long announcement that will be stopped half way through.';
    const stopped = run(msg({ payload: text }), 'st');
    await waitFor(() => helper.getNode('cfg').connection.queue.running === 1, 'streaming');
    await new Promise((r) => setTimeout(r, 200));
    helper.getNode('st').receive(msg({ topic: 'stop' }));
    assert.equal((await stopped).msg.alltalk.stopped, true);
    // Nothing kept, nothing half-written left behind.
    const folder = path.join(userDir, 'alltalk-cache', 'cfg');
    await waitFor(() => fs.readdirSync(folder).every((f) => f === 'secret'), 'an empty cache folder');
    assert.equal(helper.getNode('cfg').audio.cache.stats().entries, 0);
  });
});
