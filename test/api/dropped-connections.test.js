'use strict';
// Connections that end early, each with its own message: a server that hangs up during a
// generation, a download or any other reply cut short, http spoken to an https port, and a TLS
// certificate that is valid but for another name. Against a scriptable fake server on loopback.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { AllTalkClient } = require('../../dist/api');
const { settingsWith } = require('./fixtures');
const { FakeServer, WAV, send } = require('./fake-server');
const { rejectsWith } = require('./helpers');

describe('api/dropped connections', () => {
  const servers = [];
  const clients = [];
  const cleanups = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const s of servers.splice(0)) await s.stop();
    for (const f of cleanups.splice(0).reverse()) await f();
  });

  async function fake(handler) {
    const server = new FakeServer(handler);
    servers.push(server);
    return server.start();
  }

  /** A client with no retries: each test sees the first failure as it is. */
  function client(port, options = {}) {
    const c = new AllTalkClient({ host: '127.0.0.1', port, ...options, retry: { retries: 0 } });
    clients.push(c);
    return c;
  }

  /** Writes `part` of a reply after the headers, then destroys the socket. */
  function cutAfter(res, headers, part) {
    res.writeHead(200, headers);
    res.write(part, () => res.socket.destroy());
    return true;
  }

  /** The message must not be the old "not answering / is it running" text. */
  function notTheOfflineText(err) {
    assert.doesNotMatch(err.message, /is not answering|could not be reached|Is it running/, err.message);
  }

  describe('the server hangs up after the request was sent, during a generation', () => {
    const routes = [
      ['POST', '/api/tts-generate', (c) => c.ttsGenerate({ text_input: 'Hello there.' })],
      ['POST', '/v1/audio/speech', (c) => c.openaiSpeech({ input: 'Hello there.', voice: 'alloy' })],
      ['POST', '/api/previewvoice/', (c) => c.previewVoice({ voice: 'female_01.wav' })],
    ];
    for (const [method, route, call] of routes) {
      it(`${method} ${route}: offline, "closed the connection during generation" with the route`, async () => {
        const server = await fake((req) => {
          if (req.url.split('?')[0] !== route) return false;
          req.socket.destroy();
          return true;
        });
        const c = client(server.port);
        const err = await rejectsWith(call(c), 'offline');
        assert.match(err.message, /closed the connection during generation/);
        assert.ok(err.message.includes(`${method} ${route}`), `names the route: ${err.message}`);
        assert.ok(err.message.includes(c.origin), err.message);
        notTheOfflineText(err);
        assert.equal(server.to(route).length, 1, 'the request reached the server once (no retry of a generation)');
      });
    }
  });

  describe('a reply cut short after its headers', () => {
    it('an audio download (Content-Length, part of the body, then the socket destroyed): offline, "during download", "cut short"', async () => {
      const server = await fake((req, res) => {
        if (req.url !== '/audio/cut.wav') return false;
        return cutAfter(res, { 'content-type': 'audio/wav', 'content-length': WAV.length }, WAV.subarray(0, Math.floor(WAV.length / 2)));
      });
      server.audioUrls.push('/audio/cut.wav');
      const c = client(server.port);
      const result = await c.ttsGenerate({ text_input: 'Hello there.' });
      assert.equal(result.output_file_url, '/audio/cut.wav');
      const err = await rejectsWith(c.fetchAudio(result.output_file_url), 'offline');
      assert.match(err.message, /closed the connection during download/);
      assert.match(err.message, /cut short/);
      assert.ok(err.message.includes('/audio/cut.wav'), err.message);
      notTheOfflineText(err);
      // The same download whole works: only the cut one failed.
      const whole = await c.fetchAudio('/audio/whole.wav');
      assert.equal(whole.data.length, WAV.length);
    });

    it('GET /api/currentsettings with a Content-Length larger than what is sent: invalid-response, "cut short"', async () => {
      const server = await fake((req, res) => {
        if (req.url !== '/api/currentsettings') return false;
        const body = Buffer.from(JSON.stringify(settingsWith()));
        return cutAfter(res, { 'content-type': 'application/json', 'content-length': body.length }, body.subarray(0, Math.floor(body.length / 2)));
      });
      const c = client(server.port);
      const err = await rejectsWith(c.currentSettings(), 'invalid-response');
      assert.equal(err.code, 'ALLTALK_INVALID_RESPONSE');
      assert.match(err.message, /cut short/);
      assert.ok(err.message.includes('/api/currentsettings'), err.message);
      assert.equal(err.route, '/api/currentsettings');
    });

    it('GET /api/voices chunked, the socket destroyed mid-body: invalid-response, "cut short"', async () => {
      const server = await fake((req, res) => {
        if (req.url !== '/api/voices') return false;
        // No Content-Length: Node sends it chunked.
        return cutAfter(res, { 'content-type': 'application/json' }, '{"status":"success","voices":["female_01.wav","ma');
      });
      const c = client(server.port);
      const err = await rejectsWith(c.voices(), 'invalid-response');
      assert.equal(err.code, 'ALLTALK_INVALID_RESPONSE');
      assert.match(err.message, /cut short/);
      assert.ok(err.message.includes('/api/voices'), err.message);
    });

    it('a whole reply after a cut one is read as usual (the client is not left broken)', async () => {
      let cut = true;
      const server = await fake((req, res) => {
        if (req.url !== '/api/voices' || !cut) return false;
        cut = false;
        return cutAfter(res, { 'content-type': 'application/json', 'content-length': 500 }, '{"status":"success"');
      });
      const c = client(server.port);
      const err = await rejectsWith(c.voices(), 'invalid-response');
      assert.match(err.message, /cut short/);
      assert.deepEqual(await c.voices(), ['female_01.wav', 'male_01.wav']);
    });
  });

  describe('http spoken to an https port', () => {
    it('an HTTP 400 "The plain HTTP request was sent to HTTPS port" (nginx) gets the hint "set the protocol to https"; an ordinary 400 does not', async () => {
      const page = '<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n' +
        '<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n' +
        '<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
      let nginx = true;
      const server = await fake((req, res) => send(res, 400, nginx ? page : { detail: 'Bad Request' }, nginx ? 'text/html' : 'application/json'));
      const c = client(server.port);
      const err = await rejectsWith(c.ready(), 'http');
      assert.equal(err.status, 400);
      assert.match(err.message, /set the protocol to https/);
      // An ordinary 400 gets no such hint: it comes from the page, not from the status.
      nginx = false;
      const plain = await rejectsWith(c.ready(), 'http');
      assert.doesNotMatch(plain.message, /protocol to https/);
    });
  });

  describe('TLS (local HTTPS servers with self-signed certificates)', function () {
    let tls;

    before(function () {
      try {
        execFileSync('openssl', ['version'], { stdio: 'ignore' });
      } catch {
        this.skip(); // openssl is not installed: no certificate can be made for these tests
      }
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-tls-dropped-'));
      const make = (name, subject, altNames) => {
        execFileSync('openssl', [
          'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', subject,
          '-addext', `subjectAltName=${altNames}`,
          '-keyout', path.join(dir, `${name}-key.pem`), '-out', path.join(dir, `${name}-cert.pem`),
        ], { stdio: 'ignore' });
        return { key: fs.readFileSync(path.join(dir, `${name}-key.pem`)), cert: fs.readFileSync(path.join(dir, `${name}-cert.pem`)) };
      };
      tls = {
        dir,
        // For this address: what the client connects to.
        local: make('local', '/CN=localhost', 'IP:127.0.0.1,DNS:localhost'),
        // Valid, but for another name only.
        other: make('other', '/CN=tts.other.example', 'DNS:tts.other.example'),
      };
    });

    after(() => {
      if (tls) fs.rmSync(tls.dir, { recursive: true, force: true });
    });

    async function httpsServer(pair) {
      const seen = [];
      const srv = https.createServer({ key: pair.key, cert: pair.cert }, (req, res) => {
        seen.push(req.url);
        res.end(req.url === '/api/ready' ? 'Ready' : '');
      });
      await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise((resolve) => {
        srv.closeAllConnections();
        srv.close(resolve);
      }));
      return { port: srv.address().port, seen };
    }

    it('a plain http client against an https port (the server hangs up): offline, "that port speaks TLS", "https"', async () => {
      const srv = await httpsServer(tls.local);
      const c = client(srv.port, { protocol: 'http' });
      const err = await rejectsWith(c.ready(), 'offline');
      assert.match(err.message, /that port speaks TLS/);
      assert.match(err.message, /https/);
      assert.match(err.message, /set the protocol to https/);
      notTheOfflineText(err);
      assert.deepEqual(srv.seen, [], 'no HTTP request got through');
      // The same port with https and the certificate trusted answers.
      const tlsClient = client(srv.port, { protocol: 'https', tls: { ca: tls.local.cert } });
      assert.equal(await tlsClient.ready(), 'Ready');
    });

    it('a certificate that does not name the host: "not for this name" and "server name"; an untrusted one keeps the generic refusal', async () => {
      const srv = await httpsServer(tls.other);
      // Trusted (its own CA), so only the name is wrong.
      const c = client(srv.port, { protocol: 'https', tls: { ca: tls.other.cert } });
      const err = await rejectsWith(c.ready(), 'offline');
      assert.equal(err.causeCode, 'ERR_TLS_CERT_ALTNAME_INVALID', err.message);
      assert.match(err.message, /not for this name/);
      assert.match(err.message, /server name/);
      assert.match(err.message, /tts\.other\.example/, 'names what the certificate is for');
      assert.doesNotMatch(err.message, /certificate was not accepted/);
      assert.deepEqual(srv.seen, []);
      // With that name as the server name it is accepted.
      const named = client(srv.port, { protocol: 'https', tls: { ca: tls.other.cert, servername: 'tts.other.example' } });
      assert.equal(await named.ready(), 'Ready');
      // An untrusted certificate (no CA given) still gets the generic text, not the name one.
      const untrusted = client(srv.port, { protocol: 'https', tls: { servername: 'tts.other.example' } });
      const refused = await rejectsWith(untrusted.ready(), 'offline');
      assert.match(refused.message, /TLS certificate was not accepted/);
      assert.doesNotMatch(refused.message, /not for this name/);
    });
  });
});
