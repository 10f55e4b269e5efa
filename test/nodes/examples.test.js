'use strict';
// The example flows: importable (flat arrays), covering every node type (the flow library's N02
// check), and working against the simulator.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helper, allNodes, startSim, waitFor } = require('./support');
const { synthesize } = require('../wyoming/ha-client');
const { freePort, waitForPort } = require('../wyoming/support');

const root = path.join(__dirname, '..', '..');
const examplesDir = path.join(root, 'examples');
const files = fs.readdirSync(examplesDir).filter((f) => f.endsWith('.json'));
const pkg = require('../../package.json');

function registeredTypes() {
  return Object.keys(pkg['node-red'].nodes).map((type) => {
    const html = fs.readFileSync(path.join(root, 'nodes', `${type}.html`), 'utf8');
    const m = new RegExp(`RED\\.nodes\\.registerType\\('${type}',\\s*\\{\\s*category:\\s*'([^']+)'`).exec(html);
    assert.ok(m, `${type}.html has a literal registerType with a literal category`);
    return { type, category: m[1] };
  });
}

/** `file` (a file, or a folder ending in a separator) moved into `dir`. */
function inside(dir, file) {
  return path.join(dir, path.basename(file)) + (/[\\/]$/.test(file) ? path.sep : '');
}

/** An ID3 tag or an MPEG audio frame sync (11 bits set) at the start. */
function isMp3(audio) {
  return audio.toString('latin1', 0, 3) === 'ID3' || (audio[0] === 0xff && (audio[1] & 0xe0) === 0xe0);
}

