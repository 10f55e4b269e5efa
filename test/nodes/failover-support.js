'use strict';
// Shared set-up for the failover tests (failover*.test.js): server configurations that fall back
// on each other, a tracker that sees how each message ended (Node-RED's own done(), once per
// message) and what came out for it, and waits on the routing health of a server. Not a spec file.
// Node ids never equal a property value used in a flow (Node-RED would take it for a reference).
const assert = require('node:assert/strict');
const { helper, NODES, startSim, waitFor } = require('./support');

const TTS = require('../../nodes/alltalk-tts.js');
const STREAM = require('../../nodes/alltalk-stream.js');
const CONTROL = require('../../nodes/alltalk-control.js');
const OPENAI = require('../../nodes/alltalk-openai.js');
const nodes = [NODES.config, NODES.status, TTS, STREAM, CONTROL, OPENAI];

/** Seconds between probes of a server that is down (the default is 5). */
const PROBE_SECONDS = 0.2;

/**
 * An alltalk-config node for `target` (a simulator or anything with a port), with small timeouts
 * and fast probes; `props` adds fallbacks (ids, stored as the editor stores them: [{ id }]), share,
 * standInVoice…
 */
function server(id, name, target, props = {}) {
  const { fallbacks = [], ...rest } = props;
  return {
    id,
    type: 'alltalk-config',
    name,
    protocol: 'http',
    host: '127.0.0.1',
    port: typeof target === 'number' ? target : target.port,
    timeout: 1,
    generationTimeout: 4,
    concurrency: 1,
    queueLimit: 50,
    healthInterval: 30,
    probeInterval: PROBE_SECONDS,
    fallbacks: fallbacks.map((f) => (typeof f === 'string' ? { id: f } : f)),
    share: false,
    standInVoice: '',
    ...rest,
  };
}

/** An alltalk-tts node on `cfg` (no cache unless asked: identical texts must reach a server). */
function ttsNode(id, cfg, props = {}) {
  return { id, type: 'alltalk-tts', server: cfg, property: 'payload', propertyType: 'msg', output: 'buffer', cache: false, wires: [['out']], ...props };
}

/** An alltalk-stream node on `cfg`: chunk messages to "chunks", other outputs to "out". */
function streamNode(id, cfg, props = {}) {
  const output = props.output ?? 'chunks';
  return {
    id, type: 'alltalk-stream', server: cfg, property: 'payload', propertyType: 'msg', voice: 'female_01.wav', language: 'en',
    output, wires: [[output === 'chunks' ? 'chunks' : 'out']], ...props,
  };
}

const outputs = () => [{ id: 'out', type: 'helper' }, { id: 'chunks', type: 'helper' }];

const member = (cfg) => helper.getNode(cfg).member;

/** Waits until server configuration `cfg` is up (or down) for routing. */
function waitUp(cfg, up = true, timeoutMs = 8000) {
  return waitFor(() => member(cfg).up === up, `${cfg} ${up ? 'up' : 'down'}`, timeoutMs);
}

/** Loads the flow and waits until the named configurations are up; the simulators' logs are emptied. */
async function deploy(flow, upCfgs, sims = []) {
  await helper.load(nodes, flow);
  for (const cfg of upCfgs) await waitUp(cfg);
  for (const sim of sims) sim.clearRequests();
}

/** The generation requests a simulator received (any route, or one path). */
function generationRequests(sim, path = '/api/tts-generate') {
  return sim.requests.filter((r) => r.path === path);
}

/** The texts of the /api/tts-generate requests a simulator received, in order. */
function texts(sim) {
  return generationRequests(sim).map((r) => r.form.text_input);
}

let seq = 0;

/**
 * Watches the worker nodes `ids`: `ends[msgid]` is every done() of a message (with its error),
 * `outs[msgid]` every message that reached "out" for it, `chunks[msgid]` its chunk messages.
 */
function track(ids) {
  const ends = {};
  const outs = {};
  const chunks = {};
  for (const id of ids) {
    const n = helper.getNode(id);
    const complete = n._complete;
    n._complete = function (m, err) {
      (ends[m._msgid] ??= []).push({ node: id, err });
      return complete.apply(this, arguments);
    };
  }
  helper.getNode('out').on('input', (m) => (outs[m._msgid] ??= []).push(m));
  helper.getNode('chunks').on('input', (m) => (chunks[m.source] ??= []).push(m));
  return {
    ends,
    outs,
    chunks,
    /** Sends a message to node `id`; resolves nothing, returns its _msgid. */
    send(id, props) {
      const m = { _msgid: `fo${++seq}`, ...props };
      m.source = m._msgid;
      helper.getNode(id).receive(m);
      return m._msgid;
    },
    /** Resolves when every message of `msgIds` ended. */
    settled(msgIds, timeoutMs = 15000) {
      return waitFor(() => msgIds.every((id) => ends[id]), `${msgIds.length} messages ended`, timeoutMs);
    },
    /** The one output message of a message that succeeded (asserts it ended once, well, with one output). */
    ok(msgId) {
      assert.ok(ends[msgId], `${msgId} ended`);
      assert.equal(ends[msgId].length, 1, `${msgId} ended once`);
      assert.equal(ends[msgId][0].err, undefined, `${msgId}: ${ends[msgId][0].err && ends[msgId][0].err.message}`);
      if (outs[msgId]) {
        assert.equal(outs[msgId].length, 1, `${msgId} answered once`);
        return outs[msgId][0];
      }
      // chunk output: the last chunk carries msg.alltalk
      const last = (chunks[msgId] || []).filter((c) => c.alltalk);
      assert.equal(last.length, 1, `${msgId} finished once`);
      return last[0];
    },
    /** The one error of a message that failed (asserts it ended once, with no output). */
    failed(msgId) {
      assert.ok(ends[msgId], `${msgId} ended`);
      assert.equal(ends[msgId].length, 1, `${msgId} ended once`);
      assert.ok(ends[msgId][0].err, `${msgId} failed`);
      assert.equal(outs[msgId], undefined, `${msgId} has no output`);
      assert.equal((chunks[msgId] || []).filter((c) => c.alltalk).length, 0, `${msgId} has no last chunk`);
      return ends[msgId][0].err;
    },
  };
}

const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/** Starts simulators, one per argument: a profile ('xtts', 'piper') or simulator options. */
async function sims(...profiles) {
  const out = [];
  for (const p of profiles) out.push(await startSim(typeof p === 'string' ? { profile: p } : p));
  return out;
}

/**
 * For a describe block: `servers(...profiles)` starts simulators that are stopped after each test
 * (as is anything handed to `stopLater`), and `pair(a, b, …)` is the usual flow: alpha (cfgA,
 * falling back on beta), beta (cfgB) and a tts node "speak" on alpha.
 */
function useServers() {
  let started = [];
  afterEach(async function () {
    await helper.unload();
    for (const s of started) await s.stop();
    started = [];
  });
  return {
    async servers(...profiles) {
      const list = await sims(...profiles);
      started.push(...list);
      return list;
    },
    stopLater(s) {
      started.push(s);
    },
    pair(a, b, propsA = {}, propsB = {}, more = []) {
      return [
        server('cfgA', 'alpha', a, { fallbacks: ['cfgB'], ...propsA }),
        server('cfgB', 'beta', b, propsB),
        ttsNode('speak', 'cfgA'),
        ...more,
        ...outputs(),
      ];
    },
  };
}

module.exports = {
  useServers, helper, nodes, server, ttsNode, streamNode, outputs, member, waitUp, deploy, generationRequests, texts, track, pause, sims, waitFor, PROBE_SECONDS,
};
