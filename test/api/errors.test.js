'use strict';
// Unit tests of the pure parts of src/api/errors.ts: the server's error bodies read into one
// message, received values described, and what an AllTalkError carries.
const assert = require('node:assert/strict');
const api = require('../../dist/api');
const { AllTalkError, describeValue, extractServerMessage } = api;

describe('api/errors', () => {
  describe('extractServerMessage reads every error shape of the server', () => {
    const cases = [
      ['E1 422 detail list', JSON.stringify({ detail: [{ type: 'missing', loc: ['body', 'text_input'], msg: 'Field required', input: null }] }), 'text_input: Field required'],
      ['E1 with two items', JSON.stringify({ detail: [{ loc: ['query', 'a'], msg: 'x' }, { loc: ['body', 'b'], msg: 'y' }] }), 'a: x; b: y'],
      ['E2 detail string', '{"detail":"Model file not found."}', 'Model file not found.'],
      ['E3 text/plain', 'Internal Server Error', 'Internal Server Error'],
      ['E4 error', '{"error":"language: Language code\\nspeed: Speed"}', 'language: Language code\nspeed: Speed'],
      ['E5 generate-failure', '{"status":"generate-failure","error":"TTS generation failed"}', 'TTS generation failed'],
      ['E6/E7 message', '{"status":"error","message":"Invalid TTS engine specified"}', 'Invalid TTS engine specified'],
    ];
    for (const [name, body, expected] of cases) {
      it(name, () => assert.equal(extractServerMessage(body), expected));
    }
    it('nothing for an empty body; long text is shortened', () => {
      assert.equal(extractServerMessage('  '), undefined);
      const long = extractServerMessage('x'.repeat(1000));
      assert.ok(long.length <= 301 && long.endsWith('…'));
    });
  });

  it('describeValue names what was received', () => {
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue(undefined), 'missing');
    assert.equal(describeValue(Buffer.alloc(5)), 'a Buffer (5 bytes)');
    assert.equal(describeValue([1]), 'an array (1 items)');
    assert.equal(describeValue({}), 'an object');
    assert.equal(describeValue('abc'), '"abc"');
    assert.equal(describeValue(7), '7');
    assert.ok(describeValue('y'.repeat(100)).endsWith('…"'));
  });

  it('shortReason is short', () => {
    assert.equal(new AllTalkError('http', 'x', { status: 500 }).shortReason, 'http 500');
    assert.equal(new AllTalkError('validation', 'x', { field: 'speed' }).shortReason, 'bad speed');
    assert.equal(new AllTalkError('validation', 'x').shortReason, 'invalid input');
    assert.equal(new AllTalkError('offline', 'x').shortReason, 'offline');
  });

  it('keeps the low-level code from the cause chain', () => {
    const cause = new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'ECONNREFUSED' }) });
    const err = new AllTalkError('offline', 'x', { cause });
    assert.equal(err.causeCode, 'ECONNREFUSED');
    assert.equal(err.cause, cause);
    assert.ok(api.isAllTalkError(err));
    assert.ok(!api.isAllTalkError(new Error('x')));
  });
});
