'use strict';
// The baseline of the node-path benchmark, in a plain Node process of its own: the same two HTTP
// calls per message as alltalk-tts with output "buffer" (POST /api/tts-generate form-encoded,
// parse the JSON, GET the audio URL and read the body), one after the other, with a bare undici
// Pool (keep-alive). Forked by node-path.js: { cmd: 'run', n } → { ms } (elapsed for n messages).
const { performance } = require('node:perf_hooks');
const { Pool } = require('undici');

const TEXT = 'The washing machine is done.';

function start(origin) {
  const pool = new Pool(origin, { connections: 1, pipelining: 1 });
  const one = async () => {
    const body = new URLSearchParams({ text_input: TEXT }).toString();
    const gen = await pool.request({
      method: 'POST',
      path: '/api/tts-generate',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    if (gen.statusCode !== 200) throw new Error(`tts-generate: ${gen.statusCode}`);
    const result = await gen.body.json();
    if (result.status !== 'generate-success') throw new Error(`tts-generate: ${result.status}`);
    const audio = await pool.request({ method: 'GET', path: result.output_file_url });
    if (audio.statusCode !== 200) throw new Error(`audio: ${audio.statusCode}`);
    const data = Buffer.from(await audio.body.arrayBuffer());
    if (data.length < 44) throw new Error('audio: too short');
  };
  process.on('message', async (m) => {
    if (!m || m.cmd !== 'run') return;
    try {
      const t0 = performance.now();
      for (let i = 0; i < m.n; i++) await one();
      process.send({ ms: performance.now() - t0 });
    } catch (err) {
      process.send({ error: String(err && err.stack) });
    }
  });
  process.on('disconnect', () => pool.destroy().finally(() => process.exit(0)));
  process.send({ ready: true });
}

if (require.main === module) start(process.argv[2]);

/** Forks the baseline against `origin`; resolves { run(n) → ms, stop() }. */
function startBaseline(origin) {
  const { fork } = require('node:child_process');
  const { track } = require('./children');
  const { stopChild } = require('./fake-alltalk');
  const child = track(fork(__filename, [origin], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const next = () => new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`undici baseline exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (m) => {
      child.off('exit', onExit);
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    });
  });
  return next().then(() => ({
    pid: child.pid,
    run: (n) => {
      const reply = next();
      child.send({ cmd: 'run', n });
      return reply.then((m) => m.ms);
    },
    stop: () => stopChild(child),
  }));
}

module.exports = { startBaseline, TEXT };
