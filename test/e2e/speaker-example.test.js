'use strict';
// examples/announce-to-speaker.json, all its nodes, in a real Node-RED process against the simulator,
// its "Address for speakers" set to that Node-RED: the injects are triggered through the admin API
// (POST /inject/<id>), the play requests read from the example's debug node (the editor's /comms
// socket), and the URLs fetched as a speaker would, with a plain HTTP client: the cached audio (GET,
// HEAD, Range), any other name under /alltalk-audio/ refused with 404, the same phrase again answered
// from the cache (AllTalk called once), and the stream URL streamed when fetched, once.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const WebSocket = require('ws');
const { AllTalkSimulator } = require('../../dist/simulator');
const { startNodeRed } = require('./node-red');

const root = path.join(__dirname, '..', '..');
const example = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'announce-to-speaker.json'), 'utf8'));
const TAB = 'speaker-tab';
const SERVER = 'alltalk-example-server-announce-to-speaker';
const PHRASE = 'The washing machine is done.';
const DOORBELL = 'Someone is at the front door.';

/** Time on the simulator's clock (it records generations with performance.timeOrigin + now()). */
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(predicate, what, timeoutMs = 10000) {
  const started = Date.now();
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * A request with the path sent as it is (fetch would resolve "../" first): { status, headers, body,
 * firstDataAt }. `url` is a full URL or a path on `base`.
 */
function request(base, url, { method = 'GET', headers = {} } = {}) {
  const target = url.startsWith('http') ? new URL(url) : new URL(base);
  const rawPath = url.startsWith('http') ? target.pathname : url;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.hostname, port: target.port, method, path: rawPath, headers, timeout: 10000 }, (res) => {
      const chunks = [];
      let firstDataAt;
      res.on('data', (c) => {
        firstDataAt ??= now();
        chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), firstDataAt }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${rawPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

const isWav = (b) => b.length > 44 && b.toString('ascii', 0, 4) === 'RIFF' && b.toString('ascii', 8, 12) === 'WAVE';

describe('examples/announce-to-speaker.json in a real Node-RED process (e2e)', function () {
  this.timeout(30000);
  let sim;
  let red;
  let socket;
  let cachedUrl;
  /** Every message of the example's debug nodes: { id (the debug node), msg (decoded) }. */
  const debugMessages = [];

  const get = (url, options) => request(red.base, url, options);

  async function inject(id) {
    assert.ok(example.some((n) => n.id === id && n.type === 'inject'), `the example has the inject ${id}`);
    const r = await fetch(`${red.base}/inject/${id}`, { method: 'POST', signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 200, `POST /inject/${id}: ${await r.text()}`);
  }

  /** The next message (from index `from` on) the debug node "to the speaker" shows. */
  const nextPlayRequest = (from) =>
    waitFor(() => debugMessages.slice(from).find((m) => m.id === 'speaker-to-speaker')?.msg, `a play request\n${red.output()}`);

  /** The server as the config node sees it (the editor's admin route). */
  const serverView = async () => (await fetch(`${red.base}/alltalk/server/${SERVER}`, { signal: AbortSignal.timeout(5000) })).json();

  const generateRequests = (text) => sim.requests.filter((r) => r.path === '/api/tts-generate' && r.form && r.form.text_input === text);

  before(async function () {
    // 40 ms between 0.2 s chunks: a stream lasts long enough to see it arrive while it is generated.
    sim = new AllTalkSimulator({ port: 0, streamChunkIntervalMs: 40 });
    await sim.start();
    red = await startNodeRed({ flows: [], label: 'e2e-speaker' });
    // The example as the editor imports it, on a tab, the config node pointed at the simulator and
    // its address for speakers at this Node-RED (known once it runs), deployed as Deploy does.
    const flows = [
      { id: TAB, type: 'tab', label: 'announce to a speaker' },
      ...example.map((n) => {
        if (n.type === 'alltalk-config') return { ...n, port: String(sim.port), speakerUrl: red.base };
        return n.x === undefined ? n : { ...n, z: TAB };
      }),
    ];
    const deployed = await fetch(`${red.base}/flows`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(flows),
      signal: AbortSignal.timeout(10000),
    });
    assert.equal(deployed.status, 204, await deployed.text());
    socket = new WebSocket(`ws://127.0.0.1:${red.port}/comms`);
    socket.on('message', (data) => {
      for (const { topic, data: d } of JSON.parse(String(data))) {
        if (topic === 'debug') debugMessages.push({ id: d.id, msg: d.format && d.format.startsWith('Object') ? JSON.parse(d.msg) : d.msg });
      }
    });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ subscribe: 'debug' }));
    await waitFor(async () => {
      const view = await serverView();
      return view.deployed && view.state === 'ready' && view.voices.includes('female_01.wav');
    }, `the server configuration ready\n${red.output()}`);
  });

  after(async function () {
    if (socket) socket.close();
    if (red) await red.stop();
    if (sim) await sim.stop();
  });

  it('deploys every node of the example; the server configuration serves speaker URLs', async function () {
    const deployed = await (await fetch(`${red.base}/flows`)).json();
    assert.deepEqual(deployed.map((n) => n.id).sort(), [TAB, ...example.map((n) => n.id)].sort());
    const view = await serverView();
    assert.equal(view.cache.speakerUrls, true, JSON.stringify(view.cache));
    assert.equal(view.cache.speakerProblem, undefined);
  });

  it('the washing machine: a URL on Node-RED in a play request, which GET answers with the WAV AllTalk made', async function () {
    const from = debugMessages.length;
    await inject('speaker-washing-done');
    const msg = await nextPlayRequest(from);
    const prefix = `${red.base}/alltalk-audio/${SERVER}/`;
    assert.match(msg.url, new RegExp(`^${prefix.replace(/[.]/g, '\\.')}[0-9a-f]{40}\\.wav$`));
    assert.deepEqual(msg.payload, { entity_id: 'media_player.kitchen', media_content_id: msg.url, media_content_type: 'music', announce: true });
    assert.equal(msg.alltalk.cached, false, 'generated, not from the cache');
    cachedUrl = msg.url;

    const r = await get(cachedUrl);
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.headers['content-type'], 'audio/wav');
    assert.equal(Number(r.headers['content-length']), r.body.length);
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.ok(isWav(r.body), `a WAV, not ${r.body.subarray(0, 12).toString('hex')}`);
    // The very audio AllTalk made, as AllTalk serves it itself.
    const original = await fetch(`http://127.0.0.1:${sim.port}${msg.alltalk.response.output_file_url}`);
    assert.ok(Buffer.from(await original.arrayBuffer()).equals(r.body), 'the same bytes as AllTalk\'s file');
    assert.equal(generateRequests(PHRASE).length, 1);
  });

  it('answers Range requests (206 with Content-Range) and HEAD (the headers, no body)', async function () {
    const whole = (await get(cachedUrl)).body;
    const part = await get(cachedUrl, { headers: { Range: 'bytes=0-99' } });
    assert.equal(part.status, 206);
    assert.equal(part.body.length, 100);
    assert.equal(Number(part.headers['content-length']), 100);
    assert.equal(part.headers['content-range'], `bytes 0-99/${whole.length}`);
    assert.ok(part.body.equals(whole.subarray(0, 100)));
    const tail = await get(cachedUrl, { headers: { Range: `bytes=${whole.length - 10}-` } });
    assert.equal(tail.status, 206);
    assert.ok(tail.body.equals(whole.subarray(whole.length - 10)));
    assert.equal((await get(cachedUrl, { headers: { Range: `bytes=${whole.length + 10}-` } })).status, 416);

    const head = await get(cachedUrl, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-type'], 'audio/wav');
    assert.equal(Number(head.headers['content-length']), whole.length);
    assert.equal(head.body.length, 0);
  });

  it('refuses any other name under /alltalk-audio/ with 404, never serving another file', async function () {
    const id = /([0-9a-f]{40})\.wav$/.exec(cachedUrl)[1];
    const dir = `/alltalk-audio/${SERVER}`;
    const secret = fs.readFileSync(path.join(red.userDir, 'alltalk-cache', SERVER, 'secret'), 'utf8').trim();
    const settings = fs.readFileSync(path.join(red.userDir, 'settings.js'), 'utf8');
    const names = [
      `${dir}/${'0'.repeat(40)}.wav`, `${dir}/${id}.mp3`, `${dir}/${id.toUpperCase()}.wav`, `${dir}/${id}.json`, `${dir}/${id}`,
      `${dir}/secret`, `${dir}/live-${'0'.repeat(32)}.wav`, `${dir}/../settings.js`, `${dir}/..%2fsettings.js`,
      `${dir}/%2e%2e%2fsettings.js`, `${dir}/%2e%2e%2f%2e%2e%2fsettings.js`, `${dir}/%2e%2e%2f%2e%2e%2fflows.json`,
      `${dir}/..%5c..%5csettings.js`, `${dir}/${id}.wav%00.js`, `${dir}/`, dir, '/alltalk-audio/', '/alltalk-audio',
      `/alltalk-audio/another-server/${id}.wav`, `/alltalk-audio/speaker-announce/${id}.wav`, `/alltalk-audio/..%2f${SERVER}/${id}.wav`,
    ];
    for (const name of names) {
      const r = await get(name);
      assert.equal(r.status, 404, `GET ${name}: ${r.status}`);
      const text = r.body.toString('latin1');
      assert.ok(!isWav(r.body) && !text.includes(secret) && !text.includes('credentialSecret') && !text.includes(settings.slice(0, 40)),
        `GET ${name} gave away a file: ${text.slice(0, 80)}`);
    }
    assert.equal((await get(`${dir}/${'0'.repeat(40)}.wav`, { method: 'HEAD' })).status, 404);
    assert.equal((await get(cachedUrl)).status, 200, 'the right name is still served');
  });

  it('the same phrase again comes from the cache: the same URL, msg.alltalk.cached true, AllTalk called once', async function () {
    const from = debugMessages.length;
    await inject('speaker-washing-done');
    const msg = await nextPlayRequest(from);
    assert.equal(msg.url, cachedUrl);
    assert.equal(msg.payload.media_content_id, cachedUrl);
    assert.equal(msg.alltalk.cached, true);
    assert.equal(generateRequests(PHRASE).length, 1, 'one /api/tts-generate for the phrase in all');
    assert.equal((await get(cachedUrl)).status, 200);
  });

  it('the doorbell: a stream URL that starts the stream when fetched, streamed as it is generated, and only once', async function () {
    sim.clearRequests();
    const from = debugMessages.length;
    await inject('speaker-doorbell');
    const msg = await nextPlayRequest(from);
    assert.match(msg.url, new RegExp(`^${red.base.replace(/[.]/g, '\\.')}/alltalk-audio/${SERVER}/live-[0-9a-f]{32}\\.wav$`));
    assert.equal(msg.payload.media_content_id, msg.url);
    await sleep(200);
    assert.deepEqual(sim.requests.filter((r) => r.path.startsWith('/api/tts-generate')), [], 'nothing generated before a speaker fetches it');

    // A look first (a speaker checking the URL) does not use it up.
    const head = await get(msg.url, { method: 'HEAD' });
    assert.deepEqual([head.status, head.headers['content-type'], head.body.length], [200, 'audio/wav', 0]);

    const r = await get(msg.url);
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.headers['content-type'], 'audio/wav');
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.ok(isWav(r.body), `a WAV header first, not ${r.body.subarray(0, 12).toString('hex')}`);
    const dataAt = r.body.indexOf('data', 12, 'ascii');
    assert.ok(dataAt > 0, 'a data chunk');
    const [generation, ...more] = sim.generations;
    assert.equal(more.length, 0);
    assert.equal(generation.route, '/api/tts-generate-streaming');
    assert.equal(generation.params.text, DOORBELL);
    assert.equal(generation.params.voice, 'female_01.wav');
    assert.equal(generation.outcome, 'success');
    assert.equal(r.body.length - (dataAt + 8), Math.round(generation.audioSeconds * 24000) * 2, 'all the audio generated');
    assert.ok(r.firstDataAt < generation.endedAt, `the first bytes came ${Math.round(generation.endedAt - r.firstDataAt)} ms before the generation ended`);

    const again = await get(msg.url);
    assert.equal(again.status, 404, 'single-use');
    assert.equal((await get(msg.url, { method: 'HEAD' })).status, 404);
    assert.equal(sim.generations.length, 1, 'the second fetch started nothing');
  });

  it('reported no error at the catch node', function () {
    assert.deepEqual(debugMessages.filter((m) => m.id === 'speaker-error'), []);
  });
});
