'use strict';
const assert = require('assert');
const fs = require('fs');
const path = require('path');
const { startSim, stopAll, request, postForm, rawRequest } = require('./helpers');

describe('simulator: /audio and /audiocache', function () {
  let sim;
  let generated;
  before(async function () {
    sim = await startSim();
    generated = (await postForm(sim, '/api/tts-generate', { text_input: 'A file to download' })).json();
  });
  after(stopAll);

  it('/audio/<file>: audio/x-wav, Content-Length, Last-Modified, quoted ETag, no Content-Disposition', async function () {
    const r = await request(sim, generated.output_file_url);
    assert.strictEqual(r.status, 200);
    assert.strictEqual(r.headers.get('content-type'), 'audio/x-wav');
    const onDisk = fs.readFileSync(generated.output_file_path);
    assert.ok(r.body.equals(onDisk));
    assert.strictEqual(r.headers.get('content-length'), String(onDisk.length));
    assert.match(r.headers.get('etag'), /^"[0-9a-f]{32}"$/);
    assert.strictEqual(new Date(r.headers.get('last-modified')).toUTCString(), r.headers.get('last-modified'));
    assert.strictEqual(r.headers.get('content-disposition'), null);
  });

  it('/audio guesses the type from the extension (.mp3 → audio/mpeg)', async function () {
    fs.writeFileSync(path.join(sim.outputDir, 'song.mp3'), Buffer.from('ID3test'));
    const r = await request(sim, '/audio/song.mp3');
    assert.strictEqual(r.headers.get('content-type'), 'audio/mpeg');
    assert.strictEqual(r.text, 'ID3test');
  });

  it('/audiocache/<file>: always audio/wav, attachment, 7-day cache, unquoted mtime ETag', async function () {
    const r = await request(sim, generated.output_cache_url);
    assert.strictEqual(r.status, 200);
    assert.strictEqual(r.headers.get('content-type'), 'audio/wav');
    assert.strictEqual(r.headers.get('content-disposition'), `attachment; filename="${path.basename(generated.output_file_path)}"`);
    assert.strictEqual(r.headers.get('cache-control'), 'public, max-age=604800');
    assert.match(r.headers.get('etag'), /^\d+\.\d+$/);
    const mtime = fs.statSync(generated.output_file_path).mtimeMs / 1000;
    assert.ok(Math.abs(Number(r.headers.get('etag')) - mtime) < 0.001);
    const mp3 = await request(sim, '/audiocache/song.mp3');
    assert.strictEqual(mp3.headers.get('content-type'), 'audio/wav', 'even for an mp3');
  });

  it('404 {"detail":"File not found"} for a missing file on both routes', async function () {
    for (const p of ['/audio/missing.wav', '/audiocache/missing.wav']) {
      const r = await request(sim, p);
      assert.strictEqual(r.status, 404);
      assert.deepStrictEqual(r.json(), { detail: 'File not found' });
    }
  });

  it('an encoded slash or a dot-dot name does not escape the output folder', async function () {
    const slash = await request(sim, '/audio/..%2Fsecret.wav');
    assert.strictEqual(slash.status, 404);
    assert.deepStrictEqual(slash.json(), { detail: 'Not Found' });
    // fetch would resolve the dot segment itself; send the path as it is.
    const dots = await rawRequest(`${sim.url}/audio/%2E%2E`);
    assert.strictEqual(dots.status, 404);
    assert.deepStrictEqual(JSON.parse(dots.body.toString()), { detail: 'File not found' });
  });

  it('HEAD is 405 on both routes', async function () {
    for (const url of [generated.output_file_url, generated.output_cache_url]) {
      const r = await request(sim, url, { method: 'HEAD' });
      assert.strictEqual(r.status, 405);
      assert.strictEqual(r.headers.get('allow'), 'GET');
    }
  });

  it('Range is ignored: 200 with the whole body', async function () {
    const r = await request(sim, generated.output_file_url, { headers: { range: 'bytes=0-9' } });
    assert.strictEqual(r.status, 200);
    assert.strictEqual(r.body.length, fs.statSync(generated.output_file_path).size);
    assert.strictEqual(r.headers.get('content-range'), null);
  });
});
