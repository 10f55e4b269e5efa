'use strict';
// AudioService: the speaker URLs it gives (address, httpNodeRoot, refusals) and the live stream
// URLs: single-use, expiring after their time, bounded in number, dropped per owner.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { AudioCache } = require('../../dist/runtime/audio-cache');
const { AudioService } = require('../../dist/runtime/audio-service');

describe('AudioService', function () {
  let dir;
  let cache;
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-service-'));
    cache = new AudioCache({ dir, maxBytes: 1024 * 1024, maxAgeMs: 0 });
  });
  afterEach(async function () {
    await cache.close(true);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const service = (opts) => new AudioService({ configId: 'cfg1', cache, speakerAddress: 'http://192.168.1.10:1880', httpNodeRoot: '/', ...opts });
  const stream = () => {
    const s = { started: 0, expired: [] };
    s.start = () => s.started++;
    s.expire = (err) => s.expired.push(err);
    return s;
  };

  it('URLs follow the address and httpNodeRoot', function () {
    const id = 'a'.repeat(40);
    assert.equal(service().urlFor({ id, ext: 'wav' }), `http://192.168.1.10:1880/alltalk-audio/cfg1/${id}.wav`);
    assert.equal(service({ speakerAddress: 'http://nr.local:1880/', httpNodeRoot: '/api/' }).urlFor({ id, ext: 'mp3' }), `http://nr.local:1880/api/alltalk-audio/cfg1/${id}.mp3`);
    assert.equal(service({ speakerAddress: 'https://nr.local/red', httpNodeRoot: 'nodes' }).urlFor({ id, ext: 'wav' }), `https://nr.local/red/nodes/alltalk-audio/cfg1/${id}.wav`);
  });

  it('without a usable address, URL outputs are refused with the reason', function () {
    for (const [opts, reason] of [[{ speakerAddress: '' }, /needs the address of Node-RED for speakers/],
      [{ speakerAddress: '192.168.1.10:1880' }, /not an http\(s\) address/], [{ speakerAddress: 'ftp://x' }, /not an http\(s\) address/],
      [{ speakerAddress: 'http://u:p@x' }, /not an http\(s\) address/], [{ httpNodeRoot: false }, /httpNodeRoot is false/]]) {
      const s = service(opts);
      assert.equal(s.serving, false);
      assert.throws(() => s.requireServing('Output "url"'), (err) => err.kind === 'validation' && reason.test(err.message), JSON.stringify(opts));
    }
    const none = new AudioService({ configId: 'c', cache: new AudioCache({ dir: path.join(dir, 'z'), maxBytes: 0, maxAgeMs: 0 }), speakerAddress: 'http://x:1880', httpNodeRoot: '/' });
    assert.match(none.problem, /cache, whose size is 0 MB/);
  });

  it('a live URL is unguessable and taken once', function () {
    const s = service();
    const a = stream();
    const url = s.addLive(a, 'node1');
    const token = /live-([0-9a-f]{32})\.wav$/.exec(url)[1];
    assert.notEqual(/live-([0-9a-f]{32})\.wav$/.exec(s.addLive(stream(), 'node1'))[1], token);
    assert.equal(s.hasLive(token), true);
    assert.equal(s.takeLive(token), a);
    assert.equal(s.takeLive(token), undefined);
    assert.equal(s.hasLive(token), false);
    assert.equal(a.expired.length, 0);
    s.dropLive(new Error('done'));
  });

  it('an unfetched live URL expires after its time and frees its place', async function () {
    const s = service({ liveTtlMs: 50, maxLive: 2 });
    const a = stream();
    s.addLive(a, 'n');
    s.addLive(stream(), 'n');
    assert.throws(() => s.addLive(stream(), 'n'), (err) => err.kind === 'queue-full');
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(a.expired.length, 1);
    assert.equal(a.expired[0].kind, 'aborted');
    assert.match(a.expired[0].message, /Nobody fetched the stream URL/);
    assert.equal(s.liveWaiting, 0);
    s.addLive(stream(), 'n');
    s.dropLive(new Error('done'));
  });

  it('dropLive ends the waiting streams of one owner, or all; close ends the rest', async function () {
    const s = service();
    const a = stream();
    const b = stream();
    s.addLive(a, 'n1');
    s.addLive(b, 'n2');
    assert.equal(s.dropLive(new Error('stop'), 'n1'), 1);
    assert.equal(a.expired.length, 1);
    assert.equal(b.expired.length, 0);
    await s.close(false);
    assert.equal(b.expired.length, 1);
    assert.ok(fs.existsSync(dir), 'the folder stays unless removed');
  });

  it('a live stream to a speaker that stops reading hangs up after the stall time', async function () {
    const { EventEmitter } = require('node:events');
    const { LiveSink } = require('../../dist/nodes/alltalk-stream/live-sink');
    const res = new EventEmitter();
    Object.assign(res, {
      destroyed: false, writableEnded: false, headersSent: false,
      writeHead() { this.headersSent = true; return this; },
      write: () => false,
      destroy() { this.destroyed = true; this.emit('close'); },
    });
    const sink = new LiveSink(res, 1e6, 50);
    sink.begin(Buffer.alloc(44, 1), { sampleRate: 24000, channels: 1, bitsPerSample: 16 });
    const t0 = Date.now();
    await sink.audio(Buffer.alloc(1000));
    assert.equal(res.destroyed, true);
    assert.ok(Date.now() - t0 >= 40, 'waited for the stall time');
    assert.equal(sink.gone, true);
  });
});
