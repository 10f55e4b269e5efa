'use strict';
// `npm start` (scripts/start.js) as a user meets it: Node-RED on 127.0.0.1 only, its own settings
// file with a credential secret, the example flows deployed on tabs of their own at the first
// start (with ids that never conflict with an example imported later), a user's flows kept at the
// next start, and a warning when it is asked to listen on every interface with no login.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { AllTalkSimulator } = require('../../dist/simulator');
const { spawn } = require('node:child_process');
const { startScript: start } = require('./start-process');

const root = path.join(__dirname, '..', '..');
const examples = fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.json'));

function nonLoopbackAddress() {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list || []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

describe('npm start (scripts/start.js)', function () {
  this.timeout(90000);
  let dir;
  let sim;
  let red;

  before(async function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-start-'));
    sim = new AllTalkSimulator({ port: 0 });
    await sim.start();
  });
  afterEach(async function () {
    if (red) await red.stop();
    red = undefined;
  });
  after(async function () {
    await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('first start: every example on a tab of its own, pointing at the chosen server, with ids no import conflicts with', async function () {
    red = await start(dir, { ALLTALK_URL: sim.url });
    assert.match(red.output(), /Node-RED editor: http:\/\/127\.0\.0\.1:\d+\/ +\(deployed the example flows on tabs of their own/);
    const flows = await (await fetch(`${red.base}/flows`)).json();
    const tabs = flows.filter((n) => n.type === 'tab');
    assert.equal(tabs.length, examples.length);
    const servers = flows.filter((n) => n.type === 'alltalk-config');
    // One shared server configuration, and the two-servers example's own two (its fallback on the second simulator).
    assert.equal(servers.length, 3);
    const main = servers.find((n) => n.id === 'alltalk-start-server');
    assert.deepEqual([main.host, Number(main.port)], ['127.0.0.1', sim.port]);
    assert.equal(main.speakerUrl, red.base, 'speakers reach the local Node-RED');
    const gpu = servers.find((n) => n.id.endsWith('-gpu'));
    const piper = servers.find((n) => n.id.endsWith('-piper'));
    assert.deepEqual([gpu.host, Number(gpu.port)], ['127.0.0.1', sim.port]);
    assert.deepEqual(gpu.fallbacks, [{ id: piper.id }]);
    assert.match(red.output(), new RegExp(`Second AllTalk simulator \\(Piper.*on http://127\\.0\\.0\\.1:${piper.port}`));
    const exampleIds = new Set(examples.flatMap((f) => JSON.parse(fs.readFileSync(path.join(root, 'examples', f), 'utf8')).map((n) => n.id)));
    assert.deepEqual(flows.filter((n) => exampleIds.has(n.id)).map((n) => n.id), [], 'no deployed id is an id of an example file');
    for (const n of flows.filter((x) => x.type && x.type.startsWith('alltalk-') && x.type !== 'alltalk-config')) {
      assert.equal(n.server, /two servers/.test(tabs.find((t) => t.id === n.z).label) ? gpu.id : main.id, `${n.id} uses its server configuration`);
      assert.ok(tabs.some((t) => t.id === n.z), `${n.id} is on a tab`);
    }
    const control = tabs.find((t) => /server control/.test(t.label));
    assert.equal(control.disabled, true, 'the model schedule is off against a real server');
    // The flows run: the server was reached through them.
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(sim.requests.some((q) => q.path === '/api/currentsettings'));
  });

  it('its own settings file with a credential secret; the editor on 127.0.0.1 only', async function () {
    const settings = fs.readFileSync(path.join(dir, 'settings.js'), 'utf8');
    assert.match(settings, /credentialSecret: "[0-9a-f]{48}"/);
    red = await start(dir, { ALLTALK_URL: sim.url });
    assert.equal((await fetch(`${red.base}/`)).status, 200);
    const other = nonLoopbackAddress();
    if (other) await assert.rejects(fetch(`http://${other}:${red.port}/`), 'not reachable from another address');
  });

  it('a next start keeps the user\'s flows; only its own server configuration follows ALLTALK_URL', async function () {
    const file = path.join(dir, 'flows.json');
    const mine = JSON.parse(fs.readFileSync(file, 'utf8'));
    mine.push({ id: 'my-tab', type: 'tab', label: 'mine' });
    fs.writeFileSync(file, JSON.stringify(mine));
    red = await start(dir, { ALLTALK_URL: 'http://127.0.0.1:7999' });
    assert.match(red.output(), /kept your flows/);
    const flows = await (await fetch(`${red.base}/flows`)).json();
    assert.ok(flows.some((n) => n.id === 'my-tab'));
    assert.equal(flows.length, mine.length);
    const server = flows.find((n) => n.type === 'alltalk-config');
    assert.equal(Number(server.port), 7999);
    assert.equal(server.speakerUrl, red.base, 'the local address for speakers follows the port');
  });

  it('NODE_RED_HOST=0.0.0.0 with no login prints a warning (checked without starting Node-RED: no test listens beyond loopback)', async function () {
    const child = spawn(process.execPath, [path.join(root, 'scripts', 'start.js')], {
      env: { ...process.env, ALLTALK_START_DIR: dir, ALLTALK_URL: sim.url, NODE_RED_HOST: '0.0.0.0', ALLTALK_START_CHECK: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0, output);
    assert.match(output, /WARNING: Node-RED listens on 0\.0\.0\.0 with no login/);
    assert.match(output, /Checked: Node-RED would listen on 0\.0\.0\.0:\d+/);
    assert.doesNotMatch(output, /Server now running/, 'Node-RED was not started');
  });
});
