'use strict';
// AllTalkClient against the simulator: generation (/api/tts-generate), preview, OpenAI speech,
// the OpenAI voice map and audio downloads (always from the configured origin).
const assert = require('node:assert/strict');
const http = require('node:http');
const { parseWav, decodeWav, WAVE_FORMAT_IEEE_FLOAT, OPENAI_VOICES } = require('../../dist/api');
const { harness, rejectsWith, requestsTo } = require('./helpers');

describe('api/client generation and audio', () => {
  const h = harness();

  describe('ttsGenerate()', () => {
    it('sends form-urlencoded fields: only those set, booleans lowercase, numbers as strings', async () => {
      const sim = await h.sim({ profile: 'xtts' });
      const client = h.client(sim);
      await client.ttsGenerate({
        text_input: 'Hello & welcome, "friend"!',
        character_voice_gen: 'female_02.wav',
        language: 'EN',
        output_file_name: 'greeting_1',
        output_file_timestamp: false,
        autoplay: false,
        narrator_enabled: false,
        speed: 1.5,
        temperature: 0.7,
        repetition_penalty: '12,5',
        rvccharacter_pitch: 0,
        rvccharacter_voice_gen: 'Disabled',
        pitch: undefined,
        narrator_voice_gen: '',
        text_not_inside: null,
      });
      const reqs = requestsTo(sim, '/api/tts-generate', 'POST');
      assert.equal(reqs.length, 1);
      assert.match(reqs[0].headers['content-type'], /^application\/x-www-form-urlencoded/);
      assert.deepEqual(reqs[0].form, {
        text_input: 'Hello & welcome, "friend"!',
        character_voice_gen: 'female_02.wav',
        language: 'en',
        output_file_name: 'greeting_1',
        output_file_timestamp: 'false',
        autoplay: 'false',
        narrator_enabled: 'false',
        speed: '1.5',
        temperature: '0.7',
        repetition_penalty: '12.5',
        rvccharacter_pitch: '0',
        rvccharacter_voice_gen: 'Disabled',
      });
    });

    it('a minimal request sends text_input only (the server uses its defaults)', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      await client.ttsGenerate({ text_input: 'Hi there' });
      assert.deepEqual(requestsTo(sim, '/api/tts-generate')[0].form, { text_input: 'Hi there' });
    });

    it('returns url and cacheUrl absolute on the client\'s origin, and the audio downloads', async () => {
      const sim = await h.sim({ profile: 'xtts' });
      const client = h.client(sim);
      const origin = `http://127.0.0.1:${sim.port}`;
      assert.equal(client.origin, origin);
      const res = await client.ttsGenerate({ text_input: 'Hello world', output_file_name: 'hw' });
      assert.equal(res.status, 'generate-success');
      assert.match(res.output_file_url, /^\/audio\/hw_.*\.wav$/);
      assert.match(res.output_cache_url, /^\/audiocache\/hw_.*\.wav$/);
      assert.equal(res.url, `${origin}${res.output_file_url}`);
      assert.equal(res.cacheUrl, `${origin}${res.output_cache_url}`);
      assert.ok(res.output_file_path.length > 0);
      const audio = await client.fetchAudio(res.url);
      assert.equal(audio.url, res.url);
      assert.match(audio.contentType, /^audio\//);
      const info = parseWav(audio.data);
      // XTTS writes 32-bit float with a fact chunk: the audio does not start at byte 44
      assert.equal(info.format, WAVE_FORMAT_IEEE_FLOAT);
      assert.notEqual(info.dataOffset, 44);
      assert.ok(info.dataLength > 0);
      assert.equal(info.declaredDataLength, info.dataLength);
      const { samples } = decodeWav(audio.data);
      assert.ok(samples.some((s) => s !== 0), 'not silence');
    });

    it('piper files (16-bit PCM at 22.05 kHz) download too', async () => {
      const sim = await h.sim({ profile: 'piper' });
      const client = h.client(sim);
      const res = await client.ttsGenerate({ text_input: 'Hello world', character_voice_gen: sim.voices[0] });
      const info = parseWav((await client.fetchAudio(res.output_file_url)).data);
      assert.equal(info.bitsPerSample, 16);
      assert.equal(info.sampleRate, 22050);
    });

    it('with the legacy API, absolute URLs naming another host are rebased on the configured origin', async () => {
      const sim = await h.sim({ legacyApi: { ip: '10.254.254.254' } });
      const client = h.client(sim);
      const res = await client.ttsGenerate({ text_input: 'Legacy hello', output_file_name: 'legacy' });
      assert.match(res.output_file_url, /^http:\/\/10\.254\.254\.254:\d+\/audio\/legacy_.*\.wav$/);
      const path = new URL(res.output_file_url).pathname;
      assert.equal(res.url, `${client.origin}${path}`);
      assert.equal(res.cacheUrl, `${client.origin}${new URL(res.output_cache_url).pathname}`);
      const audio = await client.fetchAudio(res.output_file_url);
      assert.ok(parseWav(audio.data).dataLength > 0);
      assert.equal(requestsTo(sim, path, 'GET').length, 1, 'the download reached the simulator');
    });

    it('two generations in a row get distinct files (timestamped names)', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const a = await client.ttsGenerate({ text_input: 'One', output_file_name: 'same' });
      const b = await client.ttsGenerate({ text_input: 'Two', output_file_name: 'same' });
      assert.notEqual(a.url, b.url);
    });
  });

  describe('previewVoice()', () => {
    it('posts to /api/previewvoice/ (with the slash) and returns a cache-busted absolute URL', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const res = await client.previewVoice({ voice: 'male_01.wav' });
      const reqs = requestsTo(sim, '/api/previewvoice/', 'POST');
      assert.equal(reqs.length, 1, `requests: ${sim.requests.map((r) => r.path).join(', ')}`);
      assert.deepEqual(reqs[0].form, { voice: 'male_01.wav' });
      assert.equal(requestsTo(sim, '/api/previewvoice').length, 0, 'no redirect was needed');
      assert.equal(res.status, 'generate-success');
      assert.match(res.output_file_url, /^\/audio\/api_preview_voice\.wav$/);
      assert.match(res.url, new RegExp(`^${client.origin.replace(/\./g, '\\.')}/audio/api_preview_voice\\.wav\\?t=\\d+$`));
      const audio = await client.fetchAudio(res.url);
      assert.ok(parseWav(audio.data).dataLength > 0);
      const [download] = requestsTo(sim, '/audio/api_preview_voice.wav', 'GET');
      assert.ok(download.query.t, 'the cache-busting query reached the server');
    });

    it('sends the RVC voice and pitch when given', async () => {
      const sim = await h.sim({ rvcEnabled: true });
      const client = h.client(sim);
      const rvc = sim.rvcVoices.find((v) => v !== 'Disabled');
      await client.previewVoice({ voice: 'female_01.wav', rvccharacter_voice_gen: rvc, rvccharacter_pitch: -4 });
      assert.deepEqual(requestsTo(sim, '/api/previewvoice/')[0].form, {
        voice: 'female_01.wav', rvccharacter_voice_gen: rvc, rvccharacter_pitch: '-4',
      });
    });

    it('refuses a missing voice or an RVC pitch outside -24..24 before sending', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      assert.equal((await rejectsWith(client.previewVoice({ voice: '' }), 'validation')).field, 'voice');
      assert.equal((await rejectsWith(client.previewVoice({}), 'validation')).field, 'voice');
      const pitch = await rejectsWith(client.previewVoice({ voice: 'female_01.wav', rvccharacter_pitch: 25 }), 'validation');
      assert.equal(pitch.field, 'rvccharacter_pitch');
      assert.equal(sim.requests.length, 0);
    });

    it('an unknown piper voice (E2 500 {"detail"}) is an http error with the server\'s message', async () => {
      const sim = await h.sim({ profile: 'piper' });
      const client = h.client(sim);
      const err = await rejectsWith(client.previewVoice({ voice: 'nobody.onnx' }), 'http');
      assert.equal(err.status, 500);
      assert.equal(err.serverMessage, 'Model file not found.');
    });
  });

  describe('openaiSpeech()', () => {
    it('wav: POST /v1/audio/speech with a JSON body, audio/wav back', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const res = await client.openaiSpeech({ input: 'Hello from OpenAI', voice: 'nova' });
      assert.equal(res.format, 'wav');
      assert.match(res.contentType, /^audio\/wav/);
      assert.ok(parseWav(res.audio).dataLength > 0);
      const [req] = requestsTo(sim, '/v1/audio/speech', 'POST');
      assert.match(req.headers['content-type'], /^application\/json/);
      assert.deepEqual(req.json, { model: 'tts-1', input: 'Hello from OpenAI', voice: 'nova', response_format: 'wav', speed: 1 });
    });

    it('mp3: the server\'s own content type (audio/mp3) and bytes that are not a WAV', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const res = await client.openaiSpeech({ model: 'tts-1-hd', input: 'Hello', voice: 'onyx', response_format: 'mp3', speed: 1.25 });
      assert.equal(res.format, 'mp3');
      assert.match(res.contentType, /^audio\/mp3/);
      assert.ok(res.audio.length > 0);
      assert.notEqual(res.audio.toString('ascii', 0, 4), 'RIFF');
      assert.deepEqual(requestsTo(sim, '/v1/audio/speech')[0].json,
        { model: 'tts-1-hd', input: 'Hello', voice: 'onyx', response_format: 'mp3', speed: 1.25 });
    });

    it('a bare 500 (how the real server reports every mistake here) gets an explanation', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.failNext('/v1/audio/speech', 1, { status: 500, body: 'Internal Server Error', contentType: 'text/plain; charset=utf-8' });
      const err = await rejectsWith(client.openaiSpeech({ input: 'Hi', voice: 'alloy' }), 'http');
      assert.equal(err.status, 500);
      assert.match(err.message, /ffmpeg/);
      assert.equal(requestsTo(sim, '/v1/audio/speech').length, 1, 'generation is not retried after a 500');
    });

    it('a 200 that is not audio is an invalid response', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      sim.failNext('/v1/audio/speech', 1, { status: 200, body: '{"ok":true}', contentType: 'application/json' });
      const err = await rejectsWith(client.openaiSpeech({ input: 'Hi', voice: 'alloy' }), 'invalid-response');
      assert.match(err.message, /application\/json/);
    });
  });

  describe('setOpenAiVoiceMap()', () => {
    it('PUT /api/openai-voicemap with all six voices', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const map = {
        alloy: 'female_01.wav', echo: 'male_01.wav', fable: 'female_02.wav',
        nova: 'female_03.wav', onyx: 'male_02.wav', shimmer: 'male_03.wav',
      };
      const res = await client.setOpenAiVoiceMap(map, { voices: sim.voices });
      assert.equal(res.message, 'OpenAI voice mappings updated successfully');
      const [req] = requestsTo(sim, '/api/openai-voicemap', 'PUT');
      assert.deepEqual(req.json, map);
      assert.deepEqual(Object.keys(req.json).sort(), [...OPENAI_VOICES].sort());
      assert.match(req.headers['content-type'], /^application\/json/);
    });

    it('refuses an incomplete map or an unknown voice before sending', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const map = { alloy: 'a', echo: 'b', fable: 'c', nova: 'd', onyx: 'e' };
      assert.equal((await rejectsWith(client.setOpenAiVoiceMap(map), 'validation')).field, 'shimmer');
      const full = { ...map, shimmer: 'f' };
      assert.equal((await rejectsWith(client.setOpenAiVoiceMap(full, { voices: sim.voices }), 'validation')).field, 'alloy');
      assert.equal(sim.requests.length, 0);
    });
  });

  describe('fetchAudio()', () => {
    /** A local server that must never be contacted; counts connections. */
    async function foreignServer() {
      const seen = { connections: 0 };
      const srv = http.createServer((req, res) => res.end('foreign'));
      srv.on('connection', () => { seen.connections++; });
      await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
      h.cleanup(() => new Promise((resolve) => srv.close(resolve)));
      return { port: srv.address().port, seen };
    }

    it('relative and absolute URLs from any host are fetched from the configured origin only', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const foreign = await foreignServer();
      const res = await client.ttsGenerate({ text_input: 'Fetch me', output_file_name: 'fetchme' });
      const path = res.output_file_url;
      const expected = (await client.fetchAudio(path)).data;
      for (const url of [
        path.slice(1), // "audio/…" without the leading slash
        res.url,
        `http://203.0.113.9:1${path}`, // unroutable test address: contacting it would hang or fail
        `https://203.0.113.9${path}`,
        `http://127.0.0.1:${foreign.port}${path}`,
        `//127.0.0.1:${foreign.port}${path}`,
      ]) {
        sim.clearRequests();
        const audio = await client.fetchAudio(url);
        assert.ok(audio.data.equals(expected), url);
        assert.equal(audio.url, `${client.origin}${path}`, url);
        const reqs = requestsTo(sim, path, 'GET');
        assert.equal(reqs.length, 1, `${url} reached the simulator`);
      }
      assert.equal(foreign.seen.connections, 0, 'the other host was never contacted');
    });

    it('the query of an absolute URL is kept', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const res = await client.ttsGenerate({ text_input: 'Query' });
      await client.fetchAudio(`http://203.0.113.9:1${res.output_file_url}?t=123`);
      assert.equal(requestsTo(sim, res.output_file_url)[0].query.t, '123');
    });

    it('a missing file (404) is an http error that says what happened', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const err = await rejectsWith(client.fetchAudio('http://203.0.113.9:1/audio/missing.wav'), 'http');
      assert.equal(err.status, 404);
      assert.equal(err.serverMessage, 'File not found');
      assert.match(err.message, /\/audio\/missing\.wav/);
      assert.ok(err.message.includes(client.origin));
      assert.equal(requestsTo(sim, '/audio/missing.wav').length, 1, 'a 404 is not retried');
    });

    it('/audiocache is served as audio/wav', async () => {
      const sim = await h.sim();
      const client = h.client(sim);
      const res = await client.ttsGenerate({ text_input: 'Cache' });
      const audio = await client.fetchAudio(res.cacheUrl);
      assert.match(audio.contentType, /^audio\/wav/);
      assert.ok(parseWav(audio.data).dataLength > 0);
    });
  });
});
