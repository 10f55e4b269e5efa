'use strict';
// Shared set-up for the alltalk-tts node tests (not a spec file: mocha loads only *.test.js): a
// flow of a config node, one alltalk-tts node and a helper node, and a way to send it a message.
const { helper, NODES, configNode, waitFor } = require('./support');

const nodes = [NODES.config, require('../../nodes/alltalk-tts.js')];

function ttsFlow(sim, ttsProps = {}, cfgProps = {}) {
  return [
    configNode(sim, cfgProps),
    { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 2000, splitLongText: false, output: '', filePath: '', wires: [['out']], ...ttsProps },
    { id: 'out', type: 'helper' },
  ];
}

const generations = (sim) => sim.requests.filter((r) => r.path === '/api/tts-generate');

/** Sends one message and resolves { msg } on output or { error, msg } on an error. */
function run(msg, nodeId = 'tts') {
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

let seq = 0;
const msg = (props) => ({ _msgid: `m${++seq}`, ...props });

async function ready(sim) {
  await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'server ready');
  sim.clearRequests();
}

module.exports = { nodes, ttsFlow, generations, run, msg, ready };
