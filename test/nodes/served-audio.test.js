'use strict';
// What Node-RED serves on its own origin is audio, and never a page: a hostile server that names
// its file x.html and sends an HTML page behind a WAV signature gets nothing kept or served (the
// message ends with one clear error); a real WAV sent as text/html under an .html name is kept and
// served as audio/wav; every answer of the speaker routes (cached files, live streams, 404s) and of
// the editor's preview carries nosniff, a sandbox CSP and, for audio, an inline disposition; an
// entry on disk that claims another type is never served.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { helper, NODES, configNode, startSim, waitFor, runOn } = require('./support');
const { FakeServer, send, WAV } = require('../api/fake-server');

let httpNode;
function captureHttpNode(RED) {
  httpNode = RED.httpNode;
}
const nodes = [NODES.config, require('../../nodes/alltalk-tts.js'), require('../../nodes/alltalk-stream.js'), captureHttpNode];

/** An HTML page with script behind a WAV signature: RIFF, a size, WAVE, then the page. */
const DISGUISED = Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WAVE', 'latin1'), Buffer.from('<html><script>alert(document.cookie)</script></html>')]);

function request(url, { method = 'GET' } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every answer on Node-RED's origin from these routes: not a page. */
function assertNotAPage(res, what) {
  assert.equal(res.headers['x-content-type-options'], 'nosniff', `${what}: nosniff`);
  assert.equal(res.headers['content-security-policy'], 'sandbox', `${what}: sandboxed`);
  assert.doesNotMatch(String(res.headers['content-type']), /html|javascript|xml/, `${what}: ${res.headers['content-type']}`);
}

let seq = 0;
const msg = (props) => ({ _msgid: `sa${++seq}`, ...props });

describe('Node-RED serves only audio, and never as a page', function () {
  this.timeout(30000);
  let fake;
  let server;
  let base;
  let userDir;

  beforeEach(async function () {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-served-'));
    helper.settings({ userDir });
    server = http.createServer((req, res) => httpNode(req, res));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${server.address().port}`;
  });

  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await new Promise((r) => server.close(r));
    if (fake) await fake.stop();
    fake = undefined;
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  /** A fake AllTalk whose generated file is /audio/x.html, answered by `body` as text/html. */
  async function hostile(body) {
    fake = new FakeServer((req, res) => (req.url === '/audio/x.html' ? send(res, 200, body, 'text/html') : false));
    await fake.start();
    return fake;
  }

  async function deploy(target) {
    await helper.load(nodes, [
      configNode(target, { speakerUrl: base }),
      { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'url', wires: [['out']] },
      { id: 'buf', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', output: 'buffer', wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'ready');
  }

  const cacheFiles = () => fs.readdirSync(path.join(userDir, 'alltalk-cache', 'cfg')).filter((f) => f !== 'secret');

  it('an HTML page behind a WAV signature, named x.html and sent as text/html: one clear error, nothing kept or served', async function () {
    await hostile(DISGUISED);
    await deploy(fake);
    for (const node of ['tts', 'buf']) {
      fake.audioUrls.push('/audio/x.html');
      const r = await runOn(node, msg({ payload: 'Open the door.' }));
      assert.ok(r.error, `${node}: the message ends with an error`);
      assert.equal(r.error.code, 'ALLTALK_INVALID_RESPONSE', r.error.message);
      assert.match(r.error.message, /not audio/);
    }
    assert.deepEqual(cacheFiles(), [], 'nothing was kept');
    // Nothing under the route answers with the page, whatever name is tried.
    for (const name of ['x.html', `${'0'.repeat(40)}.html`, 'live-0123.html']) {
      const res = await request(`${base}/alltalk-audio/cfg/${name}`);
      assert.equal(res.status, 404, name);
      assertNotAPage(res, name);
    }
  });

  it('a real WAV sent as text/html under an .html name: kept and served as audio/wav, .wav, with a safe inline name', async function () {
    await hostile(WAV);
    await deploy(fake);
    fake.audioUrls.push('/audio/x.html');
    const r = await runOn('tts', msg({ payload: 'The washing machine is done.' }));
    assert.ok(r.msg && !r.error, r.error && r.error.message);
    assert.match(r.msg.payload, /\/alltalk-audio\/cfg\/[0-9a-f]{40}\.wav$/, 'the type from the bytes, not the URL');
    assert.equal(r.msg.contentType, 'audio/wav');
    const res = await request(r.msg.payload);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'audio/wav');
    assert.match(res.headers['content-disposition'], /^inline; filename="[0-9a-f]{40}\.wav"$/);
    assertNotAPage(res, 'the cached file');
    assert.ok(res.body.equals(WAV));
    const head = await request(r.msg.payload, { method: 'HEAD' });
    assertNotAPage(head, 'HEAD');
    const meta = JSON.parse(fs.readFileSync(path.join(userDir, 'alltalk-cache', 'cfg', cacheFiles().find((f) => f.endsWith('.json'))), 'utf8'));
    assert.equal(meta.contentType, 'audio/wav');
    assert.equal(meta.ext, 'wav');
  });

  it('an entry on disk that claims another type (text/html) is never served, nor one without a checksum', async function () {
    await hostile(WAV);
    await deploy(fake);
    const r = await runOn('tts', msg({ payload: 'Kept as audio.' }));
    const file = r.msg.payload.split('/').pop();
    const id = file.slice(0, 40);
    const dir = path.join(userDir, 'alltalk-cache', 'cfg');
    const meta = JSON.parse(fs.readFileSync(path.join(dir, `${id}.json`), 'utf8'));
    // The same bytes described as a page (as an older version, or a hand, could leave it), after a redeploy.
    fs.writeFileSync(path.join(dir, `${id}.json`), JSON.stringify({ ...meta, contentType: 'text/html', ext: 'html' }));
    fs.renameSync(path.join(dir, file), path.join(dir, `${id}.html`));
    await helper.unload();
    await deploy(fake);
    for (const name of [`${id}.html`, file]) {
      const res = await request(`${base}/alltalk-audio/cfg/${name}`);
      assert.equal(res.status, 404, name);
      assertNotAPage(res, name);
    }
    // Described as audio again, but without the checksum a kept entry has: not served either.
    const { sha256, ...unchecked } = meta;
    assert.match(sha256, /^[0-9a-f]{64}$/);
    fs.writeFileSync(path.join(dir, `${id}.json`), JSON.stringify(unchecked));
    fs.writeFileSync(path.join(dir, file), WAV);
    await helper.unload();
    await deploy(fake);
    assert.equal((await request(`${base}/alltalk-audio/cfg/${file}`)).status, 404);
  });

  it('a live stream URL: audio/wav with nosniff and a sandbox, on HEAD and on GET', async function () {
    const sim = await startSim();
    try {
      await helper.load(nodes, [
        configNode(sim, { speakerUrl: base }),
        { id: 'st', type: 'alltalk-stream', server: 'cfg', property: 'payload', propertyType: 'msg', voice: 'female_01.wav', language: 'en', output: 'url', maxCharacters: 2000, wires: [['out']] },
        { id: 'out', type: 'helper' },
      ]);
      await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'ready');
      const out = [];
      helper.getNode('out').on('input', (m) => out.push(m));
      helper.getNode('st').receive(msg({ payload: 'Live.' }));
      await waitFor(() => out.length === 1, 'the URL');
      const url = out[0].payload;
      const head = await request(url, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assertNotAPage(head, 'live HEAD');
      const res = await request(url);
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'audio/wav');
      assertNotAPage(res, 'live GET');
      assert.match(res.headers['content-disposition'], /^inline; filename="live-[0-9a-f]{32}\.wav"$/);
    } finally {
      await helper.unload();
      await sim.stop();
    }
  });

  it("the editor's preview: audio from the bytes with nosniff and a sandbox; a page behind a WAV signature is refused", async function () {
    fake = new FakeServer((req, res) => {
      if (req.url === '/api/previewvoice/') return send(res, 200, { status: 'generate-success', output_file_path: 'x', output_file_url: '/audio/preview.html' });
      if (req.url.startsWith('/audio/preview.html')) return send(res, 200, fake.previewBody, 'text/html');
      return false;
    });
    await fake.start();
    await deploy(fake);
    const preview = () => helper.request().post('/alltalk/preview').send({ server: { id: 'cfg' }, voice: 'female_01.wav' }).buffer(true)
      .parse((res, cb) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => cb(null, Buffer.concat(chunks)));
      });
    fake.previewBody = WAV;
    const ok = await preview();
    assert.equal(ok.status, 200, ok.body.toString());
    assert.equal(ok.headers['content-type'], 'audio/wav');
    assertNotAPage(ok, 'preview');
    assert.match(ok.headers['content-disposition'], /^inline; filename="preview\.wav"$/);
    fake.previewBody = DISGUISED;
    const bad = await preview();
    assert.equal(bad.status, 502);
    assert.match(JSON.parse(bad.body.toString()).error, /not audio/);
  });
});
