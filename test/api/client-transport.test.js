'use strict';
// AllTalkClient against the simulator and a local HTTPS server: extra headers, basic auth and the
// user agent, the client's own options (protocol, host, port, origin), and TLS certificates.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { AllTalkClient, packageVersion } = require('../../dist/api');
const { harness, rejectsWith } = require('./helpers');

describe('api/client errors, retries and transport', () => {
  const h = harness();

  describe('headers', () => {
    it('extra headers, basic auth and the user agent reach the server', async () => {
      const sim = await h.sim();
      const client = h.client(sim, {
        headers: { 'X-Api-Key': 'secret-key', 'X-Proxy-Route': 'alltalk' },
        basicAuth: { username: 'ann', password: 'p:ss wörd' },
      });
      await client.ready();
      await client.ttsGenerate({ text_input: 'Hi' });
      await drain(await client.streamTts({ text: 'Hi', voice: 'female_01.wav' }));
      const expectedAuth = `Basic ${Buffer.from('ann:p:ss wörd').toString('base64')}`;
      assert.equal(sim.requests.length, 3);
      for (const req of sim.requests) {
        assert.equal(req.headers['x-api-key'], 'secret-key', req.path);
        assert.equal(req.headers['x-proxy-route'], 'alltalk', req.path);
        assert.equal(req.headers.authorization, expectedAuth, req.path);
        assert.equal(req.headers['user-agent'], `node-red-contrib-alltalk/${packageVersion()}`, req.path);
      }
      const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
      assert.equal(packageVersion(), pkg.version);
    });

    it('a user agent given in the headers wins', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { headers: { 'User-Agent': 'my-flow/1.0' } });
      await client.ready();
      assert.equal(sim.requests[0].headers['user-agent'], 'my-flow/1.0');
    });

    it('no authorization header without basic auth', async () => {
      const sim = await h.sim();
      const client = h.client(sim, { basicAuth: { username: '', password: '' } });
      await client.ready();
      assert.equal(sim.requests[0].headers.authorization, undefined);
    });
  });

  describe('client options', () => {
    it('refuses a bad protocol, host or port', () => {
      assert.throws(() => new AllTalkClient({ protocol: 'ftp' }), (e) => e.kind === 'validation' && e.field === 'protocol');
      for (const host of ['http://x', 'a b', 'x/y', 'user@x', '']) {
        assert.throws(() => new AllTalkClient({ host }), (e) => e.kind === 'validation' && e.field === 'host', host);
      }
      for (const port of [0, 70000, 1.5, Number.NaN]) {
        assert.throws(() => new AllTalkClient({ port }), (e) => e.kind === 'validation' && e.field === 'port', String(port));
      }
    });

    it('builds the origin (IPv6 in brackets) and audio URLs', async () => {
      const a = new AllTalkClient({ host: '::1', port: 7851 });
      const b = new AllTalkClient({ protocol: 'https', host: 'tts.example', port: 443 });
      try {
        assert.equal(a.origin, 'http://[::1]:7851');
        assert.equal(a.timeoutMs, 5000);
        assert.equal(a.generationTimeoutMs, 300000);
        assert.equal(b.audioUrl('http://127.0.0.1:7851/audio/x.wav'), 'https://tts.example:443/audio/x.wav');
        assert.equal(b.audioUrl('audio/x.wav'), 'https://tts.example:443/audio/x.wav');
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  describe('TLS (a local HTTPS server with a self-signed certificate)', function () {
    let tls;

    before(function () {
      try {
        execFileSync('openssl', ['version'], { stdio: 'ignore' });
      } catch {
        this.skip(); // openssl is not installed: no certificate can be made for this test
      }
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-tls-'));
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      ], { stdio: 'ignore' });
      tls = { dir, key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
    });

    after(() => {
      if (tls) fs.rmSync(tls.dir, { recursive: true, force: true });
    });

    /** The simulator speaks plain HTTP only: a minimal HTTPS stand-in for /api/ready. */
    async function httpsServer() {
      const seen = [];
      const srv = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
        seen.push({ path: req.url, headers: req.headers });
        res.end(req.url === '/api/ready' ? 'Ready' : '');
      });
      await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
      h.cleanup(() => new Promise((resolve) => { srv.closeAllConnections(); srv.close(resolve); }));
      return { port: srv.address().port, seen };
    }

    it('an untrusted certificate is refused with a message about TLS', async () => {
      const srv = await httpsServer();
      const client = h.client(srv.port, { protocol: 'https', retry: { retries: 0 } });
      const err = await rejectsWith(client.ready(), 'offline');
      assert.match(err.message, /TLS certificate was not accepted/);
      assert.equal(srv.seen.length, 0);
    });

    it('accepted with rejectUnauthorized: false', async () => {
      const srv = await httpsServer();
      const client = h.client(srv.port, { protocol: 'https', tls: { rejectUnauthorized: false } });
      assert.equal(await client.ready(), 'Ready');
      assert.equal(srv.seen.length, 1);
    });

    it('accepted with the certificate as CA', async () => {
      const srv = await httpsServer();
      const client = h.client(srv.port, { protocol: 'https', tls: { ca: tls.cert } });
      assert.equal(await client.ready(), 'Ready');
    });
  });
});

function drain(stream) {
  return new Promise((resolve, reject) => {
    stream.on('data', () => {});
    stream.on('end', resolve);
    stream.on('error', reject);
  });
}
