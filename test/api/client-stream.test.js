'use strict';
// AllTalkClient against the simulator: GET /api/tts-generate-streaming as a Readable, into a
// buffer and into a file (header sizes fixed), cut short, aborted, and with a paused consumer.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { Readable } = require('node:stream');
const { AllTalkError, parseWav } = require('../../dist/api');
const { harness, rejectsWith, requestsTo, nextEvent } = require('./helpers');

/** Reads a stream to the end; resolves { data } or { error, data } with the bytes read so far. */
function drain(stream) {
  return new Promise((resolve) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => resolve({ data: Buffer.concat(chunks) }));
    stream.on('error', (error) => resolve({ error, data: Buffer.concat(chunks) }));
    stream.resume();
  });
}

function tmpDir(h) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-stream-'));
  h.cleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('api/client streaming', () => {
  const h = harness();

  describe('streamTts()', () => {
    it('returns a Readable of the WAV as sent: 44-byte header with RIFF 36 and data 0, then s16 PCM', async () => {
      const sim = await h.sim({ profile: 'xtts' });
      const client = h.client(sim);
      const stream = await client.streamTts({ text: 'Hello streaming world', voice: 'female_01.wav', language: 'en' });
      assert.ok(stream instanceof Readable);
      const { data, error } = await drain(stream);
      assert.equal(error, undefined);
      assert.equal(data.toString('ascii', 0, 4), 'RIFF');
      assert.equal(data.readUInt32LE(4), 36, 'RIFF size as received');
      assert.equal(data.toString('ascii', 36, 40), 'data');
      assert.equal(data.readUInt32LE(40), 0, 'data size as received');
      const info = parseWav(data);
      assert.equal(info.sampleRate, 24000);
      assert.equal(info.bitsPerSample, 16);
      assert.equal(info.channels, 1);
      assert.equal(info.dataOffset, 44);
      assert.ok(info.dataLength > 0);
      assert.equal(info.dataLength % 2, 0);
    });

    it('sends every parameter in the query, encoded', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const text = 'Fish & chips? 100% "yes" — naïve/ok #1';
      await drain(await client.streamTts({ text, voice: 'voiceset:narrators', language: 'FR', output_file: 'my stream' }));
      const [req] = requestsTo(sim, '/api/tts-generate-streaming', 'GET');
      assert.deepEqual(req.query, { text, voice: 'voiceset:narrators', language: 'fr', output_file: 'my stream' });
    });

    it('an engine that cannot stream answers 400 {"error"} (E4): http with the server\'s message', async () => {
      const sim = await h.sim({ profile: 'piper' });
      const client = h.client(sim);
      const err = await rejectsWith(client.streamTts({ text: 'Hi', voice: sim.voices[0] }), 'http');
      assert.equal(err.status, 400);
      assert.match(err.serverMessage, /Streaming not supported/);
    });

    it('with the server\'s settings, a non-streaming engine is refused before sending', async () => {
      const sim = await h.sim({ profile: 'piper' });
      const client = h.client(sim);
      const settings = await client.currentSettings();
      sim.clearRequests();
      const err = await rejectsWith(client.streamTts({ text: 'Hi', voice: sim.voices[0] }, { settings }), 'validation');
      assert.match(err.message, /streaming_capable/);
      assert.equal(sim.requests.length, 0);
    });

    it('a stream cut short after the 200 makes the Readable fail with an AllTalkError', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.cutNextStream(3000);
      const stream = await client.streamTts({ text: 'This stream will be cut short, sadly.', voice: 'female_01.wav' });
      const { data, error } = await drain(stream);
      assert.ok(error instanceof AllTalkError, `expected an AllTalkError, got ${error}`);
      assert.equal(error.kind, 'offline');
      assert.match(error.message, /cut the audio stream short after \d+ bytes/);
      assert.ok(data.length <= 3000, `${data.length} bytes`);
    });

    it('a voice the engine does not have cuts the stream after the 200: an error, not a short WAV', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const stream = await client.streamTts({ text: 'Unknown voice here.', voice: 'nobody.wav' });
      const { error } = await drain(stream);
      assert.ok(error instanceof AllTalkError, `expected an AllTalkError, got ${error}`);
    });

    it('aborting the signal mid-stream fails the Readable with "aborted"', async () => {
      const sim = await h.sim({ streamChunkIntervalMs: 5, streamChunkSamples: 1024 });
      const client = h.client(sim);
      const ac = new AbortController();
      const stream = await client.streamTts({ text: 'A fairly long text to keep the stream going for a while.', voice: 'female_01.wav' }, { signal: ac.signal });
      stream.once('data', () => ac.abort());
      const { error } = await drain(stream);
      assert.ok(error instanceof AllTalkError, `expected an AllTalkError, got ${error}`);
      assert.equal(error.kind, 'aborted');
    });

    it('client.close() mid-stream fails the Readable with "aborted"', async () => {
      const sim = await h.sim({ streamChunkIntervalMs: 20, streamChunkSamples: 2400 });
      const client = h.client(sim);
      const stream = await client.streamTts({ text: 'Close me. '.repeat(20), voice: 'female_01.wav' });
      stream.once('data', () => { client.close(); });
      const { error } = await drain(stream);
      assert.ok(error instanceof AllTalkError, `expected an AllTalkError, got ${error}`);
      assert.equal(error.kind, 'aborted');
    });

    it('a signal aborted before the call: aborted, nothing sent', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const ac = new AbortController();
      ac.abort();
      await rejectsWith(client.streamTts({ text: 'Hi', voice: 'female_01.wav' }, { signal: ac.signal }), 'aborted');
      assert.equal(sim.requests.length, 0);
    });

    it('a consumer that destroys the Readable closes the connection: the server stops generating', async () => {
      const sim = await h.sim({ streamChunkIntervalMs: 20, streamChunkSamples: 2400 });
      const client = h.client(sim);
      const ended = nextEvent(sim, 'generation-end');
      const stream = await client.streamTts({ text: 'Go away. '.repeat(20), voice: 'female_01.wav' });
      stream.once('data', () => stream.destroy());
      const gen = await ended;
      assert.equal(gen.outcome, 'cut');
      assert.ok(gen.audioSeconds < sim.options.audioSecondsPerChar * 180, `${gen.audioSeconds} s of audio sent`);
    });

    it('stop-generation ends an XTTS stream early but cleanly (documented mode)', async () => {
      const sim = await h.sim({ streamChunkIntervalMs: 20, streamChunkSamples: 2400, mode: 'documented' });
      const client = h.client(sim);
      const stream = await client.streamTts({ text: 'Stop me. '.repeat(20), voice: 'female_01.wav' });
      stream.once('data', () => { client.stopGeneration().catch(() => {}); });
      const { data, error } = await drain(stream);
      assert.equal(error, undefined, 'a clean end, not an error');
      const [gen] = sim.generations.filter((g) => g.route === '/api/tts-generate-streaming');
      assert.equal(gen.outcome, 'stopped');
      const fullSamples = Math.round(sim.options.audioSecondsPerChar * 180 * 24000);
      assert.ok(data.length < 44 + 2 * fullSamples, `${data.length} bytes, full length ${44 + 2 * fullSamples}`);
      assert.equal(data.length, 44 + 2 * Math.round(gen.audioSeconds * 24000));
      assert.equal(requestsTo(sim, '/api/stop-generation').length, 1);
    });

    it('a paused consumer does not make the client buffer the whole stream (backpressure)', async () => {
      // 9.6 MB of audio, more than twice what the loopback socket buffers hold (about 4 MB): if
      // the client read on while its consumer is paused, the simulator would finish writing and
      // the bytes would pile up in the client.
      const sim = await h.sim({ audioSecondsPerChar: 1, streamChunkSamples: 4800, streamChunkIntervalMs: 0 });
      const client = h.client(sim);
      const ended = nextEvent(sim, 'generation-end');
      const stream = await client.streamTts({ text: 'x'.repeat(200), voice: 'female_01.wav' });
      stream.pause();
      // A window in which something must NOT happen (the simulator finishing its writes), so it
      // cannot be an awaited event; loopback moves 9.6 MB in far less than this.
      const finished = await Promise.race([
        ended.then(() => true),
        new Promise((resolve) => { setTimeout(resolve, 500, false).unref(); }),
      ]);
      const buffered = stream.readableLength + stream.writableLength;
      assert.equal(finished, false, 'the simulator could write the whole stream into a paused consumer');
      assert.ok(buffered < 1024 * 1024, `${buffered} bytes buffered in the client for a paused consumer`);
      assert.equal(requestsTo(sim, '/api/tts-generate-streaming')[0].finishedAt, undefined, 'the response is still being written');
      // Resuming delivers everything, nothing lost.
      const { data, error } = await drain(stream);
      assert.equal(error, undefined);
      await ended;
      assert.equal(parseWav(data).dataLength, 200 * 24000 * 2);
    });
  });

  describe('streamTtsToBuffer()', () => {
    it('collects the WAV with the header sizes written in', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const buf = await client.streamTtsToBuffer({ text: 'Buffer me, please.', voice: 'male_01.wav' });
      const info = parseWav(buf);
      assert.equal(info.declaredDataLength, info.dataLength);
      assert.equal(info.dataLength, buf.length - 44);
      assert.equal(buf.readUInt32LE(4), buf.length - 8);
      assert.ok(info.dataLength > 0);
    });

    it('rejects with an AllTalkError when the stream is cut short', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.cutNextStream(100);
      const err = await rejectsWith(client.streamTtsToBuffer({ text: 'Cut me.', voice: 'male_01.wav' }), 'offline');
      assert.match(err.message, /cut the audio stream short/);
    });
  });

  describe('streamTtsToFile()', () => {
    it('writes the file with fixed header sizes, returns its size, leaves no .part', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const dir = tmpDir(h);
      const file = path.join(dir, 'out.wav');
      const size = await client.streamTtsToFile({ text: 'File me, please, right now.', voice: 'female_03.wav' }, file);
      const buf = fs.readFileSync(file);
      assert.equal(size, buf.length);
      assert.equal(buf.readUInt32LE(4), buf.length - 8, 'RIFF size = file size - 8');
      const info = parseWav(buf);
      assert.equal(info.declaredDataLength, info.dataLength);
      assert.equal(info.dataLength, buf.length - info.dataOffset);
      assert.deepEqual(fs.readdirSync(dir), ['out.wav']);
    });

    it('the same audio as streamTtsToBuffer', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const dir = tmpDir(h);
      const params = { text: 'Same bytes twice.', voice: 'female_01.wav' };
      const buf = await client.streamTtsToBuffer(params);
      await client.streamTtsToFile(params, path.join(dir, 'a.wav'));
      assert.ok(fs.readFileSync(path.join(dir, 'a.wav')).equals(buf));
    });

    it('a stream cut short rejects and leaves neither the file nor a .part', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const dir = tmpDir(h);
      sim.cutNextStream(2000);
      const err = await rejectsWith(client.streamTtsToFile({ text: 'Cut me short, please.', voice: 'female_01.wav' }, path.join(dir, 'cut.wav')), 'offline');
      assert.match(err.message, /cut the audio stream short/);
      assert.deepEqual(fs.readdirSync(dir), []);
    });
  });
});
