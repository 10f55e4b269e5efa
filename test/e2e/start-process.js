'use strict';
// `npm start` (scripts/start.js) as its own process, in a user directory of the caller's (not a
// spec file): for the npm start tests and the browser test that imports examples into it.
const path = require('node:path');
const { spawn } = require('node:child_process');
const { freePort } = require('./node-red');

const root = path.join(__dirname, '..', '..');

/** Runs scripts/start.js until Node-RED has started; resolves { base, output(), stop() }. */
async function startScript(dir, env = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(root, 'scripts', 'start.js')], {
    env: { ...process.env, ALLTALK_START_DIR: dir, PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    await exited;
  };
  const started = Date.now();
  while (!/Node-RED editor: /.test(output)) {
    if (child.exitCode !== null || Date.now() - started > 45000) {
      await stop();
      throw new Error(`start.js did not start Node-RED:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base: `http://127.0.0.1:${port}`, port, output: () => output, stop };
}

module.exports = { startScript };
