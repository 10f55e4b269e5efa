'use strict';
// Shared set-up for the alltalk-tts node tests (not a spec file: mocha loads only *.test.js): a
// flow of a config node, one alltalk-tts node and a helper node, and a way to send it a message.
const { NODES, configNode, ready, runOn } = require('./support');

const nodes = [NODES.config, require('../../nodes/alltalk-tts.js')];

function ttsFlow(sim, ttsProps = {}, cfgProps = {}) {
  return [
    configNode(sim, cfgProps),
    { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 2000, splitLongText: false, output: '', filePath: '', wires: [['out']], ...ttsProps },
    { id: 'out', type: 'helper' },
  ];
}

const generations = (sim) => sim.requests.filter((r) => r.path === '/api/tts-generate');

/** Sends one message to node `id` (default "tts") and resolves when it ends. */
const run = (m, id = 'tts') => runOn(id, m);

let seq = 0;
const msg = (props) => ({ _msgid: `m${++seq}`, ...props });

module.exports = { nodes, ttsFlow, generations, run, msg, ready };
