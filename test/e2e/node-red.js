'use strict';
// Starts a real Node-RED as its own process for the e2e tests (not a spec file): a temporary user
// directory with this package installed in its node_modules (a symbolic link to this folder, or
// another package folder), the given flows and settings, logging at warn.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawn } = require('node:child_process');

const root = path.join(__dirname, '..', '..');

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Resolves { base, port, userDir, output(), stop() } once `readyPath` answers 200.
 * @param {object} o
 * @param {object[]} o.flows the flows.json content
 * @param {string} [o.settings] more settings.js properties, as source text
 * @param {string} [o.readyPath] a path that answers once the flows run (default '/')
 * @param {string} [o.label] for the temporary folder's name
 * @param {string} [o.packageDir] the package to install (default: this one)
 */
async function startNodeRed({ flows, settings = '', readyPath = '/', label = 'e2e', packageDir = root, startTimeoutMs = 45000 }) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), `alltalk-${label}-`));
  fs.mkdirSync(path.join(userDir, 'node_modules'));
  fs.symlinkSync(packageDir, path.join(userDir, 'node_modules', 'node-red-contrib-alltalk'), 'dir');
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: label, private: true }));
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  const port = await freePort();
  fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = {
    uiPort: ${port}, uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: 'e2e-secret',
    logging: { console: { level: 'warn' } },
    ${settings}
  };\n`);
  const child = spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
    }
    fs.rmSync(userDir, { recursive: true, force: true });
  };
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`Node-RED exited (${child.exitCode}):\n${output}`);
    }
    try {
      if ((await fetch(`${base}${readyPath}`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() - started > startTimeoutMs) {
      await stop();
      throw new Error(`Node-RED did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { base, port, userDir, output: () => output, stop };
}

module.exports = { startNodeRed, freePort };
