'use strict';
// examples/stream-to-browser.json, all its nodes, in a real Node-RED process against the simulator:
// the player page is served, and a WebSocket client (standing in for the page's script) gets the
// audio format, the audio while it is still being generated, then {done}; Stop ends a long stream.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const WebSocket = require('ws');
const { AllTalkSimulator } = require('../../dist/simulator');
const { startNodeRed } = require('./node-red');

const root = path.join(__dirname, '..', '..');
const example = JSON.parse(fs.readFileSync(path.join(root, 'examples', 'stream-to-browser.json'), 'utf8'));

/** Time on the simulator's clock (it records generations with performance.timeOrigin + now()). */
const now = () => performance.timeOrigin + performance.now();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A WebSocket client that records every frame: {at, json} for text frames, {at, bytes} for binary ones. */
async function openPlayer(url) {
  const socket = new WebSocket(url);
  const frames = [];
  const waiters = [];
  socket.on('message', (data, isBinary) => {
    const text = typeof data === 'string' || isBinary === false;
    frames.push(text ? { at: now(), json: JSON.parse(String(data)) } : { at: now(), bytes: data.length });
    for (const w of [...waiters]) w();
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    frames,
    send: (obj) => socket.send(JSON.stringify(obj)),
    /** Resolves with the first frame (from `from` on) that `predicate` accepts. */
    next(predicate, what, from = 0, timeoutMs = 10000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = frames.slice(from).find(predicate);
          if (!found) return false;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(frames.slice(from).filter((f) => f.json))}`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
  };
}

describe('examples/stream-to-browser.json in a real Node-RED process (e2e)', function () {
  this.timeout(30000);
  let sim;
  let red;
  let base;
  const players = [];

  before(async function () {
    // 40 ms between 0.2 s chunks: a stream lasts long enough to see it arrive while it is generated.
    sim = new AllTalkSimulator({ port: 0, streamChunkIntervalMs: 40 });
    await sim.start();
    // The example as the editor imports it: on a tab, the config node pointed at the simulator.
    const flows = [
      { id: 'stream-example-tab', type: 'tab', label: 'stream to browser' },
      ...example.map((n) => {
        if (n.type === 'alltalk-config') return { ...n, port: String(sim.port) };
        return n.x === undefined ? n : { ...n, z: 'stream-example-tab' };
      }),
    ];
    red = await startNodeRed({ flows, readyPath: '/alltalk-example/player', label: 'e2e-stream' });
    base = red.base.replace(/^http:\/\//, '');
    const started = Date.now();
    // The config node has read the server's voices (the stream node checks the voice against them).
    while (!sim.requests.some((r) => r.path === '/api/voices')) {
      if (Date.now() - started > 20000) throw new Error(`the config node did not reach the simulator:\n${red.output()}`);
      await sleep(50);
    }
  });

  after(async function () {
    for (const p of players) p.socket.terminate();
    if (red) await red.stop();
    if (sim) await sim.stop();
  });


  it('serves the player page', async function () {
    const r = await fetch(`http://${base}/alltalk-example/player`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/html/);
    const html = await r.text();
    assert.match(html, /<button[^>]*id="speak"[^>]*>Speak<\/button>/);
    assert.match(html, /<button[^>]*id="stop"[^>]*>Stop<\/button>/);
    assert.match(html, /'ws\/stream'/);
    assert.doesNotMatch(html, /<script[^>]+src=|<link[^>]+href=/, 'self-contained: no external scripts or styles');
  });

  it('streams the speech to the browser that asked, while it is generated', async function () {
    const player = await openPlayer(`ws://${base}/alltalk-example/ws/stream`);
    const other = await openPlayer(`ws://${base}/alltalk-example/ws/stream`);
    players.push(player, other);
    sim.clearRequests();
    player.send({ cmd: 'speak', text: 'Hello from the stream example, played while it is generated.' });
    const done = await player.next((f) => f.json && (f.json.done || f.json.error), '{done}');
    assert.equal(done.json.error, undefined, 'no error');
    assert.deepEqual(done.json, { done: true, seconds: done.json.seconds, stopped: false });

    const frames = player.frames;
    assert.deepEqual(frames[0].json, { format: { sampleRate: 24000, channels: 1, bitsPerSample: 16 } }, 'the format comes first');
    const audio = frames.slice(1, -1);
    assert.ok(audio.length > 1, 'several pieces of audio');
    assert.ok(audio.every((f) => f.bytes > 0 && f.bytes % 2 === 0), 'binary frames of whole 16-bit samples');
    assert.equal(frames[frames.length - 1], done, '{done} comes last');
    const total = audio.reduce((n, f) => n + f.bytes, 0);

    const [generation] = sim.generations;
    assert.equal(sim.generations.length, 1);
    assert.equal(generation.route, '/api/tts-generate-streaming');
    assert.equal(generation.params.voice, 'female_01.wav');
    assert.equal(generation.outcome, 'success');
    assert.equal(total, Math.round(generation.audioSeconds * 24000) * 2, 'all the audio the simulator generated, header cut off');
    assert.equal(total, Math.round(done.json.seconds * 24000) * 2);
    assert.ok(audio[0].at < generation.endedAt, `the first audio came ${Math.round(generation.endedAt - audio[0].at)} ms before the generation ended`);
    assert.equal(other.frames.length, 0, 'the other browser heard nothing');
  });

  it('stops a long stream on {cmd: "stop"}, and speaks again after it', async function () {
    const player = await openPlayer(`ws://${base}/alltalk-example/ws/stream`);
    players.push(player);
    sim.clearRequests();
    const sentence = 'This is a long text that the stop button ends long before the simulator has generated all of it. ';
    const text = sentence.repeat(19);
    // The simulator's audio for this text, and how long it takes to stream it (chunks of 4800 samples, 40 ms apart).
    const fullBytes = Math.max(0.2, text.length * 0.05) * 24000 * 2;
    const fullMs = Math.ceil(fullBytes / 2 / 4800) * 40;
    const asked = now();
    player.send({ cmd: 'speak', text });
    await player.next((f) => f.bytes, 'the first audio');
    player.send({ cmd: 'stop' });
    const done = await player.next((f) => f.json && (f.json.done || f.json.error), '{done}');
    const took = now() - asked;
    assert.equal(done.json.error, undefined, 'no error');
    assert.equal(done.json.stopped, true);
    const received = player.frames.filter((f) => f.bytes).reduce((n, f) => n + f.bytes, 0);
    assert.ok(received > 0 && received < fullBytes / 4, `${received} bytes of ${fullBytes} came before the stop`);
    assert.ok(received % 2 === 0);
    assert.ok(took < fullMs / 2, `stopped after ${Math.round(took)} ms (the whole stream takes ${fullMs} ms)`);

    // Speak again at once: the next stream is not cut by the stop that went before.
    const from = player.frames.length;
    player.send({ cmd: 'speak', text: 'And again, after the stop.' });
    const again = await player.next((f) => f.json && (f.json.done || f.json.error), 'a second {done}', from);
    assert.equal(again.json.error, undefined, 'no error');
    assert.equal(again.json.stopped, false);
    const bytes = player.frames.slice(from).filter((f) => f.bytes).reduce((n, f) => n + f.bytes, 0);
    assert.equal(bytes, Math.round(again.json.seconds * 24000) * 2);
    assert.deepEqual(player.frames[from].json, { format: { sampleRate: 24000, channels: 1, bitsPerSample: 16 } });
  });

  it('shows an error of the stream node on the page that asked', async function () {
    const player = await openPlayer(`ws://${base}/alltalk-example/ws/stream`);
    players.push(player);
    player.send({ cmd: 'speak', text: '' });
    const error = await player.next((f) => f.json && f.json.error, '{error}');
    assert.match(error.json.error, /text/i);
    assert.doesNotMatch(error.json.error, /^AllTalkError/, 'the message without the error\'s name');
    assert.equal(player.frames.length, 1, 'the error alone');
  });
});
