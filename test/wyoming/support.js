'use strict';
// Set-up for the alltalk-wyoming tests (not a spec file): a real Node-RED runtime with the config and
// wyoming nodes, the simulator, a free loopback port, and the node's output messages.
const { helper, NODES, startSim, configNode, waitFor } = require('../nodes/support');
const { freePort, waitForPort, isFree } = require('./ports');

const WYOMING = require('../../nodes/alltalk-wyoming.js');
const nodes = [NODES.config, WYOMING];

/** A flow: the server configuration for `sim`, an alltalk-wyoming node "wy" on 127.0.0.1:`port`, and a helper "out". */
function wyomingFlow(sim, port, props = {}, cfg = {}) {
  return [
    configNode(sim, cfg),
    { id: 'wy', type: 'alltalk-wyoming', server: 'cfg', host: '127.0.0.1', port, zeroconf: false, serviceName: 'AllTalk', voice: '', language: 'auto', priority: 5, cache: true, streaming: true, wires: [['out']], ...props },
    { id: 'out', type: 'helper' },
  ];
}

/** Loads the flow and waits until the server is ready and the node listens. */
async function deploy(sim, props, cfg) {
  const port = await freePort();
  await helper.load(nodes, wyomingFlow(sim, port, props, cfg));
  await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'server ready');
  await waitForPort(port);
  const outputs = [];
  helper.getNode('out').on('input', (m) => outputs.push(m));
  sim.clearRequests();
  return { port, outputs };
}

const generations = (sim) => sim.requests.filter((r) => r.path === '/api/tts-generate' || r.path === '/api/tts-generate-streaming');

module.exports = { helper, nodes, startSim, waitFor, freePort, wyomingFlow, deploy, waitForPort, isFree, generations };
