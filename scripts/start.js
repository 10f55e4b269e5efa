#!/usr/bin/env node
'use strict';
// `npm start`: the AllTalk simulator (or a real AllTalk given by ALLTALK_URL) and a real Node-RED
// with this package loaded, its user directory in .node-red/ (ignored by git), listening on
// 127.0.0.1 unless NODE_RED_HOST says otherwise.
//
// On the first start (no flows yet) every example flow is deployed on a tab of its own, pointing
// at the chosen server through one server configuration ("AllTalk"). Those copies get ids of
// their own, so importing an example later (Import → Examples) never conflicts with them. Flows
// that are already there are never overwritten; only the address of that server configuration
// follows ALLTALK_URL from start to start, and its address for speakers follows Node-RED's own.
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

const root = path.join(__dirname, '..');
// ALLTALK_START_DIR: another user directory (the tests start it in a temporary one).
const userDir = process.env.ALLTALK_START_DIR ? path.resolve(process.env.ALLTALK_START_DIR) : path.join(root, '.node-red');
const { exampleFlows, START_SERVER_ID } = require('./example-flows');
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function freePort(preferred, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => {
      const any = net.createServer();
      any.listen(0, host, () => {
        const { port } = any.address();
        any.close(() => resolve(port));
      });
    });
    srv.listen(preferred, host, () => srv.close(() => resolve(preferred)));
  });
}

function targetFromEnv() {
  const raw = process.env.ALLTALK_URL;
  if (!raw) return undefined;
  let u;
  try {
    u = new URL(raw);
  } catch {
    console.error(`ALLTALK_URL is not a URL: ${raw} (expected e.g. http://192.168.1.20:7851)`);
    process.exit(2);
  }
  const protocol = u.protocol.replace(':', '');
  if (protocol !== 'http' && protocol !== 'https') {
    console.error(`ALLTALK_URL must start with http:// or https://, not ${u.protocol}`);
    process.exit(2);
  }
  return { protocol, host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || (protocol === 'https' ? 443 : 7851)) };
}

/** settings.js of .node-red: written once (edit it freely afterwards, e.g. to add adminAuth). */
function writeSettings() {
  const file = path.join(userDir, 'settings.js');
  if (fs.existsSync(file)) return file;
  const secret = crypto.randomBytes(24).toString('hex');
  fs.writeFileSync(file, `// Node-RED settings for \`npm start\` of node-red-contrib-alltalk (written once; edit freely).
module.exports = {
  flowFile: 'flows.json',
  // Encrypts the credentials in flows_cred.json (an API key or password for a proxy in front of AllTalk).
  credentialSecret: ${JSON.stringify(secret)},
  // Only this machine can reach the editor unless NODE_RED_HOST says otherwise (e.g. 0.0.0.0).
  uiHost: process.env.NODE_RED_HOST || '127.0.0.1',
  uiPort: Number(process.env.PORT) || 1880,
  logging: { console: { level: 'info' } },
  editorTheme: { tours: false },
  // To require a login, add adminAuth here: https://nodered.org/docs/user-guide/runtime/securing-node-red
};
`);
  return file;
}

function prepareUserDir(target, realServer, speakerUrl, fallbackTarget) {
  fs.mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
  const link = path.join(userDir, 'node_modules', 'node-red-contrib-alltalk');
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(root, link, 'dir');
  const pkgFile = path.join(userDir, 'package.json');
  if (!fs.existsSync(pkgFile)) {
    fs.writeFileSync(pkgFile, JSON.stringify({ name: 'node-red-project', private: true, dependencies: {} }, null, 2));
  }
  const flowsFile = path.join(userDir, 'flows.json');
  let flows = [];
  try {
    flows = JSON.parse(fs.readFileSync(flowsFile, 'utf8'));
  } catch {
    flows = [];
  }
  if (!Array.isArray(flows) || flows.length === 0) {
    fs.writeFileSync(flowsFile, JSON.stringify(exampleFlows(target, realServer, speakerUrl, fallbackTarget), null, 2));
    return 'deployed the example flows on tabs of their own';
  }
  // Never overwrite a user's flows: only the address of our own server configuration follows.
  const i = flows.findIndex((n) => n.id === START_SERVER_ID);
  // The address for speakers follows Node-RED's port while it is empty or local; one set by hand stays.
  const ownSpeakerUrl = i >= 0 && (!flows[i].speakerUrl || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(flows[i].speakerUrl));
  const speakerMoved = ownSpeakerUrl && flows[i].speakerUrl !== speakerUrl;
  let changed = false;
  if (i >= 0 && (speakerMoved || flows[i].host !== target.host || Number(flows[i].port) !== target.port || flows[i].protocol !== target.protocol)) {
    flows[i] = { ...flows[i], protocol: target.protocol, host: target.host, port: target.port, ...(ownSpeakerUrl ? { speakerUrl } : {}) };
    changed = true;
  }
  // The two-servers example's configurations follow the simulators too (the second one may be on another port now).
  for (const [k, n] of flows.entries()) {
    if (n.type !== 'alltalk-config' || !/^start-two-servers-alltalk-two-servers-/.test(n.id)) continue;
    const t = n.id.endsWith('-piper') ? fallbackTarget : target;
    if (n.host !== t.host || Number(n.port) !== t.port || n.protocol !== t.protocol) {
      flows[k] = { ...n, ...t };
      changed = true;
    }
  }
  if (changed) fs.writeFileSync(flowsFile, JSON.stringify(flows, null, 2));
  return 'kept your flows';
}

