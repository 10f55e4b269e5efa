'use strict';
// A value saved while the engine could use it, after a switch to an engine that cannot: the message
// is refused before anything is sent, and the error says exactly where the value came from and how
// to get rid of it.
const assert = require('node:assert/strict');
const { helper, allNodes, startSim, configNode, waitFor } = require('./support');

const nodes = allNodes();

function flow(sim, ttsProps) {
  return [
    configNode(sim),
    { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 2000, output: 'url', wires: [['out']], ...ttsProps },
    { id: 'out', type: 'helper' },
  ];
}

/** Sends one message; resolves { msg } on output or { error } on an error. */
function run(msg) {
  const tts = helper.getNode('tts');
  const out = helper.getNode('out');
  return new Promise((resolve) => {
    out.once('input', (m) => resolve({ msg: m }));
    tts.once('call:error', (call) => resolve({ error: call.args[0] }));
    tts.receive(msg);
  });
}

describe('a value the new engine cannot use', function () {
  this.timeout(20000);
  let sim;
  afterEach(async function () {
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
  });

  async function switchedToPiper(ttsProps) {
    sim = await startSim({ profile: 'xtts', msPerChar: 0, minGenerationMs: 1 });
    await helper.load(nodes, flow(sim, ttsProps));
    const cfg = helper.getNode('cfg');
    await waitFor(() => cfg.connection.state.state === 'ready', 'ready');
    assert.ok((await run({ payload: 'works on XTTS', speed: 1.5 })).msg, 'XTTS can use speed');
    sim.setProfile('piper');
    await cfg.connection.refresh();
    assert.equal(cfg.connection.cache.settings.current_engine_loaded, 'piper');
    sim.clearRequests();
  }

  const sent = () => sim.requests.filter((r) => r.path === '/api/tts-generate').length;

  it('saved in the dialog: says to clear the field in the dialog', async function () {
    await switchedToPiper({ speed: '1.5' });
    const r = await run({ payload: 'hello' });
    assert.ok(r.error, 'refused');
    assert.match(r.error.message, /speed cannot be used: the loaded engine "piper".*generationspeed_capable is false.*Clear the speed field in the node's dialog/);
    assert.equal(sent(), 0, 'nothing was sent');
  });

  it('language saved in the dialog: the same', async function () {
    await switchedToPiper({ language: 'de' });
    const r = await run({ payload: 'hallo' });
    assert.match(r.error.message, /language cannot be used.*languages_capable is false.*Clear the language field in the node's dialog/);
    assert.equal(sent(), 0);
  });

  it('from the message: names the msg property to remove', async function () {
    await switchedToPiper({});
    assert.match((await run({ payload: 'x', speed: 1.5 })).error.message, /Remove msg\.speed from the message/);
    assert.match((await run({ payload: 'x', alltalk: { temperature: 0.5 } })).error.message, /Remove msg\.alltalk\.temperature from the message/);
    assert.equal(sent(), 0);
  });

  it('once the field is cleared, the same message is spoken', async function () {
    await switchedToPiper({});
    const r = await run({ payload: 'spoken by piper' });
    assert.ok(r.msg, r.error && r.error.message);
    assert.equal(sent(), 1);
  });
});
