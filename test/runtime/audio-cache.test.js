'use strict';
// The audio cache on disk: ids from the parts (key order does not matter, any change does),
// entries that survive a restart, limits on size and age with the least recently used evicted
// first, and whatever is corrupt, cut short or half-written is a miss, never an error.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { AudioCache } = require('../../dist/runtime/audio-cache');
const { wavHeader } = require('../../dist/api/wav');

const WAV = {};
/** A valid WAV whose samples are the bytes of `text` (or `n` bytes of `fill`): the cache keeps only audio. */
function wav(text, fill = 0) {
  const body = typeof text === 'number' ? Buffer.alloc(text, fill) : Buffer.from(text);
  return Buffer.concat([wavHeader({ sampleRate: 24000, channels: 1, encoding: 's16', dataLength: body.length }), body]);
}
/** The text a wav() holds. */
const textOf = (data) => data.subarray(44).toString();
/** The size of wav(n). */
const size = (n) => 44 + n;

describe('AudioCache', function () {
  let dir;
  let cache;
  const open = (opts = {}) => new AudioCache({ dir, maxBytes: 1_000_000, maxAgeMs: 0, ...opts });

  beforeEach(function () {
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-cache-test-')), 'cfg');
    cache = open();
  });

  afterEach(async function () {
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('the same parts give the same id in any key order; any change gives another', async function () {
    const a = await cache.idFor({ text: 'hello', form: { speed: '1', voice: 'x.wav' }, model: 'm1' });
    assert.match(a, /^[0-9a-f]{40}$/);
    assert.equal(await cache.idFor({ model: 'm1', form: { voice: 'x.wav', speed: '1' }, text: 'hello' }), a);
    for (const changed of [
      { text: 'hello!', form: { speed: '1', voice: 'x.wav' }, model: 'm1' },
      { text: 'hello', form: { speed: '1.1', voice: 'x.wav' }, model: 'm1' },
      { text: 'hello', form: { speed: '1', voice: 'x.wav', pitch: '1' }, model: 'm1' },
      { text: 'hello', form: { speed: '1', voice: 'x.wav' }, model: 'm2' },
    ]) assert.notEqual(await cache.idFor(changed), a, JSON.stringify(changed));
  });

  it('ids depend on a secret of the folder: another cache gives other ids, a restart the same', async function () {
    const id = await cache.idFor({ text: 'x' });
    const other = new AudioCache({ dir: `${dir}-other`, maxBytes: 1000, maxAgeMs: 0 });
    assert.notEqual(await other.idFor({ text: 'x' }), id, 'not guessable from the text');
    assert.equal(await open().idFor({ text: 'x' }), id, 'stable across restarts');
    assert.equal((fs.statSync(path.join(dir, 'secret')).mode & 0o077), 0, 'the secret is readable by its owner only');
  });

  it('put then read gives the same bytes and description; a restart still has it', async function () {
    const id = await cache.idFor({ text: 'kept' });
    const audio = wav('data-kept');
    assert.equal(await cache.put(id, { extra: { url: 'http://x/a.wav' } }, audio), true);
    const hit = await cache.read(id);
    assert.deepEqual(hit.data, audio);
    assert.equal(hit.entry.contentType, 'audio/wav');
    assert.deepEqual(hit.entry.extra, { url: 'http://x/a.wav' });
    assert.deepEqual(cache.stats(), { entries: 1, bytes: audio.length, maxBytes: 1_000_000 });
    const again = open();
    assert.deepEqual((await again.read(id)).data, audio);
    assert.equal(await again.read(await again.idFor({ text: 'other' })), undefined, 'a miss is undefined');
  });

  it('evicts the least recently used first when the size limit is passed', async function () {
    cache = open({ maxBytes: 3 * size(10) });
    const ids = [];
    for (const n of [1, 2, 3]) {
      ids.push(await cache.idFor({ n }));
      await cache.put(ids[n - 1], WAV, wav(10, n));
    }
    assert.ok(await cache.read(ids[0]), 'using the first makes the second the least recently used');
    await cache.put(await cache.idFor({ n: 4 }), WAV, wav(10, 4));
    assert.equal(await cache.read(ids[1]), undefined, 'the least recently used went');
    assert.ok(await cache.read(ids[0]));
    assert.ok(await cache.read(ids[2]));
    assert.equal(cache.stats().bytes, 3 * size(10));
    assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.wav')).length, 3, 'its files went too');
  });

  it('the least-recently-used order survives a restart (it is kept in the files\' times)', async function () {
    cache = open({ maxBytes: 3 * size(10) });
    const a = await cache.idFor({ n: 'a' });
    const b = await cache.idFor({ n: 'b' });
    await cache.put(a, WAV, wav(10));
    await cache.put(b, WAV, wav(10));
    const past = new Date(Date.now() - 60_000);
    fs.utimesSync(path.join(dir, `${b}.wav`), past, past);
    const restarted = open({ maxBytes: 3 * size(10) });
    await restarted.put(await restarted.idFor({ n: 'c' }), WAV, wav(10));
    await restarted.put(await restarted.idFor({ n: 'd' }), WAV, wav(10));
    assert.equal(await restarted.read(b), undefined, 'b was used longest ago');
    assert.ok(await restarted.read(a));
  });

  it('entries older than the age limit are misses and are removed', async function () {
    cache = open({ maxAgeMs: 1000 });
    const id = await cache.idFor({ old: true });
    await cache.put(id, WAV, wav('old audio'));
    const file = path.join(dir, `${id}.json`);
    const meta = JSON.parse(fs.readFileSync(file, 'utf8'));
    meta.createdAt -= 5000;
    fs.writeFileSync(file, JSON.stringify(meta));
    const restarted = open({ maxAgeMs: 1000 });
    assert.equal(await restarted.read(id), undefined);
    await restarted.ready;
    assert.deepEqual(fs.readdirSync(dir).sort(), ['secret']);
  });

  it('a corrupt, cut or missing file is a miss, never an error, and is cleaned up', async function () {
    const ids = {};
    for (const what of ['cut', 'missing', 'bad-json', 'no-json']) {
      ids[what] = await cache.idFor({ what });
      await cache.put(ids[what], WAV, wav(`audio for ${what}`));
    }
    fs.truncateSync(path.join(dir, `${ids.cut}.wav`), 3);
    fs.rmSync(path.join(dir, `${ids.missing}.wav`));
    assert.equal(await cache.read(ids.cut), undefined, 'cut short while running');
    assert.equal(await cache.read(ids.missing), undefined, 'deleted while running');
    fs.writeFileSync(path.join(dir, `${ids['bad-json']}.json`), '{not json');
    fs.rmSync(path.join(dir, `${ids['no-json']}.json`));
    fs.writeFileSync(path.join(dir, '.tmp-0123456789abcdef'), 'half written');
    const past = new Date(Date.now() - 2 * 3600_000);
    fs.utimesSync(path.join(dir, '.tmp-0123456789abcdef'), past, past);
    // Another process's write in progress, and a file that is not the cache's: both stay.
    fs.writeFileSync(path.join(dir, '.tmp-fedcba9876543210'), 'being written');
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not ours');
    const restarted = open();
    for (const id of Object.values(ids)) assert.equal(await restarted.read(id), undefined);
    await restarted.ready;
    assert.deepEqual(fs.readdirSync(dir).sort(), ['.tmp-fedcba9876543210', 'notes.txt', 'secret'], 'its own leftovers removed at start-up, nothing else');
    assert.deepEqual(restarted.stats(), { entries: 0, bytes: 0, maxBytes: 1_000_000 });
  });

  it('a writer keeps a stream as it comes; a discarded or empty one leaves nothing', async function () {
    const id = await cache.idFor({ stream: 1 });
    const w = cache.writer(id, WAV);
    const whole = wav('rest');
    await w.write(whole.subarray(0, 10));
    await w.write(whole.subarray(10));
    assert.equal(await w.commit(async (file) => fs.appendFileSync(file, '!')), true);
    assert.equal(textOf((await cache.read(id)).data), 'rest!', 'the finish step ran on the file before it was put in place');
    const gone = cache.writer(await cache.idFor({ stream: 2 }), WAV);
    await gone.write(Buffer.from('partial'));
    await gone.discard();
    assert.equal(await cache.writer(await cache.idFor({ stream: 3 }), WAV).commit(), false, 'nothing written, nothing kept');
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.tmp-')), []);
    assert.equal(cache.stats().entries, 1);
  });

  it('audio larger than the whole cache is not kept; maxBytes 0 keeps nothing', async function () {
    cache = open({ maxBytes: size(8) });
    assert.equal(await cache.put(await cache.idFor({ big: 1 }), WAV, wav(10)), false);
    const off = new AudioCache({ dir: `${dir}-off`, maxBytes: 0, maxAgeMs: 0 });
    assert.equal(off.enabled, false);
    assert.equal(await off.put(await off.idFor({ x: 1 }), WAV, wav(2)), false);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => !f.startsWith('secret')), []);
  });

  it('clear removes everything and says how much; close(true) removes the folder', async function () {
    for (const n of [1, 2]) await cache.put(await cache.idFor({ n }), WAV, wav(6));
    assert.deepEqual(await cache.clear(), { entries: 2, bytes: 2 * size(6) });
    assert.deepEqual(cache.stats(), { entries: 0, bytes: 0, maxBytes: 1_000_000 });
    await cache.close(true);
    assert.equal(fs.existsSync(dir), false);
  });

  it('refuses ids and extensions that are not its own (no path can be smuggled in)', async function () {
    assert.throws(() => cache.writer('../../etc/passwd', WAV), RangeError);
    assert.equal(cache.lookup('../secret'), undefined);
    assert.equal(await cache.file('secret'), undefined);
  });

  it('a large folder is read in the background: new entries work at once, nothing written meanwhile is lost', async function () {
    await cache.ready;
    const many = 3000;
    const ids = [];
    for (let i = 0; i < many; i++) {
      const id = await cache.idFor({ n: i });
      ids.push(id);
      await cache.put(id, WAV, wav(`old ${i}`));
    }
    await cache.close();
    const again = open();
    const fresh = await again.idFor({ n: 'new' });
    assert.equal(again.stats().entries < many, true, 'the folder is still being read');
    // Written while the folder is read: kept, and not taken for a leftover.
    assert.equal(await again.put(fresh, WAV, wav('new entry')), true);
    assert.equal(await again.put(ids[0], WAV, wav('replaced')), true);
    assert.equal(textOf((await again.read(fresh)).data), 'new entry');
    assert.equal(textOf((await again.read(ids[5])).data), 'old 5', 'an entry on disk is found before the whole folder is read');
    await again.ready;
    assert.equal(again.stats().entries, many + 1);
    assert.equal(textOf((await again.read(fresh)).data), 'new entry');
    assert.equal(textOf((await again.read(ids[0])).data), 'replaced', 'the newer of the two is kept');
    assert.equal(textOf((await again.read(ids[many - 1])).data), `old ${many - 1}`);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.tmp-')), []);
    await again.close();
  });

  it('concurrent writes of one id keep the first whole entry (a speaker may be playing it) unless told to replace it', async function () {
    const id = await cache.idFor({ text: 'twice' });
    const a = cache.writer(id, WAV);
    const b = cache.writer(id, WAV);
    await a.write(wav('first take'));
    await b.write(wav('second, longer take'));
    assert.equal(await a.commit(), true);
    assert.equal(await b.commit(), true, 'the entry is there');
    assert.equal(textOf((await cache.read(id)).data), 'first take');
    assert.equal(await cache.put(id, WAV, wav('a fresh take'), { replace: true }), true);
    assert.equal(textOf((await cache.read(id)).data), 'a fresh take');
    assert.equal(cache.stats().bytes, size('a fresh take'.length));
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.tmp-')), []);
  });

  it('a write begun before clear() is not kept after it', async function () {
    const id = await cache.idFor({ text: 'old voice map' });
    const w = cache.writer(id, WAV);
    await w.write(wav('made before the clear'));
    await cache.clear();
    assert.equal(await w.commit(), false);
    assert.equal(await cache.read(id), undefined);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['secret']);
  });
});