describe('examples', function () {
  let sim;
  afterEach(async function () {
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
  });

  it('are flat arrays of nodes that together use every non-config node type', function () {
    const used = new Set();
    for (const f of files) {
      const flow = JSON.parse(fs.readFileSync(path.join(examplesDir, f), 'utf8'));
      assert.ok(Array.isArray(flow), `${f} is a flat array`);
      assert.ok(flow.some((n) => n.type === 'comment'), `${f} explains itself in a comment node`);
      flow.forEach((n) => used.add(n.type));
    }
    for (const { type, category } of registeredTypes()) {
      if (category !== 'config') assert.ok(used.has(type), `an example uses ${type}`);
    }
  });

  it('never clash: no id, http path or websocket path in two examples, nor in the copies npm start deploys beside them', function () {
    const { exampleFlows } = require('../../scripts/example-flows');
    const sets = files.map((f) => [f, JSON.parse(fs.readFileSync(path.join(examplesDir, f), 'utf8'))]);
    sets.push(['npm start', exampleFlows({ protocol: 'http', host: '127.0.0.1', port: 7851 }, false, 'http://127.0.0.1:1880', { protocol: 'http', host: '127.0.0.1', port: 7852 })]);
    const seen = new Map();
    const clashes = [];
    const claim = (key, where) => {
      if (seen.has(key) && seen.get(key) !== where) clashes.push(`${key}: ${seen.get(key)} and ${where}`);
      else seen.set(key, where);
    };
    for (const [where, flow] of sets) {
      for (const n of flow) {
        claim(`id ${n.id}`, where);
        if (n.type === 'http in') claim(`http ${n.method.toUpperCase()} ${n.url}`, where);
        if (n.type === 'websocket-listener') claim(`websocket ${n.path}`, where);
        if (n.type === 'alltalk-wyoming') claim(`wyoming port ${n.port}`, where);
      }
      // Within one set, an http path is used once per method.
      const paths = flow.filter((n) => n.type === 'http in').map((n) => `${n.method} ${n.url}`);
      assert.equal(new Set(paths).size, paths.length, `${where}: ${paths.join(', ')}`);
    }
    assert.deepEqual(clashes, []);
    // The pages of an imported example live under /alltalk-example/, npm start's under /alltalk-demo/.
    for (const [where, flow] of sets) {
      const prefix = where === 'npm start' ? '/alltalk-demo/' : '/alltalk-example/';
      for (const n of flow.filter((x) => x.type === 'http in' || x.type === 'websocket-listener')) {
        assert.ok((n.url || n.path).startsWith(prefix), `${where}: ${n.url || n.path} is under ${prefix}`);
      }
    }
  });

  for (const f of files) {
    it(`${f} deploys and reaches the server`, async function () {
      sim = await startSim();
      const wyomingPort = await freePort();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-example-'));
      const ours = JSON.parse(fs.readFileSync(path.join(examplesDir, f), 'utf8'))
        .filter((n) => n.type.startsWith('alltalk-'))
        // Without their tab, positioned nodes would be taken for config nodes.
        .map(({ x: _x, y: _y, ...n }) => {
          if (n.type === 'alltalk-config') return { ...n, port: sim.port };
          // Every file a node would write (/tmp/alltalk/... in the examples) goes to the temporary folder.
          if (n.filePath) return { ...n, filePath: inside(dir, n.filePath), wires: [['out']] };
          // A Wyoming server on loopback, on a free port, not advertised.
          if (n.type === 'alltalk-wyoming') return { ...n, host: '127.0.0.1', port: wyomingPort, zeroconf: false, wires: [['out']] };
          return { ...n, wires: [['out']] };
        });
      await helper.load(allNodes(), [...ours, { id: 'out', type: 'helper' }]);
      const out = [];
      helper.getNode('out').on('input', (m) => out.push(m));
      const cfg = ours.find((n) => n.type === 'alltalk-config');
      await waitFor(() => helper.getNode(cfg.id).connection.state.state === 'ready', 'ready');
      const worker = ours.find((n) => n.type !== 'alltalk-config');
      if (worker.type === 'alltalk-wyoming') {
        // No input: Home Assistant asks, through the Wyoming protocol.
        await waitForPort(wyomingPort);
        const spoken = await synthesize(wyomingPort, 'Someone is at the front door.');
        assert.ok(spoken.wav, JSON.stringify(spoken.events.map((e) => e.data)));
      } else {
        helper.getNode(worker.id).receive({ payload: 'Someone is at the front door.' });
      }
      // A node that sends a sequence (alltalk-stream's chunks) has answered with its last part (parts.count set).
      await waitFor(() => out.some((m) => !m.parts || m.parts.count !== undefined), 'an output');
      if (worker.output === 'file') {
        const written = out[0].filename;
        assert.equal(out[0].payload, written, 'msg.payload and msg.filename give the path written');
        assert.equal(path.dirname(written), dir, `written into the test's folder, not ${written}`);
        assert.ok(fs.statSync(written).size > 0, `${written} is written`);
      }
      if (worker.type === 'alltalk-openai' && worker.format === 'mp3') {
        const audio = worker.output === 'file' ? fs.readFileSync(out[0].filename) : out[0].payload;
        assert.equal(out[0].contentType, 'audio/mpeg');
        assert.ok(isMp3(audio), `mp3 audio, not ${audio.subarray(0, 4).toString('hex')}`);
      }
      if (worker.type === 'alltalk-status') assert.equal(out[0].payload.ready, true);
      if (worker.type === 'alltalk-wyoming') assert.deepEqual([out[0].payload, out[0].error], ['Someone is at the front door.', undefined]);
      // A bare message is fine for a control node whose command is set in its dialog (the stop button).
      if (worker.type === 'alltalk-control') assert.deepEqual([out[0].payload.ok, out[0].payload.command], [true, worker.command]);
      if (worker.type === 'alltalk-stream' && (worker.output || 'chunks') === 'chunks') {
        assert.equal(out[0].payload.toString('ascii', 0, 4), 'RIFF', 'the first chunk starts with the WAV header');
        const last = out[out.length - 1];
        assert.equal(last.parts.count, out.length, 'every chunk of the sequence came');
        assert.equal(out.reduce((n, m) => n + m.payload.length, 0), last.alltalk.bytes);
        assert.ok(last.alltalk.seconds > 0 && last.alltalk.stopped === false);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    });
  }
});
