'use strict';
// Case generators for fuzz.test.js: odd Node-RED messages from a seeded PRNG. Every case is
// { index, target, desc, build() }; build() makes a fresh message each time it is called.

/** mulberry32: a small, fast, deterministic PRNG; returns floats in [0, 1). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return function next() {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const boom = (what) => () => {
  throw new Error(`fuzz: ${what} getter throws`);
};
/** A Proxy on which every operation throws (typeof still works). */
const hostileProxy = (target = {}) => new Proxy(target, Object.fromEntries(
  ['get', 'set', 'has', 'ownKeys', 'getPrototypeOf', 'getOwnPropertyDescriptor', 'defineProperty', 'deleteProperty', 'apply']
    .map((trap) => [trap, () => { throw new Error(`fuzz: proxy ${trap} trap`); }])));
const revokedProxy = () => {
  const r = Proxy.revocable({}, {});
  r.revoke();
  return r.proxy;
};
const handledRejection = () => {
  const p = Promise.reject(new Error('fuzz: rejected payload'));
  p.catch(() => undefined);
  return p;
};
const sparse = () => {
  const a = [];
  a[5] = 'hi';
  return a;
};

const S2000 = 'a'.repeat(2000);
const S2001 = 'a'.repeat(2001);
const S100K = 'Hello world. '.repeat(7693).slice(0, 100000);
const LONG_SENTENCES = Array.from({ length: 4 }, (_, i) => `This is sentence number ${i + 1} of a longer announcement for the fuzz test.`).join(' ');

/** Odd values for msg.payload (and, picked at random, for other fields). */
const ODD_VALUES = [
  ['undefined', () => undefined], ['null', () => null], ['true', () => true], ['false', () => false],
  ['0', () => 0], ['-0', () => -0], ['NaN', () => NaN], ['Infinity', () => Infinity], ['-Infinity', () => -Infinity],
  ['MAX_VALUE', () => Number.MAX_VALUE], ['1e21', () => 1e21], ['MIN_VALUE', () => Number.MIN_VALUE], ['2^53+1', () => 2 ** 53 + 1],
  ['BigInt', () => 10n ** 30n], ['Symbol', () => Symbol('fuzz')], ['function', () => function payload() { return 'hi'; }],
  ['arrow', () => () => 'hi'], ['class', () => class Fuzz {}],
  ['empty string', () => ''], ['white space', () => ' \t\n\r '], ['1 char', () => 'a'], ['2000 chars', () => S2000],
  ['2001 chars', () => S2001], ['100000 chars', () => S100K], ['4 sentences', () => LONG_SENTENCES], ['NUL', () => '\0'],
  ['text with NUL', () => 'a\0b'], ['CRLF', () => 'line one\r\nline two'], ['control chars', () => 'x\u0001\u0007\u001b[31m\u007f\u0085'],
  ['lone high surrogate', () => 'a\ud800b'], ['lone low surrogate', () => '\udc00'], ['emoji', () => '👋🏽 👨‍👩‍👧 🇩🇪'],
  ['RTL', () => 'مرحبا بالعالم \u202eevil\u202c'], ['HTML', () => '<script>alert(1)</script><b>bold</b> &amp; &#0;'],
  ['Buffer', () => Buffer.from('hi')], ['empty Buffer', () => Buffer.alloc(0)], ['Uint8Array', () => new Uint8Array([104, 105])],
  ['Float64Array', () => new Float64Array(3)], ['empty array', () => []], ['nested array', () => [1, [2, [3, ['deep']]]]],
  ['sparse array', sparse], ['Date', () => new Date(0)], ['invalid Date', () => new Date(NaN)], ['Map', () => new Map([['a', 1]])],
  ['Set', () => new Set(['a'])], ['RegExp', () => /fuzz/g], ['Error', () => new Error('fuzz error')], ['TypeError', () => new TypeError('fuzz')],
  ['resolved Promise', () => Promise.resolve('hello')], ['pending Promise', () => new Promise(() => undefined)],
  ['rejected Promise', handledRejection], ['thenable', () => ({ then(resolve) { resolve('hi'); } })],
  ['never-settling thenable', () => ({ then() {} })], ['thenable that throws', () => ({ then: boom('then') })],
  ['null-prototype object', () => Object.create(null)], ['object', () => ({ text: 'hi' })],
  ['throwing toString', () => ({ toString: boom('toString') })], ['throwing valueOf+toString', () => ({ valueOf: boom('valueOf'), toString: boom('toString') })],
  ['throwing toPrimitive', () => ({ [Symbol.toPrimitive]: boom('toPrimitive') })], ['hostile Proxy', () => hostileProxy()],
  ['hostile function Proxy', () => hostileProxy(function f() {})], ['revoked Proxy', revokedProxy],
  ['transparent Proxy of a string object', () => new Proxy(new String('hi'), {})], ['String object', () => new String('hello')],
];

const VALID_TEXTS = ['Hello there.', 'The washing machine is done.', 'Grüß Gott, 你好 👋', 'ok', 'Someone is at the door.'];

