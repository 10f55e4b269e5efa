'use strict';
// Starts a real Node-RED as its own process for the e2e and compat tests (not a spec file): a
// temporary user directory with this package installed in its node_modules (a symbolic link to this
// folder, or another package folder, or a folder the caller installed it into), the given flows and
// settings, logging at warn; by default this project's node-red run by this node, or another
// Node-RED install run by another node binary.
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
 * @param {string} [o.packageDir] the package to link into the user directory (default: this one)
 * @param {string} [o.userDir] a user directory the caller prepared, with the package already
 *   installed in its node_modules (then nothing is linked); it is removed by stop() all the same
 * @param {string} [o.nodeBinary] the node that runs Node-RED (default: this one)
 * @param {string} [o.redJs] Node-RED's red.js (default: the node-red of this project's devDependencies)
 * @param {string} [o.logLevel] Node-RED's console log level (default 'warn')
 */
async function startNodeRed({
  flows, settings = '', readyPath = '/', label = 'e2e', packageDir = root, startTimeoutMs = 45000,
  userDir: givenUserDir, nodeBinary = process.execPath, redJs = require.resolve('node-red/red.js'), logLevel = 'warn',
}) {
  const userDir = givenUserDir || fs.mkdtempSync(path.join(os.tmpdir(), `alltalk-${label}-`));
  if (!givenUserDir) {
    fs.mkdirSync(path.join(userDir, 'node_modules'));
    fs.symlinkSync(packageDir, path.join(userDir, 'node_modules', 'node-red-contrib-alltalk'), 'dir');
  }
  if (!fs.existsSync(path.join(userDir, 'package.json'))) {
    fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: label, private: true }));
  }
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  const port = await freePort();
  fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = {
    uiPort: ${port}, uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: 'e2e-secret',
    logging: { console: { level: ${JSON.stringify(logLevel)} } },
    ${settings}
  };\n`);
  const child = spawn(nodeBinary, [redJs, '--userDir', userDir, '--settings', path.join(userDir, 'settings.js')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  let spawnError;
  child.on('error', (err) => (spawnError = err));
  const base = `http://127.0.0.1:${port}`;
  /** Stops Node-RED; `keepUserDir` leaves its user directory for another start (a restart). */
  const stop = async ({ keepUserDir = false } = {}) => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      // Node-RED closes its flows on SIGINT; one that does not stop within 10 s is killed.
      const kill = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(kill);
    }
    if (!keepUserDir) fs.rmSync(userDir, { recursive: true, force: true });
  };
  const started = Date.now();
  for (;;) {
    if (spawnError) {
      fs.rmSync(userDir, { recursive: true, force: true });
      throw new Error(`Node-RED could not be started with ${nodeBinary}: ${spawnError.message}`);
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`Node-RED exited (${child.exitCode ?? child.signalCode}):\n${output}`);
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
