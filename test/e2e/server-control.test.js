'use strict';
// examples/server-control.json, all its nodes, in a real Node-RED process against the simulator:
// every inject is triggered through the admin API (POST /inject/<id>; the crontab ones directly,
// without waiting for 23:00), and what the control nodes did is read on both sides: the simulator's
// request log and state, and the example's debug nodes (the editor's /comms socket). The stop
// button sends AllTalk's stop; "stop and clear the queue" also cancels a model change waiting in the
// queue, which the catch node reports; the night/day injects load their models; the voice map
// reaches AllTalk; a refused model or voice reaches the catch node with nothing sent.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const WebSocket = require('ws');
const { AllTalkSimulator } = require('../../dist/simulator');
const { startNodeRed } = require('./node-red');

const root = path.join(__dirname, '..', '..');
const example = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'server-control.json'), 'utf8'));
const TAB = 'server-control-tab';
const SERVER = 'alltalk-example-server-server-control';
const NIGHT_MODEL = 'xtts - xttsv2_2.0.2';
const DAY_MODEL = 'xtts - xttsv2_2.0.3';
const VOICEMAP = { alloy: 'female_01.wav', echo: 'male_01.wav', fable: 'female_02.wav', nova: 'female_03.wav', onyx: 'male_02.wav', shimmer: 'male_03.wav' };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with predicate()'s first truthy value, checking every 20 ms; fails after timeoutMs. */
async function waitFor(predicate, what, timeoutMs = 5000) {
  const started = Date.now();
  for (;;) {
    const value = predicate();
    if (value) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The node of the example with this id (a test that names a missing node fails here). */
function exampleNode(id) {
  const n = example.find((e) => e.id === id);
  assert.ok(n, `examples/server-control.json has a node ${id}`);
  return n;
}

describe('examples/server-control.json in a real Node-RED process (e2e)', function () {
  this.timeout(20000);
  let sim;
  let red;
  let socket;
  /** Every message of the example's debug nodes: { id (the debug node), msg (decoded) }. */
  const debugMessages = [];

  /** POST /inject/<id>, as the inject's button does; `props` replaces its properties (the editor's "inject with"). */
  async function inject(id, props) {
    exampleNode(id);
    const r = await fetch(`${red.base}/inject/${id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(props ? { __user_inject_props__: props } : {}),
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(r.status, 200, `POST /inject/${id}: ${await r.text()}`);
  }

  /** What a debug node showed (decoded), of the debug messages from index `from` on. */
  function debugOutputs(debugId, from = 0) {
    return debugMessages.slice(from).filter((m) => m.id === debugId).map((m) => m.msg);
  }

  async function nextDebug(debugId, from, what) {
    return waitFor(() => debugOutputs(debugId, from)[0], `${what} at debug node ${debugId}${red ? `\n${red.output()}` : ''}`);
  }

  /** The requests the simulator received on `route` (method and path). */
  const received = (method, route) => sim.requests.filter((r) => r.method === method && r.path === route);

  /** The server as the config node sees it (the editor's admin route). */
  async function serverView() {
    const r = await fetch(`${red.base}/alltalk/server/${SERVER}`, { signal: AbortSignal.timeout(5000) });
    return r.status === 200 ? r.json() : undefined;
  }

  async function waitReady() {
    const started = Date.now();
    for (;;) {
      const view = await serverView();
      if (view && view.state === 'ready' && view.settings && view.voices.length > 0) return view;
      if (Date.now() - started > 10000) throw new Error(`the config node never became ready: ${JSON.stringify(view)}\n${red.output()}`);
      await sleep(50);
    }
  }

  before(async function () {
    sim = new AllTalkSimulator({ port: 0 });
    await sim.start();
    // The example as the editor imports it: on a tab, the config node pointed at the simulator.
    const flows = [
      { id: TAB, type: 'tab', label: 'server control' },
      ...example.map((n) => {
        if (n.type === 'alltalk-config') return { ...n, port: String(sim.port) };
        return n.x === undefined ? n : { ...n, z: TAB };
      }),
    ];
    red = await startNodeRed({ flows, label: 'e2e-server-control' });
    // The debug sidebar's feed: every debug message, as JSON arrays of { topic, data }.
    socket = new WebSocket(`ws://127.0.0.1:${red.port}/comms`);
    socket.on('message', (data) => {
      for (const { topic, data: d } of JSON.parse(String(data))) {
        if (topic !== 'debug') continue;
        debugMessages.push({ id: d.id, msg: d.format && d.format.startsWith('Object') ? JSON.parse(d.msg) : d.msg });
      }
    });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    socket.send(JSON.stringify({ subscribe: 'debug' }));
    await waitReady();
  });

  after(async function () {
    if (socket) socket.close();
    if (red) await red.stop();
    if (sim) await sim.stop();
  });

  beforeEach(function () {
    sim.clearRequests();
  });

  it('deploys every node of the example (GET /flows), the config node ready with the simulator\'s models and voices', async function () {
    const r = await fetch(`${red.base}/flows`, { signal: AbortSignal.timeout(5000) });
    assert.equal(r.status, 200);
    const deployed = await r.json();
    assert.deepEqual(deployed.map((n) => n.id).sort(), [TAB, ...example.map((n) => n.id)].sort());
    for (const n of deployed.filter((d) => d.type === 'alltalk-control')) assert.equal(n.z, TAB, `${n.id} on the tab`);
    assert.deepEqual(
      example.filter((n) => n.type === 'alltalk-control').map((n) => n.id).sort(),
      [...exampleNode('server-control-catch').scope].sort(),
      'the catch node covers every control node',
    );
    const view = await serverView();
    const models = view.settings.models_available.map((m) => m.name);
    for (const id of ['server-control-night-inject', 'server-control-day-inject']) {
      assert.ok(models.includes(exampleNode(id).payload), `${exampleNode(id).payload} is a model the server lists`);
    }
    for (const voice of Object.values(JSON.parse(exampleNode('server-control-voicemap-inject').payload))) {
      assert.ok(view.voices.includes(voice), `${voice} is a voice the server lists`);
    }
  });

  it('"Stop talking" sends AllTalk\'s stop (PUT /api/stop-generation) and reports it', async function () {
    const from = debugMessages.length;
    await inject('server-control-stop-inject');
    const out = await nextDebug('server-control-stop-debug', from, 'the stop');
    assert.equal(out.ok, true);
    assert.equal(out.command, 'stop');
    assert.equal(out.cancelled, 0);
    assert.equal(out.streamsStopped, 0);
    assert.deepEqual(out.response, { message: 'Cancelling current TTS generation' });
    assert.equal(out.settings.current_model_loaded, sim.settings.current_model_loaded);
    assert.equal(received('PUT', '/api/stop-generation').length, 1);
  });

  it('loads the night model, then the day model (POST /api/reload with tts_method), each reported with its settings', async function () {
    assert.equal(sim.settings.current_model_loaded, DAY_MODEL, 'the simulator starts with the day model');
    for (const [id, model] of [['server-control-night-inject', NIGHT_MODEL], ['server-control-day-inject', DAY_MODEL]]) {
      assert.equal(exampleNode(id).payload, model);
      assert.equal(exampleNode(id).topic, 'load-model');
      const from = debugMessages.length;
      const requestsBefore = sim.requests.length;
      await inject(id);
      const out = await nextDebug('server-control-model-debug', from, `${model} loaded`);
      assert.equal(out.ok, true);
      assert.equal(out.command, 'load-model');
      assert.deepEqual(out.response, { status: 'model-success' });
      assert.equal(out.settings.current_model_loaded, model);
      const reloads = sim.requests.slice(requestsBefore).filter((r) => r.method === 'POST' && r.path === '/api/reload');
      assert.deepEqual(reloads.map((r) => r.query.tts_method), [model]);
      assert.equal(sim.settings.current_model_loaded, model);
    }
    await waitReady();
  });

  it('maps the six OpenAI voices (PUT /api/openai-voicemap) and the server then has that map', async function () {
    // Another map first, so that the change is seen.
    sim.openaiVoiceMap = { alloy: 'male_03.wav', echo: 'male_03.wav', fable: 'male_03.wav', nova: 'male_03.wav', onyx: 'male_03.wav', shimmer: 'female_01.wav' };
    assert.deepEqual(JSON.parse(exampleNode('server-control-voicemap-inject').payload), VOICEMAP);
    const from = debugMessages.length;
    await inject('server-control-voicemap-inject');
    const out = await nextDebug('server-control-voicemap-debug', from, 'the voice map');
    assert.equal(out.ok, true);
    assert.equal(out.command, 'voicemap');
    assert.deepEqual(out.voicemap, VOICEMAP);
    const puts = received('PUT', '/api/openai-voicemap');
    assert.equal(puts.length, 1);
    assert.deepEqual(puts[0].json, VOICEMAP);
    assert.deepEqual({ ...sim.openaiVoiceMap }, VOICEMAP);
  });

  it('refuses a voice or a model the server does not list, before sending: the catch node reports it', async function () {
    const from = debugMessages.length;
    const map = { ...VOICEMAP, shimmer: 'nobody.wav' };
    await inject('server-control-voicemap-inject', [{ p: 'payload', v: JSON.stringify(map), vt: 'json' }, { p: 'topic', v: 'voicemap', vt: 'str' }]);
    const voiceError = await nextDebug('server-control-error', from, 'the voice map refused');
    assert.equal(voiceError.code, 'ALLTALK_VALIDATION');
    assert.equal(voiceError.source.id, 'server-control-voicemap');
    assert.match(voiceError.message, /shimmer → "nobody\.wav" is not one of the server's voices.*Nothing was sent to AllTalk/);

    const next = debugMessages.length;
    await inject('server-control-night-inject', [{ p: 'payload', v: 'xtts - tiny', vt: 'str' }, { p: 'topic', v: 'load-model', vt: 'str' }]);
    const modelError = await nextDebug('server-control-error', next, 'the model refused');
    assert.equal(modelError.code, 'ALLTALK_VALIDATION');
    assert.equal(modelError.source.id, 'server-control-model');
    assert.match(modelError.message, /The model "xtts - tiny" is not one the server has: xtts - xttsv2_2\.0\.2, /);

    assert.deepEqual(received('PUT', '/api/openai-voicemap'), [], 'no voice map sent');
    assert.deepEqual(received('POST', '/api/reload'), [], 'no model load sent');
    assert.equal(debugOutputs('server-control-voicemap-debug', from).length + debugOutputs('server-control-model-debug', from).length, 0);
  });

  it('"Stop and clear the queue" cancels the model change waiting in the queue (reported by the catch node) and sends the stop', async function () {
    const release = sim.holdEngine();
    let released = false;
    try {
      // The night model loads (held by the simulator), the day model waits in the queue behind it.
      const from = debugMessages.length;
      await inject('server-control-night-inject');
      await waitFor(() => received('POST', '/api/reload').length === 1, 'the night model loading');
      await inject('server-control-day-inject');
      await sleep(100);
      await inject('server-control-stop-clear-inject');
      const cancelled = await nextDebug('server-control-error', from, 'the queued model change cancelled');
      assert.equal(cancelled.code, 'ALLTALK_ABORTED');
      assert.equal(cancelled.source.id, 'server-control-model');
      assert.match(cancelled.message, /Cancelled by alltalk-control stop: the queue of AllTalk at .* was cleared/);
      release();
      released = true;
      const stopped = await nextDebug('server-control-stop-debug', from, 'the stop');
      assert.equal(stopped.ok, true);
      assert.equal(stopped.command, 'stop');
      assert.equal(stopped.cancelled, 1, 'the queued model change (a model change in flight runs on)');
      // The model change in flight was not cancelled: it ends, the day model's never starts.
      const loaded = await nextDebug('server-control-model-debug', from, 'the night model loaded');
      assert.equal(loaded.settings.current_model_loaded, NIGHT_MODEL);
      assert.equal(received('PUT', '/api/stop-generation').length, 1);
      assert.deepEqual(received('POST', '/api/reload').map((r) => r.query.tts_method), [NIGHT_MODEL]);
      assert.equal(debugOutputs('server-control-error', from).length, 1, 'one error: the cancelled message');
      assert.equal(sim.settings.current_model_loaded, NIGHT_MODEL);
    } finally {
      if (!released) release();
    }
  });
});
