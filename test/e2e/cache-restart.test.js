'use strict';
// The audio cache across a real restart: a Node-RED process generates a phrase, stops, and a new
// process on the same user directory answers the same phrase from the cache, without calling
// AllTalk; the files are where the help says (<userDir>/alltalk-cache/<config id>/).
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { AllTalkSimulator } = require('../../dist/simulator');
const { startNodeRed } = require('./node-red');

const SERVER = 'restart-server';

/** GET /say?text=… speaks with alltalk-tts and answers what msg.alltalk says of it. */
function flows(simPort) {
  return [
    { id: 'tab', type: 'tab', label: 'restart' },
    { id: SERVER, type: 'alltalk-config', name: 'sim', protocol: 'http', host: '127.0.0.1', port: String(simPort), timeout: 5, generationTimeout: 30, concurrency: 1, queueLimit: 50, healthInterval: 30, cacheMaxMb: 200, cacheMaxDays: 30, speakerUrl: '' },
    { id: 'in', type: 'http in', z: 'tab', url: '/say', method: 'get', x: 100, y: 100, wires: [['text']] },
    { id: 'text', type: 'change', z: 'tab', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: 'req.query.text', tot: 'msg' }], x: 250, y: 100, wires: [['tts']] },
    { id: 'tts', type: 'alltalk-tts', z: 'tab', server: SERVER, property: 'payload', propertyType: 'msg', maxCharacters: 2000, output: 'buffer', character_voice_gen: 'female_01.wav', x: 400, y: 100, wires: [['answer']] },
    { id: 'answer', type: 'change', z: 'tab', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: '{"cached": msg.alltalk.cached, "bytes": msg.alltalk.bytes}', tot: 'jsonata' }], x: 550, y: 100, wires: [['out']] },
    { id: 'out', type: 'http response', z: 'tab', statusCode: '', headers: {}, x: 700, y: 100, wires: [] },
    { id: 'ready-in', type: 'http in', z: 'tab', url: '/__ready', method: 'get', x: 100, y: 200, wires: [['ready-out']] },
    { id: 'ready-out', type: 'http response', z: 'tab', statusCode: '200', headers: {}, x: 300, y: 200, wires: [] },
  ];
}

describe('the audio cache across a restart of a real Node-RED process (e2e)', function () {
  this.timeout(90000);
  let sim;
  let red;

  before(async function () {
    sim = new AllTalkSimulator({ port: 0 });
    await sim.start();
  });
  after(async function () {
    if (red) await red.stop();
    await sim.stop();
  });

  async function say(text) {
    // The server configuration reads the server first: until then a message is not looked up.
    for (let t0 = Date.now(); ; await new Promise((r) => setTimeout(r, 100))) {
      const view = await (await fetch(`${red.base}/alltalk/server/${SERVER}`)).json();
      if (view.state === 'ready') break;
      if (Date.now() - t0 > 15000) throw new Error(`not ready: ${JSON.stringify(view).slice(0, 300)}`);
    }
    const r = await fetch(`${red.base}/say?text=${encodeURIComponent(text)}`, { signal: AbortSignal.timeout(20000) });
    assert.equal(r.status, 200, await r.clone().text());
    return r.json();
  }

  it('a phrase generated before a restart comes from the cache after it', async function () {
    const text = 'The washing machine is done.';
    red = await startNodeRed({ flows: flows(sim.port), readyPath: '/__ready', label: 'e2e-restart' });
    const first = await say(text);
    assert.equal(first.cached, false);
    const userDir = red.userDir;
    const folder = path.join(userDir, 'alltalk-cache', SERVER);
    assert.equal(fs.readdirSync(folder).filter((f) => /^[0-9a-f]{40}\.wav$/.test(f)).length, 1, 'one entry on disk');
    await red.stop({ keepUserDir: true });
    red = undefined;

    red = await startNodeRed({ flows: flows(sim.port), readyPath: '/__ready', label: 'e2e-restart', userDir });
    const again = await say(text);
    assert.deepEqual(again, { cached: true, bytes: first.bytes });
    assert.equal(sim.requests.filter((r) => r.path === '/api/tts-generate').length, 1, 'AllTalk generated it once');
    assert.equal((await say('Something new.')).cached, false);
  });
});
