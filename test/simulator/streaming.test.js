'use strict';
const assert = require('assert');
const fs = require('fs');
const http = require('http');
const path = require('path');
const { parseWav } = require('../../dist/api/wav');
const { startSim, stopAll, request, postForm, rawRequest } = require('./helpers');

function streamUrl(sim, text, voice = 'female_01.wav', extra = '') {
  const q = new URLSearchParams({ text, voice, language: 'en', output_file: 'stream_output.wav' });
  return `${sim.url}/api/tts-generate-streaming?${q}${extra}`;
}

describe('simulator: streaming', function () {
  let sim;
  before(async function () {
    sim = await startSim({ streamChunkSamples: 2400, streamChunkIntervalMs: 3 });
  });
  afterEach(function () {
    sim.reset();
  });
  after(stopAll);

  describe('GET /api/tts-generate-streaming', function () {
    it('200 audio/wav chunked: a 44-byte header with RIFF size 36 and data size 0, then s16le 24 kHz', async function () {
      const r = await rawRequest(streamUrl(sim, 'Hello streaming world, here we go.'));
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.headers['content-type'], 'audio/wav');
      assert.strictEqual(r.headers['transfer-encoding'], 'chunked');
      assert.strictEqual(r.headers['content-length'], undefined);
      assert.strictEqual(r.complete, true);
      const h = r.body;
      assert.strictEqual(h.toString('ascii', 0, 4), 'RIFF');
      assert.strictEqual(h.readUInt32LE(4), 36);
      assert.strictEqual(h.toString('ascii', 36, 40), 'data');
      assert.strictEqual(h.readUInt32LE(40), 0);
      const info = parseWav(h);
      assert.strictEqual(info.format, 1);
      assert.strictEqual(info.channels, 1);
      assert.strictEqual(info.sampleRate, 24000);
      assert.strictEqual(info.bitsPerSample, 16);
      assert.strictEqual(info.dataOffset, 44);
      assert.strictEqual((h.length - 44) % 2, 0);
      // 34 characters at 0.05 s/char: 1.7 s of audio.
      assert.strictEqual(h.length - 44, Math.round(34 * 0.05 * 24000) * 2);
    });

    it('sends the audio in several chunks over time, and more audio for more text', async function () {
      const short = await rawRequest(streamUrl(sim, 'Short one'));
      const long = await rawRequest(streamUrl(sim, 'A much longer text that should stream for a good while longer.'));
      assert.ok(long.body.length > short.body.length * 3);
      assert.ok(long.chunks.length >= 3, `${long.chunks.length} chunks`);
      const g = sim.generations[sim.generations.length - 1];
      assert.strictEqual(g.outcome, 'success');
      assert.ok(g.endedAt > g.startedAt);
    });

    it('E1 422 listing each missing query parameter', async function () {
      const r = await request(sim, '/api/tts-generate-streaming?text=Hello');
      assert.strictEqual(r.status, 422);
      assert.deepStrictEqual(
        r.json().detail.map((d) => [d.type, ...d.loc]),
        [
          ['missing', 'query', 'voice'],
          ['missing', 'query', 'language'],
          ['missing', 'query', 'output_file'],
        ],
      );
    });

    it('Piper cannot stream: E4 400', async function () {
      sim.setProfile('piper');
      const r = await request(sim, '/api/tts-generate-streaming?text=Hi&voice=x&language=en&output_file=o');
      assert.strictEqual(r.status, 400);
      assert.deepStrictEqual(r.json(), { error: 'Invalid value: Streaming not supported by current TTS engine' });
    });

    it('language=auto is allowed; undetectable text fails before streaming', async function () {
      const ok = await rawRequest(`${sim.url}/api/tts-generate-streaming?text=Bonjour%20le%20monde&voice=female_01.wav&language=auto&output_file=o`);
      assert.strictEqual(ok.complete, true);
      const bad = await request(sim, '/api/tts-generate-streaming?text=1234&voice=female_01.wav&language=auto&output_file=o');
      assert.strictEqual(bad.status, 400);
      assert.deepStrictEqual(bad.json(), { error: 'Invalid value: Could not detect language' });
    });

    it('an unknown voice: 200 headers, then the connection is cut with no body', async function () {
      const r = await rawRequest(streamUrl(sim, 'Hello there', 'ghost.wav'));
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.complete, false);
      assert.strictEqual(r.body.length, 0);
      assert.strictEqual(sim.generations[sim.generations.length - 1].outcome, 'error');
    });

    it('an apitts model fails after the headers too', async function () {
      sim.settings.current_model_loaded = 'apitts - xttsv2_2.0.3';
      const r = await rawRequest(streamUrl(sim, 'Hello there'));
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.complete, false);
    });

    it('cutNextStream(n): the next stream is destroyed after n body bytes; the one after is whole', async function () {
      sim.cutNextStream(100);
      const cut = await rawRequest(streamUrl(sim, 'Hello there, this will be cut.'));
      assert.strictEqual(cut.status, 200);
      assert.strictEqual(cut.complete, false);
      assert.strictEqual(cut.body.length, 100);
      assert.strictEqual(sim.generations[sim.generations.length - 1].outcome, 'cut');
      const whole = await rawRequest(streamUrl(sim, 'Hello there, this will be cut.'));
      assert.strictEqual(whole.complete, true);
      assert.ok(whole.body.length > 100);
    });

    it('respects backpressure: a client that pauses still gets the whole stream', async function () {
      const big = await startSim({ streamChunkSamples: 48000, streamChunkIntervalMs: 0 });
      const text = 'x'.repeat(200);
      const r = await rawRequest(streamUrl(big, text), { pauseMs: 150 });
      assert.strictEqual(r.complete, true);
      assert.strictEqual(r.body.length, 44 + Math.round(200 * 0.05 * 24000) * 2);
    });
  });

  describe('a stop, and other requests, while a stream runs', function () {
    const text = 'This text is long enough to stream for a while, chunk after chunk after chunk, on and on.';
    const full = () => Math.round(text.length * sim.options.audioSecondsPerChar * 24000) * 2 + 44;

    it('real mode: a client that keeps up holds the server; /api/ready and the stop wait, the stream runs to full length', async function () {
      let stopSent;
      let readySent;
      const r = await rawRequest(streamUrl(sim, text), {
        onChunk: () => {
          stopSent ??= fetch(`${sim.url}/api/stop-generation`, { method: 'PUT' }).then((res) => res.json());
          readySent ??= fetch(`${sim.url}/api/ready`).then((res) => res.text());
        },
      });
      assert.deepStrictEqual(await stopSent, { message: 'Cancelling current TTS generation' });
      assert.strictEqual(await readySent, 'Ready');
      assert.strictEqual(r.complete, true);
      assert.strictEqual(r.body.length, full(), 'full length: the stop came too late');
      const gen = sim.generations[sim.generations.length - 1];
      assert.strictEqual(gen.outcome, 'success');
      for (const route of ['/api/stop-generation', '/api/ready']) {
        const q = sim.requests.find((x) => x.path === route);
        assert.ok(q.startedAt >= gen.endedAt, `${route} was handled only after the stream ended`);
      }
      assert.strictEqual(sim.engine.stopRequested, false, 'a stop after the stream leaves no flag behind');
    });

    it('real mode: a reader that falls behind lets the stop through, and the stream ends early', async function () {
      const big = await startSim({ audioSecondsPerChar: 1, streamChunkSamples: 4800, streamChunkIntervalMs: 0 });
      const fullBig = 44 + 2 * 200 * 24000;
      const result = await new Promise((resolve, reject) => {
        http.get(streamUrl(big, 'x'.repeat(200)), (res) => {
          let bytes = 0;
          let paused = false;
          res.on('data', (c) => {
            bytes += c.length;
            if (paused) return;
            paused = true;
            res.pause();
            fetch(`${big.url}/api/stop-generation`, { method: 'PUT' }).then(() => res.resume(), reject);
          });
          res.on('end', () => resolve({ bytes, complete: res.complete }));
          res.on('error', reject);
        }).on('error', reject);
      });
      assert.strictEqual(result.complete, true, 'a clean, shorter body');
      assert.ok(result.bytes < fullBig, `${result.bytes} < ${fullBig}`);
      assert.strictEqual(big.generations[0].outcome, 'stopped');
    });

    it('documented mode: a stop ends the stream early with a valid, shorter body', async function () {
      sim.mode = 'documented';
      let stopSent;
      const r = await rawRequest(streamUrl(sim, text), {
        onChunk: () => {
          stopSent ??= fetch(`${sim.url}/api/stop-generation`, { method: 'PUT' }).then((res) => res.json());
        },
      });
      assert.deepStrictEqual(await stopSent, { message: 'Cancelling current TTS generation' });
      assert.strictEqual(r.complete, true, 'the chunked body ended properly');
      assert.ok(r.body.length < full(), `${r.body.length} < ${full()}`);
      assert.strictEqual(r.body.readUInt32LE(4), 36);
      assert.strictEqual(sim.generations[sim.generations.length - 1].outcome, 'stopped');
      assert.strictEqual(sim.engine.stopRequested, false, 'the flag is cleared by the stream');
    });

    it('documented mode: other requests are answered while streaming', async function () {
      sim.mode = 'documented';
      let readyDuringStream;
      await rawRequest(streamUrl(sim, text), {
        onChunk: () => {
          readyDuringStream ??= fetch(`${sim.url}/api/ready`).then((res) => res.text());
        },
      });
      assert.strictEqual(await readyDuringStream, 'Ready');
      const ready = sim.requests.find((q) => q.path === '/api/ready');
      assert.ok(ready.finishedAt < sim.generations[0].endedAt, 'ready answered before the stream ended');
    });
  });

  describe('POST /api/tts-generate-streaming', function () {
    it('does not stream: writes <output_file>.wav and answers the name as sent', async function () {
      const r = await postForm(sim, '/api/tts-generate-streaming', { text: 'Hello there', voice: 'female_01.wav', language: 'en', output_file: 'stream_output.wav' });
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.headers.get('content-type'), 'application/json');
      assert.deepStrictEqual(r.json(), { output_file_path: 'stream_output.wav' });
      assert.ok(fs.existsSync(path.join(sim.outputDir, 'stream_output.wav.wav')));
      const file = await request(sim, '/audio/stream_output.wav.wav');
      assert.strictEqual(file.status, 200);
      assert.strictEqual(parseWav(file.body).format, 3);
    });

    it('E1 422 for a missing or empty field', async function () {
      const r = await postForm(sim, '/api/tts-generate-streaming', { text: 'Hello', voice: '', language: 'en' });
      assert.strictEqual(r.status, 422);
      assert.deepStrictEqual(r.json().detail.map((d) => d.loc[1]), ['voice', 'output_file']);
    });

    it('works with Piper, which ignores the language; XTTS fails inside the model for an unknown language', async function () {
      const xtts = await postForm(sim, '/api/tts-generate-streaming', { text: 'Hello', voice: 'female_01.wav', language: 'klingon', output_file: 'k' });
      assert.strictEqual(xtts.status, 500);
      assert.deepStrictEqual(xtts.json(), { detail: 'Audio generation failed' });
      sim.setProfile('piper');
      const piper = await postForm(sim, '/api/tts-generate-streaming', { text: 'Hello', voice: 'en_US-ljspeech-high.onnx', language: 'klingon', output_file: 'k' });
      assert.strictEqual(piper.status, 200);
      assert.strictEqual(parseWav(fs.readFileSync(path.join(sim.outputDir, 'k.wav'))).sampleRate, 22050);
      const ghost = await postForm(sim, '/api/tts-generate-streaming', { text: 'Hello', voice: 'ghost.onnx', language: 'en', output_file: 'k' });
      assert.deepStrictEqual(ghost.json(), { detail: 'Model file not found.' });
    });

    it('undetectable language → E2 400; a path outside the output folder → E2 500', async function () {
      const auto = await postForm(sim, '/api/tts-generate-streaming', { text: '1234', voice: 'female_01.wav', language: 'auto', output_file: 'a' });
      assert.strictEqual(auto.status, 400);
      assert.deepStrictEqual(auto.json(), { detail: 'Could not detect language' });
      const escape = await postForm(sim, '/api/tts-generate-streaming', { text: 'Hello', voice: 'female_01.wav', language: 'en', output_file: '../escape' });
      assert.strictEqual(escape.status, 500);
      assert.deepStrictEqual(escape.json(), { detail: 'Audio streaming failed' });
      assert.ok(!fs.existsSync(path.join(sim.outputDir, '..', 'escape.wav')));
    });
  });
});
