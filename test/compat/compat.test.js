'use strict';
// The published package on the oldest supported Node-RED (the newest 3.1.x; package.json says
// node-red.version ">=3.1.0"), the newest 4.x and the newest 5.x: `npm pack` (its prepack builds,
// so the tarball is what `npm publish` uploads), installed with npm into a fresh user directory as a
// user installs it, loaded by that Node-RED running as its own process (Node-RED 5 needs Node >= 22,
// fetched from the npm registry when this node is older), with a flow that uses every node type
// against the simulator on loopback.
//
// Its own mocha run (it installs Node-RED three times): `npm run test:compat`, the last step of
// `npm test`. Installs are cached in os.tmpdir()/alltalk-compat-cache (see support.js): a cold run
// takes one to two minutes, a second run under half a minute. ALLTALK_COMPAT_NODE_RED (default
// "3.1,4,5") chooses other releases: "4.0.0" for that release, "4" for the newest 4.x.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startNodeRed } = require('../e2e/node-red');
const support = require('./support');
const { editorSuite } = require('../browser/editor-suite');
const { describe: describeWyoming, synthesize } = require('../wyoming/ha-client');
const { freePort, waitForPort } = require('../wyoming/ports');

const DEV_NODE_RED = require('node-red/package.json').version;

const PACKAGE_VERSION = JSON.parse(fs.readFileSync(path.join(support.root, 'package.json'), 'utf8')).version;
const SPECS = (process.env.ALLTALK_COMPAT_NODE_RED || '3.1,4,5').split(',').map((s) => s.trim()).filter(Boolean);
const VERSIONS = support.resolveNodeRedVersions(SPECS);

/** Log lines that say our package, or a node type, did not load. */
function startupProblems(log) {
  return log.split('\n').filter((line) => (/\[(warn|error)\]/.test(line) && /alltalk/i.test(line)) ||
    /Waiting for missing types|Missing node modules|Failed to register|Type already registered|Error loading/i.test(line) ||
    /\[error\]/.test(line));
}

