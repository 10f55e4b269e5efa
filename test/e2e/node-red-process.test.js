'use strict';
// A real Node-RED started as its own process, with this package installed in its user directory
// and adminAuth on, talking to the simulator: the editor's view of the package.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { AllTalkSimulator } = require('../../dist/simulator');
const { startNodeRed } = require('./node-red');

describe('in a real Node-RED process (e2e)', function () {
  this.timeout(60000);
  let sim;
  let red;
  let base;
  let userDir;

  before(async function () {
    sim = new AllTalkSimulator({ port: 0 });
    await sim.start();
    red = await startNodeRed({
      flows: [
        { id: 'tab', type: 'tab', label: 'e2e' },
        { id: 'cfg', type: 'alltalk-config', name: 'sim', protocol: 'http', host: '127.0.0.1', port: sim.port, timeout: 2, generationTimeout: 30, concurrency: 1, queueLimit: 50, healthInterval: 30 },
        { id: 'st', type: 'alltalk-status', z: 'tab', server: 'cfg', interval: 0, onlyChanges: false, wires: [[]] },
      ],
      settings: `adminAuth: {
        type: 'credentials',
        users: async (username) => ({ admin: { username: 'admin', permissions: '*' }, reader: { username: 'reader', permissions: 'read' } })[username] || null,
        authenticate: async (username, password) => (password === 'pw-' + username ? ({ admin: { username: 'admin', permissions: '*' }, reader: { username: 'reader', permissions: 'read' } })[username] || null : null),
      },`,
      readyPath: '/auth/login',
    });
    base = red.base;
    userDir = red.userDir;
  });

  after(async function () {
    if (red) await red.stop();
    if (sim) await sim.stop();
  });


  async function token(user) {
    const r = await fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: 'node-red-admin', grant_type: 'password', scope: user === 'reader' ? 'read' : '*', username: user, password: `pw-${user}` }),
    });
    assert.equal(r.status, 200, `login as ${user}`);
    return (await r.json()).access_token;
  }

  const auth = (t) => ({ authorization: `Bearer ${t}` });

  it('refuses the admin routes without a login, and refresh to a read-only user', async function () {
    for (const [method, url] of [['GET', '/alltalk/rules'], ['GET', '/alltalk/server/cfg'], ['POST', '/alltalk/server/cfg/refresh'], ['POST', '/alltalk/probe']]) {
      const r = await fetch(`${base}${url}`, { method });
      assert.equal(r.status, 401, `${method} ${url} without login`);
    }
    const reader = await token('reader');
    assert.equal((await fetch(`${base}/alltalk/server/cfg`, { headers: auth(reader) })).status, 200);
    const refresh = await fetch(`${base}/alltalk/server/cfg/refresh`, { method: 'POST', headers: auth(reader) });
    assert.equal(refresh.status, 401, 'a read-only user cannot refresh');
    const probe = await fetch(`${base}/alltalk/probe`, { method: 'POST', headers: { ...auth(reader), 'content-type': 'application/json' }, body: '{}' });
    assert.equal(probe.status, 401, 'a read-only user cannot probe');
    const admin = await token('admin');
    sim.clearRequests();
    const ok = await fetch(`${base}/alltalk/server/cfg/refresh`, { method: 'POST', headers: auth(admin) });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).state, 'ready');
    assert.ok(sim.requests.some((r) => r.path === '/api/reload_config'));
  });

  it('keeps credentials out of the exported flow while they reach the server', async function () {
    const admin = await token('admin');
    const current = await (await fetch(`${base}/flows`, { headers: { ...auth(admin), 'node-red-api-version': 'v2' } })).json();
    const flows = current.flows.map((n) => (n.id === 'cfg'
      ? { ...n, apiKeyHeader: 'X-Api-Key', credentials: { username: 'anna', password: 's3cret', apiKey: 'k-123' } }
      : n));
    const deployed = await fetch(`${base}/flows`, {
      method: 'POST',
      headers: { ...auth(admin), 'content-type': 'application/json', 'node-red-api-version': 'v2', 'node-red-deployment-type': 'full' },
      body: JSON.stringify({ flows, rev: current.rev }),
    });
    assert.equal(deployed.status, 200, await deployed.text());
    sim.clearRequests();
    const started = Date.now();
    while (!sim.requests.some((r) => r.headers['x-api-key'] === 'k-123') && Date.now() - started < 10000) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const req = sim.requests.find((r) => r.headers['x-api-key'] === 'k-123');
    assert.ok(req, 'the redeployed config node sends the API key');
    assert.equal(req.headers.authorization, `Basic ${Buffer.from('anna:s3cret').toString('base64')}`);
    const exported = await (await fetch(`${base}/flows`, { headers: auth(admin) })).text();
    assert.ok(exported.includes('"alltalk-config"'));
    for (const secret of ['s3cret', 'k-123', 'anna']) assert.ok(!exported.includes(secret), `${secret} is not exported`);
    const onDisk = fs.readFileSync(path.join(userDir, 'flows.json'), 'utf8');
    assert.ok(!onDisk.includes('s3cret') && !onDisk.includes('k-123'), 'the flow file holds no credentials');
  });

  it('serves the node definitions, help, editor helper and icons', async function () {
    const admin = await token('admin');
    const html = await (await fetch(`${base}/nodes`, { headers: { ...auth(admin), accept: 'text/html' } })).text();
    assert.match(html, /RED\.nodes\.registerType\('alltalk-config'/);
    assert.match(html, /RED\.nodes\.registerType\('alltalk-status'/);
    assert.match(html, /data-help-name="alltalk-status"/);
    const helperJs = await fetch(`${base}/resources/node-red-contrib-alltalk/alltalk-editor.js`);
    assert.equal(helperJs.status, 200);
    assert.match(await helperJs.text(), /AllTalkEditor/);
    // The editor shows a node's icon only if GET /icons lists it for the module, and then loads it
    // from /icons/<module>/<file>. An unknown icon also answers 200 (Node-RED's default arrow-in.svg),
    // so the bytes are compared with ours.
    const iconSets = await (await fetch(`${base}/icons`, { headers: auth(admin) })).json();
    const ours = fs.readdirSync(path.join(__dirname, '..', '..', 'icons')).filter((f) => f.endsWith('.svg')).sort();
    assert.deepEqual([...(iconSets['node-red-contrib-alltalk'] || [])].sort(), ours);
    for (const file of ours) {
      const icon = await fetch(`${base}/icons/node-red-contrib-alltalk/${file}`, { headers: auth(admin) });
      assert.equal(icon.status, 200, file);
      assert.match(icon.headers.get('content-type'), /^image\/svg\+xml/, file);
      assert.equal(await icon.text(), fs.readFileSync(path.join(__dirname, '..', '..', 'icons', file), 'utf8'), `${file} is ours`);
    }
    const examples = await fetch(`${base}/nodes/messages?lng=en-US`, { headers: auth(admin) });
    assert.equal(examples.status, 200);
  });

  it('serves the German catalogues and help to an editor in German, and English to the others', async function () {
    const admin = await token('admin');
    const tts = await (await fetch(`${base}/locales/node-red-contrib-alltalk/alltalk-tts?lng=de`, { headers: { 'accept-language': 'de' } })).json();
    assert.equal(tts['alltalk-tts'].label.voice, 'Stimme');
    // The editor asks in the browser's language, e.g. de-DE: the de catalogue answers.
    const all = await (await fetch(`${base}/nodes/messages?lng=de-DE`, { headers: auth(admin) })).json();
    assert.equal(all['node-red-contrib-alltalk/alltalk-config']['alltalk-config'].badge.queued, 'In Warteschlange (__n__)');
    assert.equal(all['node-red-contrib-alltalk/alltalk-status']['alltalk-status'].label.onlyChanges, 'nur Änderungen melden');
    const en = await (await fetch(`${base}/nodes/messages?lng=en-US`, { headers: auth(admin) })).json();
    assert.equal(en['node-red-contrib-alltalk/alltalk-config']['alltalk-config'].badge.queued, 'queued (__n__)');
    const html = async (lang) => (await fetch(`${base}/nodes`, { headers: { ...auth(admin), accept: 'text/html', 'accept-language': lang } })).text();
    const help = (page, type) => page.slice(page.indexOf(`data-help-name="${type}"`)).split('</script>')[0];
    const de = await html('de-DE,de;q=0.9');
    const english = await html('en-US');
    for (const type of ['alltalk-config', 'alltalk-status', 'alltalk-tts', 'alltalk-stream', 'alltalk-openai', 'alltalk-control']) {
      if (type !== 'alltalk-config') {
        assert.match(help(de, type), /<h3>Eingangsdaten<\/h3>/, `${type} help in German`);
        assert.match(help(english, type), /<h3>Inputs<\/h3>/, `${type} help in English`);
      }
      assert.match(help(de, type), /<h3>Referenzen<\/h3>/, `${type} help in German`);
    }
  });
});
