'use strict';
// examples/speak-url.json, all its nodes, in a real Node-RED process against the simulator:
// GET /speak?text=... answers with mp3 (its type, its length, no caching), ?voice= chooses the
// voice, a request without text is refused before anything reaches AllTalk, an error of the speech
// node answers at once (502 without ffmpeg or with AllTalk offline, 400 for a text that is too long),
// and the inject writes its mp3 file (the example's /tmp/alltalk path moved into a temporary folder).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { AllTalkSimulator } = require('../../dist/simulator');
const { startNodeRed } = require('./node-red');

const root = path.join(__dirname, '..', '..');
const example = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'speak-url.json'), 'utf8'));
const TAB = 'speak-url-tab';
const INJECT = 'speak-url-washing-done';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** An ID3 tag or an MPEG audio frame sync (11 bits set) at the start. */
function isMp3(audio) {
  return audio.toString('latin1', 0, 3) === 'ID3' || (audio[0] === 0xff && (audio[1] & 0xe0) === 0xe0);
}

describe('examples/speak-url.json in a real Node-RED process (e2e)', function () {
  this.timeout(30000);
  let sim;
  let red;
  let dir;

  /** GET on Node-RED, failing after 10 s rather than hanging: { status, headers, body }. */
  async function get(pathAndQuery) {
    const r = await fetch(`${red.base}${pathAndQuery}`, { signal: AbortSignal.timeout(10000) });
    return { status: r.status, headers: r.headers, body: Buffer.from(await r.arrayBuffer()) };
  }

  /** The JSON bodies the simulator received on /v1/audio/speech. */
  const speechRequests = () => sim.requests.filter((r) => r.path === '/v1/audio/speech').map((r) => r.json);

  /** POST to the simulator's control API. */
  async function control(route, body) {
    const r = await fetch(`http://127.0.0.1:${sim.port}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    assert.equal(r.status, 200, `${route}: ${await r.text()}`);
  }

  before(async function () {
    sim = new AllTalkSimulator({ port: 0 });
    await sim.start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-e2e-speak-url-files-'));
    // The example as the editor imports it: on a tab, the config node pointed at the simulator,
    // and the file it writes moved from /tmp/alltalk into the temporary folder.
    const flows = [
      { id: TAB, type: 'tab', label: 'speak at a URL' },
      ...example.map((n) => {
        if (n.type === 'alltalk-config') return { ...n, port: String(sim.port) };
        const moved = n.filePath ? { ...n, filePath: path.join(dir, path.basename(n.filePath)) } : n;
        return moved.x === undefined ? moved : { ...moved, z: TAB };
      }),
    ];
    red = await startNodeRed({ flows, label: 'e2e-speak-url' });
    // The editor answers first; the flow's route a moment later (400: no text, nothing sent).
    const started = Date.now();
    while ((await get('/alltalk-example/speak')).status !== 400) {
      if (Date.now() - started > 15000) throw new Error(`GET /speak never answered 400:\n${red.output()}`);
      await sleep(50);
    }
  });

  after(async function () {
    if (red) await red.stop();
    if (sim) await sim.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(function () {
    sim.clearRequests();
  });

  it('answers GET /speak?text=Hello%20there with mp3: audio/mpeg, its length, no caching', async function () {
    const r = await get('/alltalk-example/speak?text=Hello%20there');
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.headers.get('content-type'), 'audio/mpeg');
    assert.equal(Number(r.headers.get('content-length')), r.body.length);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    assert.ok(r.body.length > 400, `${r.body.length} bytes`);
    assert.ok(isMp3(r.body), `an mp3 signature, not ${r.body.subarray(0, 4).toString('hex')}`);
    assert.deepEqual(speechRequests(), [{ model: 'tts-1', input: 'Hello there', voice: 'alloy', response_format: 'mp3', speed: 1 }]);
  });

  it('speaks with the voice of ?voice=', async function () {
    const r = await get('/alltalk-example/speak?text=Hi&voice=echo');
    assert.equal(r.status, 200, r.body.toString());
    assert.ok(isMp3(r.body));
    const [request, ...more] = speechRequests();
    assert.equal(more.length, 0);
    assert.equal(request.voice, 'echo');
    assert.equal(request.input, 'Hi');
  });

  it('refuses a request without text, or with an unknown voice, with 400 and sends nothing', async function () {
    for (const query of ['', '?text=', '?text=%20%20', '?voice=nova', '?text=Hi&voice=bob']) {
      const r = await get(`/alltalk-example/speak${query}`);
      assert.equal(r.status, 400, `GET /alltalk-example/speak${query}`);
      assert.match(r.headers.get('content-type'), /^text\/plain/);
      assert.match(r.body.toString(), query.includes('bob') ? /Unknown voice "bob": use one of alloy, echo/ : /\?text=/);
    }
    assert.deepEqual(speechRequests(), [], 'nothing reached /v1/audio/speech');
  });

  it('answers 400 with the reason when the speech node refuses the text (over 4096 characters)', async function () {
    const r = await get(`/alltalk-example/speak?text=${'a'.repeat(4100)}`);
    assert.equal(r.status, 400);
    assert.match(r.headers.get('content-type'), /^text\/plain/);
    const text = r.body.toString();
    assert.match(text, /4100 characters long.*at most 4096/);
    assert.doesNotMatch(text, /^AllTalkError/, 'the message without the error\'s name');
    assert.deepEqual(speechRequests(), []);
  });

  it('answers 502 explaining ffmpeg when AllTalk cannot make the mp3 (no hang)', async function () {
    await control('/__sim/engine', { ffmpeg: false });
    try {
      const r = await get('/alltalk-example/speak?text=Hi');
      assert.equal(r.status, 502);
      assert.match(r.headers.get('content-type'), /^text\/plain/);
      assert.equal(r.headers.get('cache-control'), 'no-store');
      const text = r.body.toString();
      assert.match(text, /ffmpeg is not installed on the AllTalk machine/);
      assert.doesNotMatch(text, /^AllTalkError/);
      assert.equal(speechRequests().length, 1, 'sent once, never retried');
    } finally {
      await control('/__sim/engine', { ffmpeg: true });
    }
    // And the next request works again.
    assert.equal((await get('/alltalk-example/speak?text=Hi')).status, 200);
  });

  it('writes the mp3 file when the inject is triggered', async function () {
    const file = path.join(dir, 'washing-machine.mp3');
    assert.ok(!fs.existsSync(file));
    const r = await fetch(`${red.base}/inject/${INJECT}`, { method: 'POST', signal: AbortSignal.timeout(10000) });
    assert.equal(r.status, 200, await r.text());
    const started = Date.now();
    while (!fs.existsSync(file)) {
      if (Date.now() - started > 10000) throw new Error(`${file} was not written:\n${red.output()}`);
      await sleep(50);
    }
    assert.ok(isMp3(fs.readFileSync(file)));
    assert.deepEqual(speechRequests(), [{ model: 'tts-1', input: 'The washing machine is done.', voice: 'alloy', response_format: 'mp3', speed: 1 }]);
    assert.deepEqual(fs.readdirSync(dir), ['washing-machine.mp3'], 'no temporary file left behind');
  });

  // Last: the simulator is stopped.
  it('answers 502 at once when AllTalk is offline; a text said before still comes from the audio cache', async function () {
    assert.equal((await get('/alltalk-example/speak?text=Said%20before%20the%20outage.')).status, 200);
    await sim.stop();
    sim = undefined;
    const started = Date.now();
    const r = await get('/alltalk-example/speak?text=Never%20said%20before.');
    assert.equal(r.status, 502);
    assert.match(r.body.toString(), /is not answering \(connection refused\)/);
    assert.ok(Date.now() - started < 5000, `answered after ${Date.now() - started} ms`);
    const cached = await get('/alltalk-example/speak?text=Said%20before%20the%20outage.');
    assert.equal(cached.status, 200);
    assert.ok(isMp3(cached.body));
  });
});
