'use strict';
// Shared set-up for the node tests: a real Node-RED runtime (node-red-node-test-helper) with this
// package's nodes, talking real HTTP on loopback to the AllTalk simulator.
const helper = require('node-red-node-test-helper');
const { AllTalkSimulator } = require('../../dist/simulator');

helper.init(require.resolve('node-red'));

const NODES = {
  config: require('../../nodes/alltalk-config.js'),
  status: require('../../nodes/alltalk-status.js'),
};

function allNodes() {
  const list = [NODES.config, NODES.status];
  for (const extra of ['alltalk-tts', 'alltalk-stream', 'alltalk-openai', 'alltalk-control', 'alltalk-wyoming']) {
    try {
      list.push(require(`../../nodes/${extra}.js`));
    } catch {
      // not built yet
    }
  }
  return list;
}

async function startSim(options = {}) {
  const sim = new AllTalkSimulator({ port: 0, ...options });
  await sim.start();
  return sim;
}

/** An alltalk-config node for the simulator, with fast polling defaults for tests. */
function configNode(sim, props = {}) {
  return {
    id: 'cfg',
    type: 'alltalk-config',
    name: 'sim',
    protocol: 'http',
    host: '127.0.0.1',
    port: sim.port,
    timeout: 1,
    generationTimeout: 30,
    concurrency: 1,
    queueLimit: 50,
    healthInterval: 30,
    ...props,
  };
}

/** Resolves when `predicate()` is truthy; checks on every event loop turn and every 20 ms. */
function waitFor(predicate, what = 'condition', timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      let value;
      try {
        value = predicate();
      } catch (err) {
        return reject(err);
      }
      if (value) return resolve(value);
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

/** Records every status a node shows; `.last()` and `.waitFor(text)` read it. */
function watchStatus(node) {
  const seen = [];
  node.on('call:status', (call) => seen.push(call.args[0]));
  return {
    seen,
    last: () => seen[seen.length - 1],
    waitFor: (text, timeoutMs) =>
      waitFor(() => seen.find((s) => s && typeof s.text === 'string' && s.text.startsWith(text)), `status "${text}"`, timeoutMs),
    texts: () => seen.map((s) => s && s.text),
  };
}

/** Collects the messages a helper node receives. */
function collect(node) {
  const msgs = [];
  node.on('input', (msg) => msgs.push(msg));
  return msgs;
}

/** The messages that reached Catch-like error handling: node.error(err, msg) calls on a node. */
function watchErrors(node) {
  const errors = [];
  node.on('call:error', (call) => errors.push({ error: call.args[0], msg: call.args[1] }));
  return errors;
}

/** Waits until the server configuration "cfg" is ready, then empties the simulator's request log. */
async function ready(sim) {
  await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'server ready');
  sim.clearRequests();
}

/**
 * Sends `msg` to node `nodeId` and resolves when that message ends: { msg } when it reached the
 * helper node "out", { error, msg } when the node reported an error for it.
 */
function runOn(nodeId, msg) {
  const n = helper.getNode(nodeId);
  const out = helper.getNode('out');
  return new Promise((resolve) => {
    const onOut = (m) => {
      if (m._msgid !== msg._msgid) return;
      cleanup();
      resolve({ msg: m });
    };
    const onErr = (call) => {
      const [error, m] = call.args;
      if (m && m._msgid !== msg._msgid) return;
      cleanup();
      resolve({ error, msg: m });
    };
    function cleanup() {
      out.off('input', onOut);
      n.off('call:error', onErr);
    }
    out.on('input', onOut);
    n.on('call:error', onErr);
    n.receive(msg);
  });
}

module.exports = { helper, NODES, allNodes, startSim, configNode, waitFor, watchStatus, collect, watchErrors, ready, runOn };
