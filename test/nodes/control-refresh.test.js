'use strict';
// alltalk-control's refresh in a real Node-RED runtime against a scriptable fake server: it
// succeeds only when the settings and voices were read again afterwards. A reply to
// /api/currentsettings cut short after the reload is an error that reaches Catch, not a success.
const assert = require('node:assert/strict');
const { helper, NODES, configNode, waitFor, collect } = require('./support');
const { FakeServer, send } = require('../api/fake-server');
const { settingsWith } = require('../api/fixtures');

const CONTROL = require('../../nodes/alltalk-control.js');
const CATCH = require('@node-red/nodes/core/common/25-catch.js');
const nodes = [NODES.config, NODES.status, CONTROL, CATCH];

let seq = 0;
const msg = (props) => ({ _msgid: `cr${++seq}`, ...props });

describe('alltalk-control refresh', function () {
  let server;
  afterEach(async function () {
    await helper.unload();
    if (server) await server.stop();
    server = undefined;
  });

  it('fails (ALLTALK_INVALID_RESPONSE to Catch, nothing out) when /api/currentsettings is cut short after the reload', async function () {
    let cut = false;
    server = new FakeServer((req, res) => {
      const p = req.url.split('?')[0];
      if (req.method === 'GET' && p === '/api/reload_config') return send(res, 200, 'Config file reloaded successfully', 'text/plain');
      if (req.method === 'GET' && p === '/api/currentsettings' && cut) {
        // A 200 whose JSON ends halfway: the headers promise more than is sent, then the socket goes.
        const body = Buffer.from(JSON.stringify(settingsWith()));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket.destroy());
        return true;
      }
      return false;
    });
    await server.start();
    await helper.load(nodes, [
      { id: 'tab', type: 'tab' },
      configNode(server),
      { id: 'c', z: 'tab', x: 100, y: 100, type: 'alltalk-control', server: 'cfg', command: 'refresh', keepModel: true, wires: [['out']] },
      { id: 'out', z: 'tab', x: 300, y: 100, type: 'helper' },
      { id: 'catch', z: 'tab', x: 100, y: 200, type: 'catch', scope: ['c'], uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'tab', x: 300, y: 200, type: 'helper' },
    ]);
    const connection = helper.getNode('cfg').connection;
    await waitFor(() => connection.state.state === 'ready', 'server ready');
    const out = collect(helper.getNode('out'));
    const caught = collect(helper.getNode('caught'));

    // Healthy: the refresh succeeds, with the settings read again.
    const reloadsBefore = server.to('/api/reload_config').length;
    helper.getNode('c').receive(msg({ topic: 'refresh' }));
    await waitFor(() => out.length === 1 || caught.length === 1, 'the first refresh to end');
    assert.equal(caught.length, 0, caught[0] && caught[0].error && caught[0].error.message);
    assert.equal(out[0].payload.ok, true);
    assert.equal(out[0].payload.command, 'refresh');
    assert.equal(server.to('/api/reload_config').length, reloadsBefore + 1);

    // Cut short from now on: the reload is answered, but the settings cannot be read again.
    cut = true;
    const settingsBefore = server.to('/api/currentsettings').length;
    const m = msg({ topic: 'refresh' });
    helper.getNode('c').receive(m);
    await waitFor(() => out.length === 2 || caught.length === 1, 'the second refresh to end');
    // Anything late would show here too.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(out.length, 1, `no output message for the failed refresh: ${JSON.stringify(out[1] && out[1].payload)}`);
    assert.equal(caught.length, 1, 'the error reached Catch');
    assert.equal(caught[0]._msgid, m._msgid, 'for the message that asked');
    assert.equal(caught[0].error.code, 'ALLTALK_INVALID_RESPONSE', caught[0].error.message);
    assert.match(caught[0].error.message, /cut short/);
    assert.equal(server.to('/api/reload_config').length, reloadsBefore + 2, 'the reload itself was sent');
    assert.ok(server.to('/api/currentsettings').length > settingsBefore, 'the settings were asked for again');
    assert.notEqual(connection.state.state, 'ready', 'the server is not shown as ready with settings it could not read');
  });
});
