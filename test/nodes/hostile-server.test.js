'use strict';
// A hostile server behind a real Node-RED runtime: alltalk-config pointing at the fake server of
// the api tests and an alltalk-tts node. Bad audio addresses and endless bodies end each message
// once with an error; the connection's state keeps following the server afterwards.
const assert = require('node:assert/strict');
const { helper, NODES, configNode, waitFor, collect, watchErrors } = require('./support');
const { FakeServer, send, endless } = require('../api/fake-server');

const nodes = [NODES.config, require('../../nodes/alltalk-tts.js')];

function ttsFlow(server, cfgProps = {}) {
  return [
    configNode(server, { timeout: 1, generationTimeout: 5, healthInterval: 1, maxAudioMb: 5, ...cfgProps }),
    { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 2000, splitLongText: false, output: '', filePath: '', wires: [['out']] },
    { id: 'out', type: 'helper' },
  ];
}

/** Audio addresses that must each end their message with an error, and the kind expected. */
const BAD = [
  ['http://[bad/audio/x.wav', 'invalid-response'],
  ['javascript:alert(1)', 'invalid-response'],
  ['/audio/\ud800.wav', 'invalid-response'],
  ['/audio/endless.wav', 'too-large'],
  ['/audio/huge.wav', 'too-large'],
  ['/audio/page.wav', 'invalid-response'],
  ['/audio/with space.wav', 'invalid-response'],
  ['/audio/empty.wav', 'invalid-response'],
];

/** The fake server's bad audio: endless, 5 GB declared, an HTML page, an empty body. */
function hostile(req, res, server) {
  switch (req.url) {
    case '/audio/endless.wav':
      return endless(server, res, { contentType: 'audio/wav' });
    case '/audio/huge.wav':
      return endless(server, res, { contentType: 'audio/wav', headers: { 'content-length': String(5 * 1024 ** 3) } });
    case '/audio/page.wav':
    case '/audio/with%20space.wav':
      return send(res, 200, '<html><body>It works!</body></html>', 'text/html');
    case '/audio/empty.wav':
      return send(res, 200, '', 'audio/wav');
    default:
      return false;
  }
}

let seq = 0;
const msg = (props) => ({ _msgid: `h${++seq}`, ...props });

describe('alltalk-tts against a hostile server', function () {
  this.timeout(30000);
  let server;

  afterEach(async function () {
    await helper.unload();
    if (server) await server.stop();
    server = undefined;
  });

  async function startServer(handler) {
    server = new FakeServer(handler);
    await server.start();
    return server;
  }

  it('bad audio addresses and endless bodies: each message ends once with an error; the state still follows the server', async function () {
    await startServer(hostile);
    await helper.load(nodes, ttsFlow(server));
    const cfg = helper.getNode('cfg');
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready');
    const tts = helper.getNode('tts');
    const errors = watchErrors(tts);
    const outputs = collect(helper.getNode('out'));

    // A burst: twice every bad address, more than the pool has connections, all queued at once.
    const burst = [...BAD, ...BAD];
    server.audioUrls.push(...burst.map(([url]) => url));
    const sent = burst.map(() => msg({ payload: 'Hello there' }));
    for (const m of sent) tts.receive(m);
    await waitFor(() => errors.length >= sent.length, 'every message to end', 20000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(errors.length, sent.length, 'each message ended exactly once');
    assert.equal(outputs.length, 0, 'nothing was sent on');
    sent.forEach((m, i) => {
      const e = errors[i];
      assert.equal(e.msg._msgid, m._msgid, 'the error goes with its own message, in order');
      assert.equal(e.error.name, 'AllTalkError', String(e.error && e.error.stack));
      assert.equal(e.error.kind, burst[i][1], `${JSON.stringify(burst[i][0])}: ${e.error.message}`);
      assert.ok(e.error.message.includes(cfg.connection.origin), e.error.message);
    });
    assert.ok(server.streams.every((s) => s.closed), 'every endless download was dropped');
    assert.ok(server.to('/audio/with%20space.wav').length === 2, 'the address with a space went out percent-encoded');

    // The connection still follows the server: down → offline, up → ready, and a message works.
    await server.stop();
    await waitFor(() => cfg.connection.state.state === 'offline', 'offline', 10000);
    await server.start();
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready again', 15000);
    const m = msg({ payload: 'Back again' });
    tts.receive(m);
    await waitFor(() => outputs.length === 1 || errors.length > sent.length, 'the normal message to end', 10000);
    assert.equal(errors.length, sent.length, errors.length > sent.length ? errors[errors.length - 1].error.message : '');
    assert.equal(outputs[0]._msgid, m._msgid);
    assert.ok(Buffer.isBuffer(outputs[0].payload));
    assert.equal(outputs[0].payload.toString('latin1', 0, 4), 'RIFF');
  });

  it('a generation that succeeds while the state is offline makes it ready at once, not at the next poll', async function () {
    await startServer();
    // A health check every 60 s: no poll can run during the test; only the generation can fix the state.
    await helper.load(nodes, ttsFlow(server, { healthInterval: 60 }));
    const cfg = helper.getNode('cfg');
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready');
    const tts = helper.getNode('tts');
    const errors = watchErrors(tts);
    const out = helper.getNode('out');

    // The server goes away: a generation finds it gone and the state becomes offline.
    await server.stop();
    tts.receive(msg({ payload: 'Anybody there?' }));
    await waitFor(() => errors.length === 1, 'the first message to fail');
    assert.equal(errors[0].error.kind, 'offline', errors[0].error.message);
    await waitFor(() => cfg.connection.state.state === 'offline', 'offline');

    // It comes back; the next generation succeeds and the state is ready when its output arrives.
    await server.start();
    const mark = server.requests.length;
    let stateAtOutput;
    const arrived = new Promise((resolve) => out.once('input', (m) => {
      stateAtOutput = cfg.connection.state.state;
      resolve(m);
    }));
    tts.receive(msg({ payload: 'Back again' }));
    const output = await Promise.race([arrived, waitFor(() => errors.length > 1, 'an error').then(() => {
      throw errors[errors.length - 1].error;
    })]);
    assert.equal(output.payload.toString('latin1', 0, 4), 'RIFF');
    assert.equal(stateAtOutput, 'ready', 'ready as soon as the server did work for us');
    const paths = server.requests.slice(mark).map((r) => r.url);
    const firstPoll = paths.indexOf('/api/ready');
    const download = paths.indexOf('/audio/ok.wav');
    assert.ok(download >= 0, paths.join(' '));
    assert.ok(firstPoll === -1 || firstPoll > download, `no poll ran before the generation answered: ${paths.join(' ')}`);
  });

  it('a health check whose /api/currentsettings never ends: the state leaves ready (the server is not usable)', async function () {
    await startServer();
    await helper.load(nodes, ttsFlow(server));
    const cfg = helper.getNode('cfg');
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready');
    // Another program takes the port over: /api/ready still says Ready, the settings never end.
    server.handler = (req, res, srv) => req.url === '/api/currentsettings' && endless(srv, res);
    await waitFor(() => server.streams.length >= 2, 'two health checks against the endless settings', 10000);
    assert.notEqual(cfg.connection.state.state, 'ready', 'a server whose settings cannot be read is not ready');
    assert.ok((cfg.connection.state.reason || '').includes(cfg.connection.origin), String(cfg.connection.state.reason));
    server.handler = undefined;
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready again', 10000);
  });
});
