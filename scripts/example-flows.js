'use strict';
// The example flows as `npm start` deploys them on a first start (and the browser tests show them):
// each on a tab of its own, with ids of their own and their pages under /alltalk-demo/ (so importing
// an example later, whose pages are under /alltalk-example/, never conflicts with them), all pointing
// at one server configuration, "AllTalk" (the two-servers example keeps its own two).
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const START_SERVER_ID = 'alltalk-start-server';
/** Every example file's own server configuration has an id that starts so (its own: importing two never conflicts). */
const EXAMPLE_SERVER_ID = 'alltalk-example-server';

/**
 * The example flows, each on a tab of its own, with ids of their own and one server configuration.
 * @param {{protocol: string, host: string, port: number|string}} target the server
 * @param {boolean} realServer a real AllTalk (a schedule that changes its model is deployed off)
 * @param {string} [speakerUrl] the address players reach this Node-RED at (URLs served to speakers)
 * @param {{protocol: string, host: string, port: number|string}} [fallbackTarget] a second server (the
 *   fallback of examples/two-servers.json: server configurations whose id ends in "-piper")
 */
function exampleFlows(target, realServer, speakerUrl = '', fallbackTarget = target) {
  const dir = path.join(root, 'examples');
  const flows = [{
    id: START_SERVER_ID,
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
    maxAudioMb: 200,
    tls: '',
    apiKeyHeader: 'X-API-Key',
    speakerUrl,
    cacheMaxMb: 200,
    cacheMaxDays: 30,
    cacheFolder: '',
  }];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const base = path.basename(file, '.json');
    const nodes = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    const tab = `start-${base}`;
    // Every example's own server configuration becomes the one shared server (not the two-servers example's).
    const ids = new Map(nodes.map((n) => [n.id, n.id.startsWith(EXAMPLE_SERVER_ID) ? START_SERVER_ID : `start-${base}-${n.id}`]));
    const remap = (v) => (typeof v === 'string' && ids.has(v) ? ids.get(v) : Array.isArray(v) ? v.map(remap) : v);
    // The deployed copies' pages and sockets are under /alltalk-demo/, the files' under /alltalk-example/:
    // an example imported later never shares a path with them.
    const demo = (v) => (typeof v === 'string' ? v.split('/alltalk-example/').join('/alltalk-demo/') : v);
    // A schedule that changes a real server's model is deployed switched off: turn it on on purpose.
    const disabled = realServer && nodes.some((n) => n.type === 'alltalk-control' && n.command !== 'stop');
    flows.push({ id: tab, type: 'tab', label: `Example: ${base.replace(/-/g, ' ')}`, disabled, info: `From examples/${file}.` });
    for (const n of nodes) {
      if (n.id.startsWith(EXAMPLE_SERVER_ID)) continue;
      const copy = {};
      for (const [k, v] of Object.entries(n)) copy[k] = k === 'id' ? ids.get(v) : demo(remap(v));
      if ('x' in n) copy.z = tab;
      // An example's own server configurations: the fallback on the second server, the others on the first.
      if (n.type === 'alltalk-config') Object.assign(copy, n.id.endsWith('-piper') ? fallbackTarget : target, { name: n.name });
      if (Array.isArray(n.fallbacks)) copy.fallbacks = n.fallbacks.map((f) => ({ id: ids.get(f.id) ?? f.id }));
      // A Wyoming server started here listens on this machine only and is not advertised on the network.
      // (and on a port of its own, so the example imported later can take 10200).
      if (n.type === 'alltalk-wyoming') Object.assign(copy, { host: '127.0.0.1', zeroconf: false, port: 10210 });
      flows.push(copy);
    }
  }
  return flows;
}

module.exports = { exampleFlows, START_SERVER_ID, EXAMPLE_SERVER_ID };
