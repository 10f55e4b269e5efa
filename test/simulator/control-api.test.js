'use strict';
const assert = require('assert');
const net = require('net');
const { startSim, stopAll, request, postForm, rawRequest, until } = require('./helpers');

const control = (sim, path, body, method = 'POST') =>
  request(sim, `/__sim/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

describe('simulator: HTTP control API (/__sim/)', function () {
  let sim;
  before(async function () {
    sim = await startSim();
  });
  afterEach(function () {
    sim.reset();
  });
  after(stopAll);

  it('GET /__sim/requests returns the log; DELETE clears it; control calls are not logged', async function () {
    await request(sim, '/api/ready?x=1');
    const log = (await control(sim, 'requests', undefined, 'GET')).json();
    assert.strictEqual(log.length, 1);
    assert.strictEqual(log[0].path, '/api/ready');
    assert.deepStrictEqual(log[0].query, { x: '1' });
    assert.strictEqual(log[0].status, 200);
    assert.deepStrictEqual((await control(sim, 'requests', undefined, 'DELETE')).json(), { ok: true });
    assert.strictEqual(sim.requests.length, 0);
  });

  it('GET /__sim/generations returns the generation log', async function () {
    await postForm(sim, '/api/tts-generate', { text_input: 'Hello there' });
    const gens = (await control(sim, 'generations', undefined, 'GET')).json();
    assert.strictEqual(gens.length, 1);
    assert.strictEqual(gens[0].params.text_input, 'Hello there');
    assert.strictEqual(gens[0].outcome, 'success');
  });

  it('POST /__sim/fail', async function () {
    await control(sim, 'fail', { path: '/api/voices', count: 1, status: 404, body: { detail: 'nope' } });
    const r = await request(sim, '/api/voices');
    assert.strictEqual(r.status, 404);
    assert.deepStrictEqual(r.json(), { detail: 'nope' });
    await control(sim, 'fail', { path: '/api/ready', status: 200, body: 'Unloaded', contentType: null });
    const ready = await request(sim, '/api/ready');
    assert.strictEqual(ready.text, 'Unloaded');
    assert.strictEqual(ready.headers.get('content-type'), null);
    assert.strictEqual((await control(sim, 'fail', { path: '/api/ready', status: 'x' })).status, 400);
  });

  it('POST /__sim/latency', async function () {
    await control(sim, 'latency', { path: '/api/ready', ms: 40 });
    await request(sim, '/api/ready');
    const rec = sim.requests[0];
    assert.ok(rec.startedAt - rec.receivedAt >= 35);
  });

  it('POST /__sim/refuse answers, then refuses connections for ms', async function () {
    const port = sim.port;
    const r = await control(sim, 'refuse', { ms: 300 });
    assert.deepStrictEqual(r.json(), { ok: true });
    await until(() => !sim.listening);
    const code = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', (err) => resolve(err.code));
    });
    assert.strictEqual(code, 'ECONNREFUSED');
    await sim.whenListening();
    assert.strictEqual((await request(sim, '/api/ready')).text, 'Ready');
  });

  it('POST /__sim/cut-stream', async function () {
    await control(sim, 'cut-stream', { afterBytes: 44 });
    const r = await rawRequest(`${sim.url}/api/tts-generate-streaming?text=Hello&voice=female_01.wav&language=en&output_file=o`);
    assert.strictEqual(r.complete, false);
    assert.strictEqual(r.body.length, 44);
  });

  it('POST /__sim/profile and /__sim/mode', async function () {
    assert.deepStrictEqual((await control(sim, 'profile', { profile: 'piper' })).json(), { profile: 'piper' });
    assert.strictEqual((await request(sim, '/api/currentsettings')).json().current_engine_loaded, 'piper');
    assert.strictEqual((await control(sim, 'profile', { profile: 'vits' })).status, 400);
    assert.deepStrictEqual((await control(sim, 'mode', { mode: 'documented' })).json(), { mode: 'documented' });
    assert.ok((await request(sim, '/api/rvcvoices')).json().voices);
    assert.strictEqual((await control(sim, 'mode', { mode: 'fake' })).status, 400);
  });

  it('GET/POST /__sim/settings merges partial settings and rejects unknown keys', async function () {
    const merged = (await control(sim, 'settings', { streaming_capable: false, temperature_set: 0.5 })).json();
    assert.strictEqual(merged.streaming_capable, false);
    assert.strictEqual(merged.current_engine_loaded, 'xtts');
    const s = (await request(sim, '/api/currentsettings')).json();
    assert.strictEqual(s.temperature_set, 0.5);
    assert.strictEqual(Object.keys(s).length, 24);
    assert.strictEqual((await control(sim, 'settings', { not_a_key: 1 })).status, 400);
    assert.strictEqual((await control(sim, 'settings', undefined, 'GET')).json().temperature_set, 0.5);
  });

  it('POST /__sim/voices, /__sim/api-config and /__sim/engine', async function () {
    await control(sim, 'voices', { voices: ['a.wav'], rvcVoices: ['Disabled', 'x/y.pth'], openaiVoiceMap: { nova: 'a.wav' } });
    assert.deepStrictEqual((await request(sim, '/api/voices')).json().voices, ['a.wav']);
    assert.deepStrictEqual((await request(sim, '/api/rvcvoices')).json().rvcvoices, ['Disabled', 'x/y.pth']);
    assert.strictEqual(sim.openaiVoiceMap.nova, 'a.wav');
    await control(sim, 'api-config', { api_output_file_name: 'configured', api_output_file_timestamp: false });
    const gen = await postForm(sim, '/api/tts-generate', { text_input: 'Hello there', character_voice_gen: 'a.wav' });
    assert.strictEqual(gen.json().output_file_url, '/audio/configured.wav');
    await control(sim, 'engine', { modelLoaded: false });
    const noModel = await postForm(sim, '/api/tts-generate', { text_input: 'Hello there', character_voice_gen: 'a.wav' });
    assert.strictEqual(noModel.status, 400);
    assert.strictEqual((await control(sim, 'api-config', { nonsense: true })).status, 400);
  });

  it('POST /__sim/hold and /__sim/release', async function () {
    await control(sim, 'hold', {});
    const gen = postForm(sim, '/api/tts-generate', { text_input: 'Hello there' });
    await until(() => sim.generations.length === 1);
    const state = (await control(sim, 'state', undefined, 'GET')).json();
    assert.strictEqual(state.profile, 'xtts');
    assert.strictEqual(state.mode, 'real');
    assert.strictEqual(state.listening, true);
    assert.strictEqual(sim.generations[0].endedAt, undefined);
    await control(sim, 'release', {});
    assert.strictEqual((await gen).status, 200);
  });

  it('POST /__sim/reset', async function () {
    sim.setProfile('piper');
    sim.failNext('/api/ready', 3, { status: 500 });
    await control(sim, 'reset', {});
    assert.strictEqual(sim.profile, 'xtts');
    assert.strictEqual((await request(sim, '/api/ready')).status, 200);
  });

  it('errors: unknown control route 404, wrong method 405, bad JSON 400', async function () {
    assert.strictEqual((await control(sim, 'nothing', {})).status, 404);
    assert.strictEqual((await control(sim, 'reset', undefined, 'GET')).status, 405);
    const bad = await request(sim, '/__sim/latency', { method: 'POST', body: '{oops' });
    assert.strictEqual(bad.status, 400);
    assert.ok(bad.json().error);
  });
});
