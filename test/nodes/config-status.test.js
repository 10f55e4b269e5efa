'use strict';
const assert = require('node:assert/strict');
const { helper, NODES, startSim, configNode, waitFor, watchStatus, collect, watchErrors } = require('./support');

const nodes = [NODES.config, NODES.status];

function statusFlow(sim, cfgProps = {}, statusProps = {}) {
  return [
    configNode(sim, cfgProps),
    { id: 'st', type: 'alltalk-status', server: 'cfg', interval: 0, onlyChanges: false, wires: [['out']], ...statusProps },
    { id: 'out', type: 'helper' },
  ];
}

describe('alltalk-config and alltalk-status', function () {
  let sim;

  afterEach(async function () {
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
  });

  it('reaches ready at deploy and reports engine, model, voices and capabilities', async function () {
    sim = await startSim({ profile: 'xtts' });
    sim.voices = [...sim.voices, 'No Voices Found'];
    await helper.load(nodes, statusFlow(sim));
    const st = helper.getNode('st');
    const badge = watchStatus(st);
    await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'ready');
    const out = collect(helper.getNode('out'));
    st.receive({ payload: 'go', topic: 'check' });
    await waitFor(() => out.length === 1, 'report');
    const p = out[0].payload;
    assert.equal(out[0].topic, 'check', 'the input message is reused');
    assert.equal(p.ready, true);
    assert.equal(p.state, 'ready');
    assert.equal(p.reason, null);
    assert.equal(p.engine, sim.settings.current_engine_loaded);
    assert.equal(p.model, sim.settings.current_model_loaded);
    assert.deepEqual(p.settings, sim.settings);
    assert.ok(!p.voices.includes('No Voices Found'), 'placeholder voices are hidden');
    assert.deepEqual(p.voices, sim.voices.filter((v) => v !== 'No Voices Found'));
    assert.deepEqual(p.rvcVoices, sim.rvcVoices);
    assert.equal(p.capabilities.streaming_capable, sim.settings.streaming_capable);
    assert.equal(p.capabilities.pitch_capable, sim.settings.pitch_capable);
    for (const v of Object.values(p.capabilities)) assert.equal(typeof v, 'boolean');
    assert.ok(!Number.isNaN(Date.parse(p.checkedAt)));
    // Badges change at most every 100 ms: the last one always shows.
    const shown = await badge.waitFor('ready');
    assert.deepEqual([shown.fill, shown.shape], ['green', 'dot']);
  });

  it('shows offline when the server is down at deploy, then ready when it comes up, with no redeploy', async function () {
    sim = await startSim();
    await sim.goAway();
    await helper.load(nodes, statusFlow(sim, { timeout: 0.5 }));
    const badge = watchStatus(helper.getNode('st'));
    const cfg = helper.getNode('cfg');
    const warned = [];
    cfg.on('call:warn', (c) => warned.push(c.args[0]));
    await badge.waitFor('offline');
    assert.deepEqual(badge.last(), { fill: 'red', shape: 'ring', text: 'offline' });
    assert.match(cfg.connection.state.reason, /not answering \(connection refused\)/);
    setTimeout(() => sim.comeBack(), 3000);
    await waitFor(() => badge.last() && badge.last().text === 'ready', 'ready again', 20000);
    assert.deepEqual(badge.last(), { fill: 'green', shape: 'dot', text: 'ready' });
    assert.equal(warned.length, 1, `the offline reason is logged once, not on every poll: ${warned.join(' | ')}`);
  });

  it('notices a server killed mid-run and picks it up again when it restarts', async function () {
    sim = await startSim();
    await helper.load(nodes, statusFlow(sim, { healthInterval: 0.2, timeout: 0.5 }));
    const badge = watchStatus(helper.getNode('st'));
    const cfg = helper.getNode('cfg');
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready');
    await sim.goAway();
    await badge.waitFor('offline');
    const before = sim.requests.length;
    await sim.comeBack();
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready after restart', 20000);
    const after = sim.requests.slice(before).map((r) => r.path);
    assert.ok(after.includes('/api/currentsettings') && after.includes('/api/voices') && after.includes('/api/rvcvoices'),
      `the cache is pulled again after a restart: ${after.join(', ')}`);
  });

  it('treats HTTP errors from a proxy in front of a server that is gone (502) as offline, with the reason', async function () {
    sim = await startSim();
    await helper.load(nodes, statusFlow(sim, { healthInterval: 0.2, timeout: 0.5 }));
    const badge = watchStatus(helper.getNode('st'));
    const cfg = helper.getNode('cfg');
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready');
    sim.failNext('/api/ready', 3, { status: 502, body: 'Bad Gateway', contentType: 'text/plain' });
    await badge.waitFor('offline');
    assert.match(cfg.connection.state.reason, /answered 502 to GET \/api\/ready: Bad Gateway/);
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready once the proxy answers again', 20000);
  });

  it('picks up voices added by a restart between two health checks, with no refresh', async function () {
    sim = await startSim();
    await helper.load(nodes, statusFlow(sim, { healthInterval: 0.2 }));
    const cfg = helper.getNode('cfg');
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready');
    sim.voices = [...sim.voices, 'after_restart.wav'];
    await waitFor(() => cfg.connection.voices.includes('after_restart.wav'), 'the new voice in the cache');
    assert.ok(!sim.requests.some((r) => r.path === '/api/reload_config'));
  });

  it('reports a blocking server that is generating as busy, not offline', async function () {
    sim = await startSim({ profile: 'xtts', msPerChar: 40, minGenerationMs: 3000 });
    await helper.load(nodes, statusFlow(sim, { timeout: 0.5 }));
    const cfg = helper.getNode('cfg');
    const badge = watchStatus(helper.getNode('st'));
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready');
    const started = new Promise((resolve) => sim.once('generation-start', resolve));
    const generation = fetch(`${sim.url}/api/tts-generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'text_input=This+keeps+the+server+busy+for+a+while.',
    });
    await started;
    const out = collect(helper.getNode('out'));
    helper.getNode('st').receive({ payload: 1 });
    await waitFor(() => out.length === 1, 'report');
    assert.equal(out[0].payload.state, 'busy');
    assert.equal(out[0].payload.ready, false);
    assert.ok(badge.seen.some((b) => b.text === 'busy' && b.fill === 'blue' && b.shape === 'ring'), badge.texts().join());
    assert.match(out[0].payload.reason, /busy/);
    await generation;
  });

  it('notices a changed engine and model and pulls the voices again', async function () {
    sim = await startSim({ profile: 'xtts' });
    await helper.load(nodes, statusFlow(sim, { healthInterval: 0.2 }, { onlyChanges: true }));
    const cfg = helper.getNode('cfg');
    const out = collect(helper.getNode('out'));
    await waitFor(() => out.some((m) => m.payload.state === 'ready'), 'first report');
    sim.setProfile('piper');
    await waitFor(() => out.some((m) => m.payload.engine === 'piper'), 'engine change report');
    const last = out[out.length - 1].payload;
    assert.equal(last.engine, 'piper');
    assert.deepEqual(last.voices, sim.voices);
    assert.deepEqual(cfg.connection.voices, sim.voices);
  });

  it('refresh (msg.topic "refresh") calls /api/reload_config and pulls the cache again', async function () {
    sim = await startSim();
    await helper.load(nodes, statusFlow(sim));
    const cfg = helper.getNode('cfg');
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready');
    sim.clearRequests();
    sim.voices = [...sim.voices, 'new_voice.wav'];
    const out = collect(helper.getNode('out'));
    helper.getNode('st').receive({ topic: 'refresh' });
    await waitFor(() => out.length === 1, 'report');
    const paths = sim.requests.map((r) => `${r.method} ${r.path}`);
    assert.equal(paths[0], 'GET /api/reload_config', paths.join(', '));
    assert.ok(paths.includes('GET /api/voices'));
    assert.ok(out[0].payload.voices.includes('new_voice.wav'));
  });

  it('reports offline as a normal message with the reason', async function () {
    sim = await startSim();
    await helper.load(nodes, statusFlow(sim, { timeout: 0.5 }));
    const cfg = helper.getNode('cfg');
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready');
    await sim.goAway();
    const out = collect(helper.getNode('out'));
    const errors = watchErrors(helper.getNode('st'));
    helper.getNode('st').receive({ payload: 1 });
    await waitFor(() => out.length === 1, 'report');
    assert.equal(out[0].payload.ready, false);
    assert.equal(out[0].payload.state, 'offline');
    assert.match(out[0].payload.reason, /connection refused/);
    assert.equal(errors.length, 0);
  });

  it('a malformed server reply is an error for Catch nodes, with the message kept', async function () {
    sim = await startSim();
    await helper.load(nodes, statusFlow(sim));
    const cfg = helper.getNode('cfg');
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready');
    sim.failNext('/api/currentsettings', 1, { status: 200, body: 'this is not json', contentType: null });
    const st = helper.getNode('st');
    const errors = watchErrors(st);
    const out = collect(helper.getNode('out'));
    st.receive({ payload: 'x', topic: 'mine' });
    await waitFor(() => errors.length === 1, 'error');
    assert.match(String(errors[0].error.message || errors[0].error), /unexpected reply to \/api\/currentsettings/);
    assert.equal(errors[0].msg.topic, 'mine');
    assert.equal(out.length, 0);
  });

  it('report by exception emits exactly once per change', async function () {
    sim = await startSim();
    await helper.load(nodes, statusFlow(sim, { timeout: 0.5, healthInterval: 0.2 }, { onlyChanges: true }));
    const st = helper.getNode('st');
    const cfg = helper.getNode('cfg');
    const out = collect(helper.getNode('out'));
    await waitFor(() => out.length === 1, 'first report');
    assert.equal(out[0].payload.state, 'ready');
    // No change: inputs produce nothing.
    for (let i = 0; i < 3; i++) st.receive({ payload: i });
    await waitFor(() => sim.requests.filter((r) => r.path === '/api/ready').length >= 4, 'checks');
    await new Promise((r) => setImmediate(r));
    assert.equal(out.length, 1, 'no report without a change');
    // A change of voice list: exactly one report.
    sim.voices = [...sim.voices, 'added.wav'];
    st.receive({ payload: 'check' });
    await waitFor(() => out.length === 2, 'voice change report');
    await cfg.connection.checkNow();
    // Offline, then ready again: two more reports.
    await sim.goAway();
    await waitFor(() => out.length === 3, 'offline report');
    assert.equal(out[2].payload.state, 'offline');
    await sim.comeBack();
    await waitFor(() => out.length === 4, 'ready report', 20000);
    assert.equal(out[3].payload.state, 'ready');
    assert.deepEqual(out.map((m) => m.payload.state), ['ready', 'ready', 'offline', 'ready']);
  });

  it('sends credentials as headers', async function () {
    sim = await startSim();
    const flow = statusFlow(sim, { apiKeyHeader: 'X-Api-Key' });
    await helper.load(nodes, flow, { cfg: { username: 'anna', password: 's3cret', apiKey: 'k-123' } });
    const cfg = helper.getNode('cfg');
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready');
    const req = sim.requests.find((r) => r.path === '/api/ready');
    assert.equal(req.headers.authorization, `Basic ${Buffer.from('anna:s3cret').toString('base64')}`);
    assert.equal(req.headers['x-api-key'], 'k-123');
  });

  it('serves the cache, refresh and probe to the editor; unknown ids are not deployed', async function () {
    sim = await startSim();
    await helper.load(nodes, statusFlow(sim), { cfg: { apiKey: 'stored-key' } });
    const cfg = helper.getNode('cfg');
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready');
    const info = await helper.request().get('/alltalk/server/cfg').expect(200);
    assert.equal(info.body.state, 'ready');
    assert.deepEqual(info.body.voices, sim.voices);
    assert.equal(info.body.settings.current_engine_loaded, sim.settings.current_engine_loaded);
    // Not deployed: an answer, not a 404 the browser would log as an error.
    assert.deepEqual((await helper.request().get('/alltalk/server/nope').expect(200)).body, { deployed: false });
    assert.deepEqual((await helper.request().post('/alltalk/server/nope/refresh').expect(200)).body, { deployed: false });
    sim.clearRequests();
    await helper.request().post('/alltalk/server/cfg/refresh').expect(200);
    assert.ok(sim.requests.some((r) => r.path === '/api/reload_config'));
    // Probe with the dialog's values; the stored key of the deployed node is used, never returned.
    sim.clearRequests();
    const probe = await helper.request().post('/alltalk/probe')
      .send({ id: 'cfg', protocol: 'http', host: '127.0.0.1', port: sim.port, timeout: 2, credentials: { apiKey: '__PWRD__' } })
      .expect(200);
    assert.equal(probe.body.ok, true);
    assert.equal(probe.body.settings.current_engine_loaded, sim.settings.current_engine_loaded);
    assert.ok(!JSON.stringify(probe.body).includes('stored-key'));
    assert.equal(sim.requests[0].headers['x-api-key'], 'stored-key');
    const down = await helper.request().post('/alltalk/probe').send({ protocol: 'http', host: '127.0.0.1', port: 1, timeout: 1 }).expect(200);
    assert.equal(down.body.ok, false);
    assert.equal(down.body.kind, 'offline');
    const rules = await helper.request().get('/alltalk/rules').expect(200);
    assert.equal(rules.body.ttsGenerate.speed.max, 2);
  });

  it('the editor probe answers odd dialog values with a clear error, never a TypeError', async function () {
    sim = await startSim();
    await helper.load(nodes, statusFlow(sim));
    const cases = [
      [{ host: { evil: true }, port: sim.port }, 'validation', /host/],
      [{ host: '127.0.0.1', port: sim.port, apiKeyHeader: 'X-API-Key:', credentials: { apiKey: 'k-1234' } }, 'validation', /not a valid HTTP header name/],
      [{ host: '127.0.0.1', port: sim.port, credentials: { apiKey: 'k\u20ac1234' } }, 'validation', /outside Latin-1/],
      [{ host: '127.0.0.1', port: sim.port, apiKeyHeader: { a: 1 }, credentials: { apiKey: 'k-1234' } }, 'validation', /header name/],
      [{ protocol: 'https', host: '127.0.0.1', port: sim.port, timeout: 2 }, 'offline', /plain http port/],
    ];
    for (const [body, kind, message] of cases) {
      const r = await helper.request().post('/alltalk/probe').send(body).expect(200);
      assert.equal(r.body.ok, false, JSON.stringify(body));
      assert.equal(r.body.kind, kind, r.body.error);
      assert.match(r.body.error, message);
      assert.ok(!/TypeError|is not a function/.test(r.body.error), r.body.error);
      assert.ok(!r.body.error.includes('1234'), 'the key is never quoted');
    }
  });

  it('50 deploy/close cycles leave no timer, socket or listener behind', async function () {
    this.timeout(120000);
    sim = await startSim();
    const count = () => {
      const r = process.getActiveResourcesInfo();
      return { timers: r.filter((x) => x === 'Timeout').length, sockets: r.filter((x) => x === 'TCPSocketWrap').length };
    };
    const flow = statusFlow(sim, { healthInterval: 0.05 }, { interval: 1, onlyChanges: true });
    // One cycle first, so lazily created runtime internals exist in both counts.
    await helper.load(nodes, flow);
    await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'ready');
    await helper.unload();
    await new Promise((r) => setTimeout(r, 50));
    const before = count();
    let connection;
    for (let i = 0; i < 50; i++) {
      await helper.load(nodes, flow);
      connection = helper.getNode('cfg').connection;
      await waitFor(() => connection.state.state === 'ready', 'ready');
      await helper.unload();
    }
    await new Promise((r) => setTimeout(r, 100));
    const after = count();
    assert.ok(after.timers <= before.timers, `timers: ${before.timers} before, ${after.timers} after`);
    assert.ok(after.sockets <= before.sockets, `sockets: ${before.sockets} before, ${after.sockets} after`);
    assert.equal(connection.listenerCount('state'), 0);
    assert.equal(connection.client.isClosed, true);
  });
});