describe('the packed package on Node-RED ' + VERSIONS.join(', ') + ' (compat)', function () {
  let work;
  let tgz;
  const prepared = {};

  before(async function () {
    const started = Date.now();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-compat-'));
    // All at once: npm waits on the network, the build on the CPU.
    const [packed, ...installs] = await Promise.all([
      support.packPackage(work),
      ...VERSIONS.map(async (version) => {
        const t0 = Date.now();
        const nodeRed = await support.installNodeRed(version);
        const node = await support.nodeBinaryFor(nodeRed.engines);
        return { version, nodeRed, node, ms: Date.now() - t0 };
      }),
    ]);
    tgz = packed;
    for (const i of installs) {
      prepared[i.version] = i;
      console.log(`      node-red@${i.version}${i.nodeRed.cached ? ' (cached)' : ''} on Node ${i.node.version}` +
        `${i.node.bin === process.execPath ? '' : ` (from the npm registry${i.node.cached ? ', cached' : ''})`}: ${(i.ms / 1000).toFixed(1)} s`);
    }
    console.log(`      packed and installed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  after(function () {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  for (const version of VERSIONS) {
    describe(`Node-RED ${version}`, function () {
      let sim;
      let red;
      let installOutput;
      let projectDir;
      let startupLog;
      let wyomingPort;

      before(async function () {
        const t0 = Date.now();
        const { AllTalkSimulator } = require('../../dist/simulator');
        sim = new AllTalkSimulator({ host: '127.0.0.1', port: 0 });
        await sim.start();
        projectDir = fs.mkdtempSync(path.join(os.tmpdir(), `alltalk-compat-${version}-`));
        installOutput = await support.installTarball(projectDir, tgz);
        // The user directory is the npm project the tarball went into, as with
        // `cd ~/.node-red && npm install node-red-contrib-alltalk`: Node-RED loads the installed
        // copy, with undici beside it from the same install.
        const { nodeRed, node } = prepared[version];
        wyomingPort = await freePort();
        red = await startNodeRed({
          flows: support.compatFlows(sim.port, wyomingPort),
          userDir: projectDir,
          nodeBinary: node.bin,
          redJs: nodeRed.redJs,
          readyPath: '/compat/ready',
          label: `compat-${version}`,
          logLevel: 'info',
          startTimeoutMs: 60000,
        });
        startupLog = red.output();
        console.log(`        installed and started in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      });

      after(async function () {
        if (red) await red.stop();
        else if (projectDir) fs.rmSync(projectDir, { recursive: true, force: true });
        if (sim) await sim.stop();
      });

      /** GET /compat/<type>: the summary the flow answers with (failing after 20 s rather than hanging). */
      async function call(type) {
        const r = await fetch(`${red.base}/compat/${type}`, { signal: AbortSignal.timeout(20000) });
        const text = await r.text();
        assert.equal(r.status, 200, `${type}: ${text}`);
        return JSON.parse(text);
      }

      it('installs from the tarball with no script run and no warning about it, laid out as published', function () {
        assert.deepEqual(support.packagingProblems(installOutput, projectDir), [], installOutput);
      });

      it(`runs Node-RED ${version} and registers all node types with nothing logged against them`, async function () {
        assert.match(startupLog, new RegExp(`Node-RED version: v${version.replace(/\./g, '\\.')}\\b`));
        assert.match(startupLog, new RegExp(`\\[info\\] ${support.PACKAGE} ${PACKAGE_VERSION}\\b`), 'listed as loaded');
        assert.deepEqual(startupProblems(startupLog), [], startupLog);
        const sets = await (await fetch(`${red.base}/nodes`, { headers: { accept: 'application/json' } })).json();
        const ours = sets.filter((s) => s.module === support.PACKAGE);
        assert.deepEqual(ours.map((s) => s.types).flat().sort(), support.NODE_TYPES);
        for (const s of ours) {
          assert.equal(s.enabled, true, s.id);
          assert.equal(s.err, undefined, `${s.id}: ${s.err}`);
          assert.equal(s.version, PACKAGE_VERSION, s.id);
        }
      });

      it('serves the icons from the installed package', async function () {
        const sets = await (await fetch(`${red.base}/icons`)).json();
        assert.deepEqual([...(sets[support.PACKAGE] || [])].sort(), support.ICONS);
        for (const icon of support.ICONS) {
          const r = await fetch(`${red.base}/icons/${support.PACKAGE}/${icon}`);
          assert.equal(r.status, 200, icon);
          assert.match(r.headers.get('content-type'), /^image\/svg\+xml/, icon);
          assert.equal(await r.text(), fs.readFileSync(path.join(support.root, 'icons', icon), 'utf8'), `${icon} is ours`);
        }
      });

      it('alltalk-status reports the server ready', async function () {
        let s = await call('alltalk-status');
        for (const t0 = Date.now(); !s.ready && Date.now() - t0 < 10000; s = await call('alltalk-status')) {
          await new Promise((r) => setTimeout(r, 250));
        }
        assert.equal(s.kind, 'object');
        assert.equal(s.ready, true, JSON.stringify(s));
        assert.equal(s.state, 'ready');
      });

      it('alltalk-tts answers with a WAV buffer', async function () {
        const s = await call('alltalk-tts');
        assert.equal(s.kind, 'buffer', JSON.stringify(s));
        assert.ok(s.length > 44, JSON.stringify(s));
        assert.match(s.head, /^52494646.{8}57415645$/, 'RIFF....WAVE');
        assert.equal(s.contentType, 'audio/wav');
      });

      it('alltalk-stream (output buffer) answers with a WAV buffer', async function () {
        const s = await call('alltalk-stream');
        assert.equal(s.kind, 'buffer', JSON.stringify(s));
        assert.ok(s.length > 44, JSON.stringify(s));
        assert.match(s.head, /^52494646.{8}57415645$/, 'RIFF....WAVE');
      });

      it('alltalk-openai (mp3) answers with mp3 bytes as audio/mpeg', async function () {
        const s = await call('alltalk-openai');
        assert.equal(s.kind, 'buffer', JSON.stringify(s));
        assert.ok(s.length > 100, JSON.stringify(s));
        assert.ok(s.head.startsWith('494433') || /^ff[ef]/.test(s.head), `ID3 tag or MPEG frame sync: ${s.head}`);
        assert.equal(s.contentType, 'audio/mpeg');
      });

      it('alltalk-control (refresh) answers ok', async function () {
        const s = await call('alltalk-control');
        assert.equal(s.kind, 'object', JSON.stringify(s));
        assert.equal(s.ok, true, JSON.stringify(s));
        assert.equal(s.command, 'refresh');
      });

      it('alltalk-wyoming answers a Wyoming client as Home Assistant asks: info, then a WAV', async function () {
        await waitForPort(wyomingPort);
        const { info } = await describeWyoming(wyomingPort);
        assert.equal(info.tts[0].installed, true);
        const spoken = await synthesize(wyomingPort, 'Hello from Home Assistant.', { voice: info.tts[0].voices[0].name });
        assert.ok(spoken.wav, JSON.stringify(spoken.events.map((e) => e.data)));
        assert.equal(spoken.format.width, 2);
      });

      it('logged no error while the nodes ran', function () {
        const log = red.output();
        const problems = startupProblems(log).concat(log.split('\n').filter((l) => /\[(error|warn)\].*(alltalk|compat-)/i.test(l)));
        assert.deepEqual([...new Set(problems)], [], log);
      });

      // The editor on this Node-RED, with the copy npm installed (the devDependencies' Node-RED
      // is covered by test/browser already).
      if (version !== DEV_NODE_RED) {
        editorSuite(`every node's dialog in Chromium on Node-RED ${version}`, () => ({
          packageDir: path.join(projectDir, 'node_modules', support.PACKAGE),
          redJs: prepared[version].nodeRed.redJs,
          nodeBinary: prepared[version].node.bin,
        }));
      }
    });
  }
});