/** Odd msg.alltalk values. */
const ALLTALK = [
  ['null', () => null], ['a number', () => 5], ['a string', () => 'url'], ['an array', () => ['url']],
  ['null-prototype', () => Object.create(null)], ['{output:{}}', () => ({ output: {} })],
  ['{output:null-proto}', () => ({ output: Object.create(null) })], ['{output:FILE}', () => ({ output: 'FILE' })],
  ['{output:stream}', () => ({ output: 'stream' })], ['{output:5}', () => ({ output: 5 })], ['{output:" Url "}', () => ({ output: ' Url ' })],
  ['{speed:fast}', () => ({ speed: 'fast' })], ['{speed:-1}', () => ({ speed: -1 })], ['{speed:1e308}', () => ({ speed: 1e308 })],
  ['{speed:"1,5"}', () => ({ speed: '1,5' })], ['{voice:[x]}', () => ({ voice: ['x'] })], ['{language:{}}', () => ({ language: {} })],
  ['{character_voice_gen:<bad>}', () => ({ character_voice_gen: '<bad>' })], ['unknown fields', () => ({ foo: 1, bar: { baz: [] }, request: 'x' })],
  ['own __proto__ key', () => JSON.parse('{"__proto__":{"output":"url"},"speed":1}')],
  ['inherited output', () => Object.create({ output: 'url' })],
  ['getter throws on output', () => Object.defineProperty({}, 'output', { get: boom('alltalk.output'), enumerable: true })],
  ['getter throws on speed', () => Object.defineProperty({}, 'speed', { get: boom('alltalk.speed'), enumerable: true })],
  ['hostile Proxy', () => hostileProxy()], ['revoked Proxy', revokedProxy],
  ['{temperature:Symbol}', () => ({ temperature: Symbol('t') })], ['{pitch:BigInt}', () => ({ pitch: 2n })],
  ['{speed:hostile Proxy}', () => ({ speed: hostileProxy() })], ['{language:revoked Proxy}', () => ({ language: revokedProxy() })],
  ['{output_file_name:throwing toString}', () => ({ output_file_name: { toString: boom('toString') } })],
  ['{narrator_enabled:[]}', () => ({ narrator_enabled: [] })], ['{autoplay:NaN}', () => ({ autoplay: NaN })],
];

/** Odd short forms msg.voice / msg.language / msg.speed. */
const SHORT_FORMS = [
  ['voice=[x]', (m) => (m.voice = ['x'])], ['voice=<bad>', (m) => (m.voice = '<bad>')], ['voice=5', (m) => (m.voice = 5)],
  ['voice=../../etc/passwd', (m) => (m.voice = '../../etc/passwd')], ['language={}', (m) => (m.language = {})],
  ['language=klingon', (m) => (m.language = 'klingon')], ['speed=fast', (m) => (m.speed = 'fast')], ['speed=-1', (m) => (m.speed = -1)],
  ['speed=1e308', (m) => (m.speed = 1e308)], ['speed="1,5"', (m) => (m.speed = '1,5')], ['speed=NaN', (m) => (m.speed = NaN)],
  ['speed=Symbol', (m) => (m.speed = Symbol('s'))], ['speed=hostile Proxy', (m) => (m.speed = hostileProxy())],
  ['voice=revoked Proxy', (m) => (m.voice = revokedProxy())],
];

const TOPICS = [
  ['refresh', () => 'refresh'], ['stop', () => 'stop'], ['REFRESH', () => 'REFRESH'], ['empty', () => ''], ['null', () => null],
  ['5', () => 5], ['{}', () => ({})], ['Symbol', () => Symbol('refresh')], ['[refresh]', () => ['refresh']],
  ['String object', () => new String('refresh')], ['hostile Proxy', () => hostileProxy()],
];

/** Hostile msg.filename values, sent with output "file". */
function filenames(ctx) {
  return [
    ['NUL byte', () => `${ctx.tmp}/a\0b.wav`], ['300-byte name', () => `${ctx.tmp}/${'n'.repeat(296)}.wav`],
    ['through a regular file', () => `${ctx.plainFile}/inside.wav`], ['a regular file as folder', () => `${ctx.plainFile}/`],
    ['an existing directory', () => ctx.existingDir], ['../../x', () => '../../x'], ['empty', () => ''], ['white space', () => '   '],
    ['a number', () => 42], ['an object', () => ({ path: '/tmp/x' })], ['an array', () => ['x.wav']], ['null', () => null],
    ['Symbol', () => Symbol('f')], ['NUL only', () => '\0'], ['a 5000-char path', () => `${ctx.tmp}/${'d/'.repeat(2500)}x.wav`],
    // Special files: made inside the temporary folder (never /dev/null or / : the tests may run as root).
    ['a FIFO', () => ctx.fifo], ['a link to a file', () => ctx.link],
  ];
}

/** Valid file targets, all inside the test's temporary folder (relative ones resolve there too). */
function goodTargets(ctx, i) {
  return [`${ctx.tmp}/out/n${i}.wav`, `${ctx.tmp}/drop/`, `rel/r${i}.wav`, ctx.existingDir];
}

