'use strict';
const assert = require('assert');
const net = require('net');
const { AllTalkSimulator } = require('../../dist/simulator');
const { startSim, stopAll, request, postForm, waitFor, until } = require('./helpers');

/** Tries a fresh TCP connection: 'connected' or the error code (ECONNREFUSED). */
function connectResult(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err) => resolve(err.code));
  });
}

/** Rejects with a clear message when `promise` does not settle while the engine is held. */
function withinHold(promise, what) {
  let timer;
  const guard = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer while the engine was busy`)), 5000);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}

const now = () => performance.timeOrigin + performance.now();

describe('simulator: concurrency, faults and observation', function () {
  after(stopAll);

  describe('blocking XTTS profile', function () {
    it('/api/ready sent during a generation is handled only after it', async function () {
      const sim = await startSim();
      const release = sim.holdEngine();
      const started = waitFor(sim, 'generation-start');
      const gen = postForm(sim, '/api/tts-generate', { text_input: 'Hello there' });
      const g = await started;
      const readyArrived = waitFor(sim, 'request', (r) => r.path === '/api/ready');
      const ready = request(sim, '/api/ready');
      const readyRecord = await readyArrived;
      await until(() => sim.engine.gate.waiting === 1);
      assert.strictEqual(readyRecord.startedAt, undefined, 'not handled while the generation runs');
      release();
      const [genRes, readyRes] = await Promise.all([gen, ready]);
      assert.strictEqual(genRes.status, 200);
      assert.strictEqual(readyRes.text, 'Ready');
      assert.ok(readyRecord.receivedAt < g.endedAt, 'arrived during the generation');
      assert.ok(readyRecord.startedAt >= g.endedAt, 'handled after it');
    });

    it('generations run one at a time, in arrival order', async function () {
      const sim = await startSim();
      const release = sim.holdEngine();
      const first = postForm(sim, '/api/tts-generate', { text_input: 'First request' });
      await waitFor(sim, 'generation-start');
      const second = postForm(sim, '/api/tts-generate', { text_input: 'Second request' });
      await until(() => sim.engine.gate.waiting === 1);
      assert.strictEqual(sim.generations.length, 1);
      release();
      await Promise.all([first, second]);
      const [a, b] = sim.generations;
      assert.strictEqual(a.params.text_input, 'First request');
      assert.ok(b.startedAt >= a.endedAt);
      assert.strictEqual(sim.maxConcurrentGenerations, 1);
    });

    it('a model reload holds every other request too', async function () {
      const sim = await startSim();
      const release = sim.holdEngine();
      const reload = request(sim, '/api/reload?tts_method=' + encodeURIComponent('xtts - xttsv2_2.0.2'), { method: 'POST' });
      await until(() => sim.engine.loadingModel > 0);
      const ready = request(sim, '/api/ready');
      await until(() => sim.engine.gate.waiting === 1);
      const releasedAt = now();
      release();
      assert.deepStrictEqual((await reload).json(), { status: 'model-success' });
      assert.strictEqual((await ready).text, 'Ready');
      const readyRecord = sim.requests.find((r) => r.path === '/api/ready');
      assert.ok(readyRecord.startedAt >= releasedAt);
    });

    it('control requests are never held by a busy engine', async function () {
      const sim = await startSim();
      const release = sim.holdEngine();
      const gen = postForm(sim, '/api/tts-generate', { text_input: 'Hello there' });
      await waitFor(sim, 'generation-start');
      const state = await withinHold(request(sim, '/__sim/state'), '/__sim/state');
      assert.strictEqual(state.json().profile, 'xtts');
      release();
      await gen;
    });
  });

  describe('non-blocking Piper profile', function () {
    it('/api/ready answers at once during a generation', async function () {
      const sim = await startSim({ profile: 'piper' });
      const release = sim.holdEngine();
      const gen = postForm(sim, '/api/tts-generate', { text_input: 'Hello there' });
      const g = await waitFor(sim, 'generation-start');
      const ready = await withinHold(request(sim, '/api/ready'), '/api/ready');
      assert.strictEqual(ready.text, 'Ready');
      assert.strictEqual(g.endedAt, undefined, 'the generation is still running');
      release();
      assert.strictEqual((await gen).status, 200);
    });

    it('generations overlap', async function () {
      const sim = await startSim({ profile: 'piper' });
      const release = sim.holdEngine();
      const both = [1, 2].map((n) => postForm(sim, '/api/tts-generate', { text_input: `Request number ${n}` }));
      await until(() => sim.generations.length === 2);
      assert.strictEqual(sim.maxConcurrentGenerations, 2);
      release();
      await Promise.all(both);
      sim.clearRequests();
      assert.strictEqual(sim.maxConcurrentGenerations, 0);
    });
  });

  describe('refused connections', function () {
    it('refuseConnections(ms): ECONNREFUSED, then listening again on the same port', async function () {
      const sim = await startSim();
      const port = sim.port;
      assert.strictEqual((await request(sim, '/api/ready')).text, 'Ready');
      await sim.refuseConnections(300);
      assert.strictEqual(sim.listening, false);
      assert.strictEqual(await connectResult(port), 'ECONNREFUSED');
      await sim.whenListening();
      assert.strictEqual(sim.port, port);
      assert.strictEqual((await request(sim, '/api/ready')).text, 'Ready');
    });

    it('refuseConnections destroys open connections (a running request is cut)', async function () {
      const sim = await startSim();
      const release = sim.holdEngine();
      const gen = fetch(`${sim.url}/api/tts-generate`, { method: 'POST', body: new URLSearchParams({ text_input: 'Hello there' }) });
      await waitFor(sim, 'generation-start');
      await sim.refuseConnections(50);
      await assert.rejects(gen);
      release();
      await sim.whenListening();
    });

    it('startupMs: refused while the model loads, then Ready', async function () {
      const sim = new AllTalkSimulator({ startupMs: 300 });
      try {
        const url = await sim.start();
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
        assert.strictEqual(await connectResult(sim.port), 'ECONNREFUSED');
        await sim.whenListening();
        assert.strictEqual(await (await fetch(`${url}/api/ready`)).text(), 'Ready');
      } finally {
        await sim.stop();
      }
    });

    it('goAway() until comeBack()', async function () {
      const sim = await startSim();
      await sim.goAway();
      assert.strictEqual(await connectResult(sim.port), 'ECONNREFUSED');
      await sim.comeBack();
      assert.strictEqual((await request(sim, '/api/ready')).text, 'Ready');
    });
  });

  describe('injected faults', function () {
    let sim;
    before(async function () {
      sim = await startSim();
    });
    afterEach(function () {
      sim.reset();
    });

    it('failNext(path, count, reply) replaces the next count replies', async function () {
      sim.failNext('/api/ready', 2, { status: 503, body: 'busy' });
      for (let i = 0; i < 2; i++) {
        const r = await request(sim, '/api/ready');
        assert.strictEqual(r.status, 503);
        assert.strictEqual(r.text, 'busy');
        assert.strictEqual(r.headers.get('content-type'), 'text/plain; charset=utf-8');
      }
      assert.strictEqual((await request(sim, '/api/ready')).text, 'Ready');
    });

    it('an object body is sent as JSON; contentType null sends none; "*" matches any route', async function () {
      sim.failNext('/api/voices', 1, { status: 500, body: { detail: 'boom' } });
      const json = await request(sim, '/api/voices');
      assert.strictEqual(json.headers.get('content-type'), 'application/json');
      assert.deepStrictEqual(json.json(), { detail: 'boom' });
      sim.failNext('/api/currentsettings', 1, { status: 200, body: '{"x": 1}', contentType: null });
      const untyped = await request(sim, '/api/currentsettings');
      assert.strictEqual(untyped.headers.get('content-type'), null);
      assert.strictEqual(untyped.text, '{"x": 1}');
      sim.failNext('*', 1, { status: 502 });
      assert.strictEqual((await request(sim, '/api/rvcvoices')).status, 502);
      assert.strictEqual((await request(sim, '/api/rvcvoices')).status, 200);
    });

    it('a faulted generation does not run the engine', async function () {
      sim.failNext('/api/tts-generate', 1, { status: 500, body: 'Internal Server Error' });
      const r = await postForm(sim, '/api/tts-generate', { text_input: 'Hello' });
      assert.strictEqual(r.status, 500);
      assert.strictEqual(sim.generations.length, 0);
    });

    it('setLatency(path, ms) delays that route; "*" delays every route; 0 removes it', async function () {
      sim.setLatency('/api/voices', 60);
      const voices = request(sim, '/api/voices');
      const ready = await request(sim, '/api/ready');
      assert.strictEqual(ready.status, 200);
      await voices;
      const [v, r] = ['/api/voices', '/api/ready'].map((p) => sim.requests.find((q) => q.path === p));
      assert.ok(v.startedAt - v.receivedAt >= 55, `delayed ${v.startedAt - v.receivedAt} ms`);
      assert.ok(r.finishedAt < v.finishedAt, 'the undelayed route answered first');
      sim.setLatency('/api/voices', 0);
      sim.setLatency('*', 40);
      await request(sim, '/api/rvcvoices');
      const rv = sim.requests.find((q) => q.path === '/api/rvcvoices');
      assert.ok(rv.startedAt - rv.receivedAt >= 35);
    });
  });

  describe('request log and events', function () {
    it('records method, path, query, form, JSON, raw body, headers, status and times', async function () {
      const sim = await startSim();
      const seen = [];
      sim.on('request', (r) => seen.push(['request', r.id]));
      sim.on('response', (r) => seen.push(['response', r.id]));
      await postForm(sim, '/api/tts-generate?a=1&a=2&b=x', { text_input: 'Hello there', language: 'en' }, { headers: { 'x-test': 'yes' } });
      await request(sim, '/v1/audio/speech', { method: 'POST', body: JSON.stringify({ model: 'm', input: 'Hi there', voice: 'nova' }) });
      await request(sim, '/__sim/requests');
      assert.strictEqual(sim.requests.length, 2, 'control requests are not recorded');
      const [form, json] = sim.requests;
      assert.strictEqual(form.method, 'POST');
      assert.strictEqual(form.path, '/api/tts-generate');
      assert.deepStrictEqual(form.query, { a: ['1', '2'], b: 'x' });
      assert.deepStrictEqual(form.form, { text_input: 'Hello there', language: 'en' });
      assert.strictEqual(form.rawBody, 'text_input=Hello+there&language=en');
      assert.strictEqual(form.headers['x-test'], 'yes');
      assert.strictEqual(form.status, 200);
      assert.ok(form.receivedAt <= form.startedAt && form.startedAt <= form.finishedAt);
      assert.deepStrictEqual(json.json, { model: 'm', input: 'Hi there', voice: 'nova' });
      assert.strictEqual(json.form, undefined);
      assert.deepStrictEqual(seen, [
        ['request', form.id],
        ['response', form.id],
        ['request', json.id],
        ['response', json.id],
      ]);
      sim.clearRequests();
      assert.strictEqual(sim.requests.length, 0);
      assert.strictEqual(sim.generations.length, 0);
    });

    it('reset() restores faults, profile, settings, voices and mode', async function () {
      const sim = await startSim();
      sim.setProfile('piper');
      sim.mode = 'documented';
      sim.voices.push('extra.onnx');
      sim.rvcVoices = ['Disabled'];
      sim.failNext('/api/ready', 5, { status: 500 });
      sim.reset();
      assert.strictEqual(sim.profile, 'xtts');
      assert.strictEqual(sim.mode, 'real');
      assert.strictEqual(sim.settings.current_engine_loaded, 'xtts');
      assert.ok(!sim.voices.includes('extra.onnx'));
      assert.ok(sim.rvcVoices.length > 1);
      assert.strictEqual((await request(sim, '/api/ready')).status, 200);
    });

    it('setProfile switches settings, voices, audio format and blocking behaviour', async function () {
      const sim = await startSim();
      sim.setProfile('piper');
      assert.strictEqual(sim.engine.blocking, false);
      assert.strictEqual(sim.settings.current_engine_loaded, 'piper');
      assert.ok(sim.voices.every((v) => v.endsWith('.onnx')));
      sim.setProfile('xtts');
      assert.strictEqual(sim.engine.blocking, true);
    });
  });
});