/** True when settings.js asks for a login (it is read, not run, so nothing starts twice). */
/** The address a speaker on the network reaches this Node-RED at: loopback stays loopback, "any" is the LAN address. */
function speakerHost(host) {
  if (LOOPBACK.has(host)) return '127.0.0.1';
  if (host !== '0.0.0.0' && host !== '::') return host.includes(':') ? `[${host}]` : host;
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

function hasAdminAuth(settingsFile) {
  return /^\s*adminAuth\s*:/m.test(fs.readFileSync(settingsFile, 'utf8'));
}

async function main() {
  if (!fs.existsSync(path.join(root, 'nodes', 'alltalk-config.js'))) {
    console.error('The package is not built: run `npm run build` first (`npm start` does).');
    process.exit(1);
  }
  let sim;
  // A second built-in simulator (Piper-like): the fallback of examples/two-servers.json.
  const { AllTalkSimulator } = require('../dist/simulator');
  const fallbackSim = new AllTalkSimulator({ host: '127.0.0.1', port: await freePort(Number(process.env.ALLTALK_FALLBACK_SIM_PORT || 7852)),
    profile: 'piper', msPerChar: 10, minGenerationMs: 200, espeak: true });
  await fallbackSim.start();
  const fallbackTarget = { protocol: 'http', host: '127.0.0.1', port: fallbackSim.port };
  let target = targetFromEnv();
  if (!target) {
    const port = await freePort(Number(process.env.ALLTALK_SIM_PORT || 7851));
    sim = new AllTalkSimulator({ host: '127.0.0.1', port, msPerChar: 20, minGenerationMs: 300, streamChunkIntervalMs: 150, espeak: true });
    await sim.start();
    console.log(`AllTalk simulator listening on ${sim.url}  (set ALLTALK_URL=http://host:port to use a real AllTalk)`);
    target = { protocol: 'http', host: '127.0.0.1', port: sim.port };
  } else {
    console.log(`Using the AllTalk server at ${target.protocol}://${target.host}:${target.port}`);
  }
  fs.mkdirSync(userDir, { recursive: true });
  const settingsFile = writeSettings();
  const host = process.env.NODE_RED_HOST || '127.0.0.1';
  const uiPort = await freePort(Number(process.env.PORT || 1880), LOOPBACK.has(host) ? '127.0.0.1' : host);
  console.log(`Second AllTalk simulator (Piper, the fallback of the two-servers example) on ${fallbackSim.url}`);
  const flowsNote = prepareUserDir(target, !sim, `http://${speakerHost(host)}:${uiPort}`, fallbackTarget);
  if (!LOOPBACK.has(host) && !hasAdminAuth(settingsFile)) {
    console.warn(`\n  WARNING: Node-RED listens on ${host} with no login: anyone who can reach this machine can edit and run flows.` +
      `\n  Add adminAuth to ${settingsFile}, or start without NODE_RED_HOST to listen on 127.0.0.1 only.\n`);
  }
  // ALLTALK_START_CHECK=1: everything up to here (settings, flows, warnings), then stop without starting Node-RED.
  if (process.env.ALLTALK_START_CHECK === '1') {
    console.log(`Checked: Node-RED would listen on ${host}:${uiPort} (${flowsNote}).`);
    if (sim) await sim.stop();
    await fallbackSim.stop();
    return;
  }
  const red = spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', settingsFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PORT: String(uiPort) },
  });
  let announced = false;
  red.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    if (!announced && /Server now running at/.test(String(chunk))) {
      announced = true;
      const shown = host === '0.0.0.0' || host === '::' ? '<this machine\'s address>' : host.includes(':') ? `[${host}]` : host;
      console.log(`\n  Node-RED editor: http://${shown}:${uiPort}/  (${flowsNote}; more under Import → Examples)\n`);
    }
  });
  const stop = async () => {
    red.kill('SIGINT');
    if (sim) await sim.stop();
    await fallbackSim.stop();
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  red.on('exit', async (code) => {
    if (sim) await sim.stop();
    await fallbackSim.stop();
    process.exit(code ?? 0);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