const define = (m, key, desc) => Object.defineProperty(m, key, { enumerable: true, configurable: true, ...desc });
const SHAPES = [
  ['frozen', (m) => Object.freeze(m)], ['sealed', (m) => Object.seal(m)], ['non-extensible', (m) => Object.preventExtensions(m)],
  ['getter-only payload', (m, p) => define(m, 'payload', { get: () => p() })],
  ['read-only payload', (m) => define(m, 'payload', { value: m.payload, writable: false })],
  ['getter throws on payload', (m) => define(m, 'payload', { get: boom('payload') })],
  ['getter throws on topic', (m) => define(m, 'topic', { get: boom('topic') })],
  ['getter throws on filename', (m) => define(m, 'filename', { get: boom('filename') })],
  ['getter throws on alltalk', (m) => define(m, 'alltalk', { get: boom('alltalk') })],
  ['setter-only url', (m) => define(m, 'url', { set() {} })],
  ['frozen with getter-only payload', (m, p) => Object.freeze(define(m, 'payload', { get: () => p() }))],
  ['read-only alltalk', (m) => define(m, 'alltalk', { value: m.alltalk, writable: false })],
];

const pick = (rnd, list) => list[Math.floor(rnd() * list.length)];

/**
 * `count` cases spread round robin over `targets` (node instance ids). About a third are valid;
 * the rest combine one to four oddities.
 */
function makeCases(seed, targets, count, ctx) {
  const rnd = mulberry32(seed);
  const files = filenames(ctx);
  const cases = [];
  for (let index = 0; index < count; index++) {
    const parts = [];
    const steps = []; // (msg) => void, applied in order
    const protoless = rnd() < 0.06;
    if (protoless) parts.push('prototype-less');
    let payload;
    if (rnd() < 0.38) {
      // A valid message, with a valid option now and then.
      const text = pick(rnd, VALID_TEXTS);
      payload = ['valid text', () => text];
      const option = rnd();
      if (option < 0.15) steps.push(['output url', (m) => (m.alltalk = { output: 'url' })]);
      else if (option < 0.35) {
        const target = pick(rnd, goodTargets(ctx, index));
        steps.push([`output file ${target}`, (m) => { m.alltalk = { output: 'file' }; m.filename = target; }]);
      } else if (option < 0.45) steps.push(['speed 1.5, language en', (m) => (m.alltalk = { speed: 1.5, language: 'en' })]);
      else if (option < 0.55) steps.push(['a known voice', (m) => (m.voice = ctx.voice)]);
      else if (option < 0.65) steps.push(['topic refresh', (m) => (m.topic = 'refresh')]);
    } else {
      payload = rnd() < 0.5 ? pick(rnd, VALID_TEXTS.map((t) => ['valid text', () => t])) : pick(rnd, ODD_VALUES);
      const n = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < n; k++) {
        const kind = Math.floor(rnd() * 6);
        if (kind === 0) {
          const [d, v] = pick(rnd, ALLTALK);
          steps.push([`alltalk ${d}`, (m) => (m.alltalk = v())]);
        } else if (kind === 1) {
          steps.push(pick(rnd, SHORT_FORMS));
        } else if (kind === 2) {
          const [d, v] = pick(rnd, TOPICS);
          steps.push([`topic ${d}`, (m) => (m.topic = v())]);
        } else if (kind === 3) {
          const [d, v] = pick(rnd, files);
          steps.push([`file ${d}`, (m) => { m.alltalk = { output: 'file' }; m.filename = v(); }]);
        } else if (kind === 4) {
          const [d, v] = pick(rnd, ODD_VALUES);
          const field = pick(rnd, ['filename', 'voice', 'language', 'speed', 'topic', 'error', 'url', 'alltalk']);
          steps.push([`msg.${field}=${d}`, (m) => (m[field] = v())]);
        } else {
          const [d, v] = pick(rnd, ODD_VALUES);
          const key = pick(rnd, ['output', 'language', 'character_voice_gen', 'output_file_name', 'speed', 'autoplay']);
          steps.push([`alltalk.${key}=${d}`, (m) => (m.alltalk = { [key]: v() })]);
        }
      }
    }
    // How the message itself is made (applied last): getters, read-only, frozen...
    const shape = rnd() < 0.3 ? pick(rnd, SHAPES) : undefined;
    parts.push(`payload ${payload[0]}`, ...steps.map((s) => s[0]));
    if (shape) parts.push(shape[0]);
    const target = targets[index % targets.length];
    const [, makePayload] = payload;
    cases.push({
      index,
      target,
      desc: parts.join(' + '),
      build() {
        const msg = protoless ? Object.create(null) : {};
        msg._msgid = `fuzz-${seed}-${index}`;
        msg.payload = makePayload();
        for (const [, apply] of steps) apply(msg);
        if (shape) shape[1](msg, makePayload);
        return msg;
      },
    });
  }
  return cases;
}

module.exports = { mulberry32, makeCases };
