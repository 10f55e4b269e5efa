#!/usr/bin/env node
'use strict';
// `npm start`: the AllTalk simulator (or a real AllTalk given by ALLTALK_URL) and a real Node-RED
// with this package loaded, its user directory in .node-red/ (ignored by git). The example flows
// are in the editor's menu under Import → Examples → node-red-contrib-alltalk; they use the
// server configuration "AllTalk" (id alltalk-example-server), which this script points at the
// chosen server.
const fs = require('fs');
const net = require('net');
const path = require('path');
const { spawn } = require('child_process');

const root = path.join(__dirname, '..');
const userDir = path.join(root, '.node-red');
const EXAMPLE_SERVER_ID = 'alltalk-example-server';

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

function prepareUserDir(target) {
  fs.mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
  const link = path.join(userDir, 'node_modules', 'node-red-contrib-alltalk');
  try {
    fs.rmSync(link, { recursive: true, force: true });
  } catch {
    // nothing there
  }
  fs.symlinkSync(root, link, 'dir');
  const pkgFile = path.join(userDir, 'package.json');
  if (!fs.existsSync(pkgFile)) {
    fs.writeFileSync(pkgFile, JSON.stringify({ name: 'node-red-project', private: true, dependencies: {} }, null, 2));
  }
  const flowsFile = path.join(userDir, 'flows.json');
  let flows = [];
  if (fs.existsSync(flowsFile)) {
    try {
      flows = JSON.parse(fs.readFileSync(flowsFile, 'utf8'));
    } catch {
      flows = [];
    }
  }
  const server = {
    id: EXAMPLE_SERVER_ID,
    type: 'alltalk-config',
    name: 'AllTalk',
    protocol: target.protocol,
    host: target.host,
    port: target.port,
    timeout: 5,
    generationTimeout: 300,
    concurrency: 1,
    queueLimit: 50,
    healthInterval: 30,
    tls: '',
    apiKeyHeader: 'X-API-Key',
  };
  const i = flows.findIndex((n) => n.id === EXAMPLE_SERVER_ID);
  if (i >= 0) flows[i] = { ...flows[i], protocol: server.protocol, host: server.host, port: server.port };
  else flows.push(server);
  fs.writeFileSync(flowsFile, JSON.stringify(flows, null, 2));
}

async function main() {
  if (!fs.existsSync(path.join(root, 'nodes', 'alltalk-config.js'))) {
    console.error('The package is not built: run `npm install` (or `npm run build`) first.');
    process.exit(1);
  }
  let sim;
  let target = targetFromEnv();
  if (!target) {
    const { AllTalkSimulator } = require('../dist/simulator');
    const port = await freePort(Number(process.env.ALLTALK_SIM_PORT || 7851));
    sim = new AllTalkSimulator({ host: '127.0.0.1', port, msPerChar: 20, minGenerationMs: 300, streamChunkIntervalMs: 150, espeak: true });
    await sim.start();
    console.log(`AllTalk simulator listening on ${sim.url}  (set ALLTALK_URL=http://host:port to use a real AllTalk)`);
    target = { protocol: 'http', host: '127.0.0.1', port: sim.port };
  } else {
    console.log(`Using the AllTalk server at ${target.protocol}://${target.host}:${target.port}`);
  }
  prepareUserDir(target);
  const uiPort = await freePort(Number(process.env.PORT || 1880));
  const red = spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir, '--port', String(uiPort)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env,
  });
  let announced = false;
  red.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    if (!announced && /Server now running at/.test(String(chunk))) {
      announced = true;
      console.log(`\n  Node-RED editor: http://127.0.0.1:${uiPort}/  (Import → Examples → node-red-contrib-alltalk)\n`);
    }
  });
  const stop = async () => {
    red.kill('SIGINT');
    if (sim) await sim.stop();
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  red.on('exit', async (code) => {
    if (sim) await sim.stop();
    process.exit(code ?? 0);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
