'use strict';
// The checks that keep a request undici would refuse (and whose refusal would leave a pool slot
// unusable) from ever being made, and the checks on what comes back.
const assert = require('node:assert/strict');
const { AllTalkClient, AllTalkError, checkHeaderName, checkHeaderValue, encodePath, notAudioReason, serverPath, encodeWav, isRvcDisabled } = require('../../dist/api');
const { redact } = require('../../dist/api/request-headers');
const { streamQuery } = require('../../dist/api/streaming');
const { validateText } = require('../../dist/api');

const SENDABLE = /^\/[\x21-\x7e]*$/;

function refused(fn, kind) {
  let thrown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown instanceof AllTalkError, `expected an AllTalkError, got ${thrown}`);
  assert.equal(thrown.kind, kind, thrown.message);
  return thrown;
}

describe('request checks', function () {
  describe('serverPath: paths the server sends', function () {
    const cases = [
      ['/audio/a b.wav', '/audio/a%20b.wav'],
      ['audio/x.wav', '/audio/x.wav'],
      ['/audio/\u0001x.wav', '/audio/%01x.wav'],
      ['/audio/\u007fx.wav', '/audio/%7Fx.wav'],
      ['/audio/caf\u00e9.wav', '/audio/caf%C3%A9.wav'],
      ['/audio/\u20ac.wav', '/audio/%E2%82%AC.wav'],
      ['/audio/\u65e5\u672c.wav', '/audio/%E6%97%A5%E6%9C%AC.wav'],
      ['/audio/a%20b.wav', '/audio/a%20b.wav'],
      ['/audio/100%.wav', '/audio/100%25.wav'],
      ['/audio/x#y.wav', '/audio/x%23y.wav'],
      ['/audio/x.wav?t=1', '/audio/x.wav?t=1'],
      ['http://127.0.0.1:7851/audio/x.wav', '/audio/x.wav'],
      ['http://10.0.0.5:7851/audio/a b.wav', '/audio/a%20b.wav'],
      ['//elsewhere/audio/x.wav', '/audio/x.wav'],
      ['  /audio/x.wav  ', '/audio/x.wav'],
    ];
    for (const [input, expected] of cases) {
      it(`${JSON.stringify(input)} → ${expected}`, function () {
        const p = serverPath(input, 'http://127.0.0.1:7851');
        assert.equal(p, expected);
        assert.match(p, SENDABLE);
      });
    }

    for (const bad of ['http://[bad', 'javascript:alert(1)', 'file:///etc/passwd', '/audio/\ud800.wav', '', '   ', 42, null, {}]) {
      it(`refuses ${typeof bad === 'string' ? JSON.stringify(bad) : String(bad)} as invalid-response, naming the server`, function () {
        const err = refused(() => serverPath(bad, 'http://10.0.0.5:7851'), 'invalid-response');
        assert.match(err.message, /AllTalk at http:\/\/10\.0\.0\.5:7851/);
      });
    }

    it('encodePath keeps valid escapes and is idempotent', function () {
      const once = encodePath('/a b/%41/ü');
      assert.equal(once, '/a%20b/%41/%C3%BC');
      assert.equal(encodePath(once), once);
    });
  });

  describe('header names and values', function () {
    it('accepts a token name', function () {
      assert.equal(checkHeaderName(' X-API-Key '), 'X-API-Key');
    });
    for (const name of ['X-API-Key:', 'X API Key', 'X-API\r\nKey', 'Käse', '']) {
      it(`refuses the name ${JSON.stringify(name)} with a message that says how to fix it`, function () {
        const err = refused(() => checkHeaderName(name), 'validation');
        assert.match(err.message, /header name/);
      });
    }
    it('refuses names the connection sets itself', function () {
      refused(() => checkHeaderName('Content-Length'), 'validation');
      refused(() => checkHeaderName('host'), 'validation');
    });
    for (const [what, value] of [['non-Latin-1', 'key\u20ac123'], ['line break', 'key\r\nX-Evil: 1'], ['NUL', 'ke\u0000y'], ['emoji', 'key\ud83d\ude00']]) {
      it(`refuses a value with a ${what} without quoting it`, function () {
        const err = refused(() => checkHeaderValue(value, 'value of the x-api-key header'), 'validation');
        assert.ok(!err.message.includes(value) && !err.message.includes(value.slice(0, 4)), err.message);
        assert.match(err.message, /U\+[0-9A-F]{4}/);
      });
    }
    it('a client with a bad header is refused when it is made, never when a request hangs', function () {
      refused(() => new AllTalkClient({ headers: { 'X-API-Key:': 'secret-key' } }), 'validation');
      refused(() => new AllTalkClient({ headers: { 'x-api-key': 'secr\u00e9t\u20ac' } }), 'validation');
      refused(() => new AllTalkClient({ basicAuth: { username: 'me\nyou', password: 'pw' } }), 'validation');
    });
    it('a client with an object as host is refused with a validation error, not a TypeError', function () {
      refused(() => new AllTalkClient({ host: { evil: true } }), 'validation');
      refused(() => new AllTalkClient({ host: 'a\u00e9b' }), 'validation');
    });
    it('redact replaces every secret', function () {
      assert.equal(redact('key=abcd1234, again abcd1234', ['abcd1234']), 'key=***, again ***');
    });
  });

  describe('audio bytes', function () {
    const wav = encodeWav(new Float32Array(100), { sampleRate: 24000, encoding: 's16' });
    it('accepts real audio', function () {
      assert.equal(notAudioReason(wav, 'wav'), undefined);
      assert.equal(notAudioReason(Buffer.from('ID3\u0004rest', 'latin1'), 'mp3'), undefined);
      assert.equal(notAudioReason(Buffer.from([0xff, 0xfb, 0x90, 0x00]), 'mp3'), undefined);
      assert.equal(notAudioReason(Buffer.from('OggS\u0000\u0002', 'latin1'), 'opus'), undefined);
      assert.equal(notAudioReason(Buffer.from('fLaC\u0000', 'latin1'), 'flac'), undefined);
      assert.equal(notAudioReason(Buffer.from([0xff, 0xf1, 0x50, 0x80]), 'aac'), undefined);
      assert.equal(notAudioReason(wav, 'any'), undefined);
    });
    it('names what it got instead: an HTML page, an empty body, JSON, another format', function () {
      assert.match(notAudioReason(Buffer.from('<html>502 Bad Gateway</html>'), 'wav'), /not a WAV file.*<html>502/);
      assert.equal(notAudioReason(Buffer.alloc(0), 'wav'), 'the body is empty');
      assert.match(notAudioReason(Buffer.from('{"detail":"x"}'), 'mp3'), /not mp3 audio/);
      assert.match(notAudioReason(wav, 'mp3'), /not mp3 audio/);
      assert.match(notAudioReason(Buffer.from('hello'), 'any'), /not audio in a known format/);
    });
  });

  it('half a surrogate pair in the text becomes U+FFFD (as a form encoder makes it), for every route', function () {
    assert.equal(validateText('ab\ud800c'), 'ab\ufffdc');
    assert.equal(validateText('\udc00 x'), '\ufffd x');
    assert.equal(validateText('ok \u{1F600}'), 'ok \u{1F600}', 'a whole pair is kept');
    const q = streamQuery({ text: 'x\ud800', voice: 'v\udfff', language: 'en', output_file: 'o' });
    assert.match(q, /^text=x%EF%BF%BD&voice=v%EF%BF%BD&/);
  });

  it('RVC "disabled" in any case counts as Disabled', function () {
    for (const v of ['Disabled', 'disabled', 'DISABLED', ' Disable ']) assert.ok(isRvcDisabled(v), v);
    assert.ok(!isRvcDisabled('folder/voice.pth'));
  });
});
