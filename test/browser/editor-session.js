'use strict';
// The editor as a user meets it (not a spec file): the package packed as npm would publish it,
// unpacked into a fresh Node-RED user directory, Node-RED started as its own process, and the
// editor opened in headless Chromium driven by playwright-core. Every console error or warning and
// every uncaught page error is recorded, so a test can fail on them.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startNodeRed } = require('../e2e/node-red');

const root = path.join(__dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--autoplay-policy=no-user-gesture-required'];

/** Settings that keep the editor quiet: no tour, no update prompt, no palette catalogue from the internet. */
const QUIET_EDITOR = `editorTheme: { tours: false, palette: { catalogues: [] } },
    telemetry: { enabled: false }, diagnostics: { enabled: false },`;

/** Whether this machine can run the browser tests; CI (ALLTALK_REQUIRE_BROWSER=1) insists. */
function browserAvailable() {
  if (fs.existsSync(CHROMIUM)) return true;
  if (process.env.ALLTALK_REQUIRE_BROWSER === '1') throw new Error(`Chromium not found at ${CHROMIUM}: CI must install it (apt-get install chromium)`);
  return false;
}

/** Packs the package as `npm publish` would (from the current build) and unpacks it; returns its folder. */
function packedPackage() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-packed-'));
  execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: root, stdio: 'ignore' });
  const tarball = path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.tgz')));
  execFileSync('tar', ['-xzf', tarball, '-C', dir]);
  const pkg = path.join(dir, 'package');
  // Its one dependency comes from this checkout's install (the browser tests run offline).
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'), 'dir');
  return { dir: pkg, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Node-RED with the package and `flows`, and a browser page on its editor. The package is this
 * checkout packed and unpacked, unless `packageDir` names an installed copy; `redJs` and
 * `nodeBinary` choose another Node-RED and Node.
 * Resolves { page, base, problems, requests, output(), stop() }: `problems` lists console errors
 * and warnings, page errors and failed requests to Node-RED; `requests` the calls to the package's
 * admin routes ("POST /alltalk/probe"); `output()` what Node-RED logged.
 */
async function openEditor({ flows, locale = 'en-US', viewport = { width: 1400, height: 1300 }, settings = '', packageDir, redJs, nodeBinary }) {
  const packed = packageDir ? { dir: packageDir, cleanup: () => {} } : packedPackage();
  let nodeRed;
  try {
    nodeRed = await startNodeRed({ flows, label: 'browser', packageDir: packed.dir, settings: QUIET_EDITOR + settings, redJs, nodeBinary });
    const editor = await attachEditor(nodeRed.base, { locale, viewport });
    const stop = async () => {
      await editor.close();
      await nodeRed.stop();
      packed.cleanup();
    };
    return { ...editor, output: nodeRed.output, stop };
  } catch (err) {
    if (nodeRed) await nodeRed.stop();
    packed.cleanup();
    throw err;
  }
}

/**
 * A browser page on the editor of a Node-RED that runs at `base` (one the caller started).
 * Resolves { page, base, problems, requests, close() }.
 */
async function attachEditor(base, { locale = 'en-US', viewport = { width: 1400, height: 1300 } } = {}) {
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const context = await browser.newContext({ viewport, locale });
    const page = await context.newPage();
    const problems = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()} (${m.location().url})`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const requests = [];
    page.on('request', (r) => {
      if (r.url().startsWith(`${base}/alltalk/`)) requests.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 400 && r.url().startsWith(base)) problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
    });
    await page.goto(`${base}/`);
    await page.waitForFunction(() => window.RED && RED.nodes && RED.nodes.getType('alltalk-tts') && document.querySelector('.red-ui-palette-node[data-palette-type="alltalk-tts"]'));
    await page.waitForSelector('#red-ui-workspace-chart svg');
    return { page, base, problems, requests, close: () => browser.close().catch(() => {}) };
  } catch (err) {
    await browser.close().catch(() => {});
    throw err;
  }
}

module.exports = { browserAvailable, openEditor, attachEditor, root };
