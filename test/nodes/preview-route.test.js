'use strict';
// The editor's voice preview (POST /alltalk/preview): which server it reaches. A deployed server
// (same id, same address) runs it through its queue; a server added or edited in the editor and
// not deployed yet is reached at the address the editor sends; with neither, a clear error, and
// nothing is sent anywhere (never to the default address).
const assert = require('node:assert/strict');
const { helper, NODES, startSim, configNode, waitFor } = require('./support');

const nodes = [NODES.config, NODES.status];
const previews = (sim) => sim.requests.filter((r) => r.path === '/api/previewvoice/');

describe('the voice preview route', function () {
  let deployedSim;
  let otherSim;

  beforeEach(async function () {
    deployedSim = await startSim();
    otherSim = await startSim({ profile: 'piper' });
    await helper.load(nodes, [configNode(deployedSim)]);
    await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'ready');
    deployedSim.clearRequests();
  });

  afterEach(async function () {
    await helper.unload();
    await deployedSim.stop();
    await otherSim.stop();
  });

  async function preview(server, voice) {
    return helper.request().post('/alltalk/preview').send({ server, voice }).buffer(true)
      .parse((res, cb) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
  }

  it('a deployed server by id: its own connection, through its queue', async function () {
    const cfg = helper.getNode('cfg');
    let queued = 0;
    const run = cfg.connection.runGeneration.bind(cfg.connection);
    cfg.connection.runGeneration = (work, ...rest) => { queued += 1; return run(work, ...rest); };
    const res = await preview({ id: 'cfg', protocol: 'http', host: '127.0.0.1', port: deployedSim.port }, deployedSim.voices[0]);
    assert.equal(res.status, 200, res.body.toString());
    assert.match(res.headers['content-type'], /^audio\//);
    assert.equal(res.body.subarray(0, 4).toString('latin1'), 'RIFF');
    assert.equal(previews(deployedSim).length, 1);
    assert.equal(queued, 1, 'through the deployed queue');
  });

  it('a server not deployed yet (an id the runtime does not know): the address the editor sends', async function () {
    const res = await preview({ id: 'new-in-editor', protocol: 'http', host: '127.0.0.1', port: otherSim.port }, otherSim.voices[0]);
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(previews(otherSim).length, 1);
    assert.equal(previews(deployedSim).length, 0);
  });

  it('a deployed id whose address was edited and not deployed: the edited address', async function () {
    const res = await preview({ id: 'cfg', protocol: 'http', host: '127.0.0.1', port: otherSim.port }, otherSim.voices[0]);
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(previews(otherSim).length, 1);
    assert.equal(previews(deployedSim).length, 0);
  });

  it('an unknown id and no address: a clear error, nothing sent', async function () {
    const res = await preview({ id: 'nobody' }, 'female_01.wav');
    assert.equal(res.status, 400);
    const body = JSON.parse(res.body.toString());
    assert.equal(body.ok, false);
    assert.match(body.error, /No server address was sent.*choose a server/);
    assert.equal(previews(deployedSim).length + previews(otherSim).length, 0);
  });
});
