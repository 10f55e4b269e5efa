'use strict';
// Starts a real Node-RED in its own process, as test/e2e/node-red-process.test.js does: a temp
// user dir with this package symlinked into its node_modules, a settings.js and a flows.json.
// No adminAuth, logging at warn. The flows must contain an `http in` GET /__ready wired to an
// `http response`: Node-RED counts as started when that route answers.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const { spawn } = require('node:child_process');
const { track, tempFolder, removeFolder } = require('./children');
const { stopChild } = require('./fake-alltalk');

const root = path.join(__dirname, '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The nodes every bench flow needs: a tab and the /__ready route. */
function readyRoute(tab) {
  return [
    { id: 'ready-in', type: 'http in', z: tab, url: '/__ready', method: 'get', wires: [['ready-out']] },
    { id: 'ready-out', type: 'http response', z: tab, statusCode: '200', headers: {}, wires: [] },
  ];
}

/**
 * Starts Node-RED with `flows` (`globals`: { name: module path } more entries of
 * functionGlobalContext, next to `perf`, the perf_hooks performance object); resolves
 * { base, pid, child, get(route), output(), message(cmd), stop() }. `packageDir`: the package to
 * install (default: this one; another build of it to compare a change). `beforeStart(userDir)`:
 * called (and awaited) once the user dir is written, before Node-RED starts (e.g. to fill a cache folder).
 * `get(route)` fetches base+route and parses the JSON reply.
 */
async function startNodeRed(flows, { label = 'bench', startTimeoutMs = 60_000, globals = {}, packageDir = root, beforeStart } = {}) {
  const userDir = tempFolder(fs.mkdtempSync(path.join(os.tmpdir(), `alltalk-${label}-`)));
  fs.mkdirSync(path.join(userDir, 'node_modules'));
  fs.symlinkSync(packageDir, path.join(userDir, 'node_modules', 'node-red-contrib-alltalk'), 'dir');
  fs.writeFileSync(path.join(userDir, 'package.json'), JSON.stringify({ name: label, private: true }));
  // A node in a tab without x and y counts as a config node in Node-RED (a catch node then finds
  // no errors): every node in a tab gets a position.
  const placed = flows.map((n, i) => (n.z && !('x' in n) ? { ...n, x: 200, y: 40 + 40 * i } : n));
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(placed));
  const port = await freePort();
  fs.writeFileSync(path.join(userDir, 'settings.js'), `module.exports = {
    uiPort: ${port}, uiHost: '127.0.0.1', flowFile: 'flows.json', credentialSecret: false,
    // The bench's own node types (the in-Node-RED undici baseline).
    nodesDir: ${JSON.stringify(path.join(__dirname, 'raw-undici'))},
    logging: { console: { level: 'warn' } },
    telemetry: { enabled: false },
    diagnostics: { enabled: false },
    // Function nodes time the loops with this (microsecond resolution; they have no process).
    // More modules for function nodes (the bench's "globals" option), e.g. for the profile's layer loops.
    functionGlobalContext: { perf: require('node:perf_hooks').performance${Object.entries(globals).map(([k, v]) => `, ${k}: require(${JSON.stringify(v)})`).join('')} },
  };\n`);
  if (beforeStart) await beforeStart(userDir);
  const child = track(spawn(process.execPath, [
    '--expose-gc', '-r', path.join(__dirname, 'node-red-hook.js'),
    require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', path.join(userDir, 'settings.js'),
  ], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }));
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Node-RED exited (${child.exitCode}):\n${output}`);
    try {
      const r = await fetch(`${base}/__ready`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() - started > startTimeoutMs) {
      await stopChild(child, 'SIGKILL');
      throw new Error(`Node-RED did not start within ${startTimeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const get = async (route, timeoutMs = 120_000) => {
    const r = await fetch(`${base}${route}`, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await r.text();
    if (!r.ok) throw new Error(`Node-RED GET ${route}: ${r.status} ${text}\n${output.slice(-2000)}`);
    return JSON.parse(text);
  };
  /** Sends a command to node-red-hook.js and resolves its reply. */
  const message = (cmd) => new Promise((resolve, reject) => {
    const onMessage = (m) => {
      if (!m || typeof m !== 'object' || m.reply !== cmd.cmd) return;
      child.off('message', onMessage);
      if (m.error) reject(new Error(`${cmd.cmd}: ${m.error}`));
      else resolve(m);
    };
    child.on('message', onMessage);
    child.send(cmd);
  });
  return {
    base,
    pid: child.pid,
    child,
    get,
    message,
    output: () => output,
    stop: async () => {
      await stopChild(child, 'SIGINT', 10_000);
      removeFolder(userDir);
    },
  };
}

/** CPU time (user + system) process `pid` has used, in ms (Linux /proc; 10 ms resolution), or NaN. */
function cpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime), counted from the state field (3).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

/** Resident set size of process `pid` in bytes (Linux /proc), or NaN. */
function rssBytes(pid) {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

module.exports = { startNodeRed, readyRoute, rssBytes, cpuMs };
