'use strict';
const assert = require('assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { AllTalkSimulator } = require('../../dist/simulator');

describe('simulator: lifecycle', function () {
  it('defaults: 127.0.0.1, a random port, xtts, real, a temporary output folder removed by stop()', async function () {
    const sim = new AllTalkSimulator();
    assert.strictEqual(sim.options.host, '127.0.0.1');
    assert.strictEqual(sim.options.profile, 'xtts');
    assert.strictEqual(sim.options.mode, 'real');
    assert.strictEqual(sim.options.msPerChar, 0.5);
    assert.strictEqual(sim.options.minGenerationMs, 20);
    assert.strictEqual(sim.options.audioSecondsPerChar, 0.05);
    assert.strictEqual(sim.options.streamChunkSamples, 4800);
    assert.strictEqual(sim.options.maxCharacters, 2000);
    assert.strictEqual(sim.options.legacyApi, false);
    assert.strictEqual(sim.options.rvcEnabled, true);
    const url = await sim.start();
    assert.strictEqual(url, sim.url);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(sim.port > 0);
    assert.ok(fs.existsSync(sim.outputDir));
    await sim.stop();
    assert.ok(!fs.existsSync(sim.outputDir));
    await sim.stop(); // a second stop is harmless
  });

  it('a given outputDir is used and kept; the simulator can start again after stop()', async function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-sim-test-'));
    try {
      const sim = new AllTalkSimulator({ outputDir: dir, msPerChar: 0, minGenerationMs: 1 });
      await sim.start();
      const r = await fetch(`${sim.url}/api/tts-generate`, { method: 'POST', body: new URLSearchParams({ text_input: 'Keep me' }) });
      const body = await r.json();
      assert.strictEqual(path.dirname(body.output_file_path), dir);
      await sim.stop();
      assert.ok(fs.existsSync(body.output_file_path));
      await sim.start();
      assert.strictEqual(await (await fetch(`${sim.url}/api/ready`)).text(), 'Ready');
      await sim.stop();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('start() rejects when the port is taken, and can be retried', async function () {
    const first = new AllTalkSimulator();
    await first.start();
    const second = new AllTalkSimulator({ port: first.port });
    try {
      await assert.rejects(second.start(), /EADDRINUSE/);
      await first.stop();
      await second.start();
      assert.strictEqual(await (await fetch(`${second.url}/api/ready`)).text(), 'Ready');
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  it('rejects invalid options', function () {
    assert.throws(() => new AllTalkSimulator({ profile: 'vits' }), RangeError);
    assert.throws(() => new AllTalkSimulator({ mode: 'fake' }), RangeError);
    assert.throws(() => new AllTalkSimulator({ msPerChar: -1 }), RangeError);
  });

  it('stop() leaves nothing running: sockets, timers and refusals end with it', async function () {
    const script = `
      const { AllTalkSimulator } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'dist', 'simulator'))});
      (async () => {
        const sim = new AllTalkSimulator({ msPerChar: 0, minGenerationMs: 1 });
        await sim.start();
        await (await fetch(sim.url + '/api/ready')).text();
        const held = sim.holdEngine();
        fetch(sim.url + '/api/tts-generate', { method: 'POST', body: new URLSearchParams({ text_input: 'Hello' }) }).catch(() => {});
        await new Promise((r) => sim.once('generation-start', r));
        sim.setLatency('*', 60000);
        fetch(sim.url + '/api/voices').catch(() => {});
        await new Promise((r) => sim.once('request', r));
        await sim.stop();
        console.log('stopped');
        void held;
      })();`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const code = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('the process did not exit after stop()'));
      }, 10000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.strictEqual(code, 0);
    assert.match(out, /stopped/);
  });
});
