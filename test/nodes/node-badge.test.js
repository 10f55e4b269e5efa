'use strict';
// The status badge every node shows: at most one change per 100 ms, the last change always shown,
// the same badge never sent twice, and a burst of queue moves costing a handful of updates.
const assert = require('node:assert/strict');
const sinon = require('sinon');
const { NodeBadge, BADGE_INTERVAL_MS } = require('../../dist/runtime/node-badge');

describe('NodeBadge', function () {
  let clock;
  beforeEach(function () {
    clock = sinon.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(function () {
    clock.restore();
  });

  function badge() {
    const sent = [];
    const b = new NodeBadge((s) => sent.push(s));
    sent.length = 0;
    clock.tick(BADGE_INTERVAL_MS);
    return { b, sent };
  }

  it('shows a change at once after a quiet moment, and the last of a quick series at the end of the interval', function () {
    const { b, sent } = badge();
    b.error('one');
    assert.deepEqual(sent.map((s) => s.text), ['error: one']);
    b.error('two');
    b.error('three');
    assert.equal(sent.length, 1, 'nothing more within the interval');
    clock.tick(BADGE_INTERVAL_MS);
    assert.deepEqual(sent.map((s) => s.text), ['error: one', 'error: three']);
  });

  it('never sends the same badge twice in a row', function () {
    const { b, sent } = badge();
    b.error('same');
    clock.tick(BADGE_INTERVAL_MS);
    b.error('same');
    clock.tick(BADGE_INTERVAL_MS);
    assert.equal(sent.length, 1);
  });

  it('1000 queued jobs moving up the queue send only a few updates, ending on the right one', function () {
    const { b, sent } = badge();
    const jobs = Array.from({ length: 1000 }, () => b.job());
    jobs.forEach((j, i) => j.onPosition(i + 1));
    for (let started = 0; started < jobs.length; started++) {
      jobs[started].onPosition(0);
      for (let i = started + 1; i < jobs.length; i++) jobs[i].onPosition(i - started);
      jobs[started].finish();
      if (started % 100 === 0) clock.tick(10);
    }
    b.done(1234);
    clock.tick(BADGE_INTERVAL_MS);
    assert.ok(sent.length <= 12, `${sent.length} updates`);
    assert.equal(sent[sent.length - 1].text, 'done 1.2 s');
  });

  it('close() clears the badge and drops a pending change', function () {
    const { b, sent } = badge();
    b.error('one');
    b.error('two');
    b.close();
    clock.tick(BADGE_INTERVAL_MS * 2);
    assert.deepEqual(sent.map((s) => s.text), ['error: one', undefined]);
  });
});
