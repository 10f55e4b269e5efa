'use strict';
// The status badge every node shows: at most one change per 100 ms, the last change always shown,
// the same badge never sent twice, and a burst of queue moves costing a handful of updates.
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
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
  /** Stands in for a ServerConnection: a 'state' event and a state getter. */
  class FakeConnection extends EventEmitter {
    constructor(state = 'ready') {
      super();
      this.info = { state, since: Date.now() };
    }
    get state() {
      return this.info;
    }
    change(state, reason) {
      this.info = { state, reason, since: Date.now() };
      this.emit('state', this.info);
    }
  }

  it('walks a node through queued (1), generating…, progress, done, stopped', function () {
    const connection = new FakeConnection('ready');
    const sent = [];
    const b = new NodeBadge((s) => sent.push(s), connection);
    assert.deepEqual(sent, [{ fill: 'green', shape: 'dot', text: 'ready' }], 'the server state first');
    clock.tick(BADGE_INTERVAL_MS);
    const last = () => sent[sent.length - 1];

    const jobs = [b.job(), b.job(), b.job()];
    jobs.forEach((j, i) => j.onPosition(i + 1));
    clock.tick(BADGE_INTERVAL_MS);
    assert.deepEqual(last(), { fill: 'yellow', shape: 'ring', text: 'queued (1)' });

    jobs[0].onPosition(0);
    jobs[1].onPosition(1);
    jobs[2].onPosition(2);
    clock.tick(BADGE_INTERVAL_MS);
    assert.deepEqual(last(), { fill: 'blue', shape: 'dot', text: 'generating…' });

    b.progress('streaming 1.0 s');
    clock.tick(BADGE_INTERVAL_MS);
    assert.deepEqual(last(), { fill: 'blue', shape: 'dot', text: 'streaming 1.0 s' });

    // Done while two more wait: the queue shows, not "done".
    jobs[0].finish();
    b.done(1500);
    clock.tick(BADGE_INTERVAL_MS);
    assert.deepEqual(last(), { fill: 'yellow', shape: 'ring', text: 'queued (1)' });

    for (const j of jobs.slice(1)) {
      j.onPosition(0);
      j.finish();
    }
    b.done(1500);
    clock.tick(BADGE_INTERVAL_MS);
    assert.deepEqual(last(), { fill: 'green', shape: 'dot', text: 'done 1.5 s' });

    b.stopped();
    clock.tick(BADGE_INTERVAL_MS);
    assert.deepEqual(last(), { fill: 'yellow', shape: 'dot', text: 'stopped' });
    b.close();
    assert.equal(connection.listenerCount('state'), 0, 'close() stops listening to the server');
  });

  it('stopped() while another job of the node still runs shows that job, not "stopped"', function () {
    const sent = [];
    const b = new NodeBadge((s) => sent.push(s), new FakeConnection('ready'));
    clock.tick(BADGE_INTERVAL_MS);
    const running = b.job();
    running.onPosition(0);
    clock.tick(BADGE_INTERVAL_MS);
    b.stopped();
    clock.tick(BADGE_INTERVAL_MS);
    assert.equal(sent[sent.length - 1].text, 'generating…');
    running.finish();
    b.close();
  });

  it('a state event from the server shows over an idle node: offline as a red ring', function () {
    const connection = new FakeConnection('ready');
    const sent = [];
    const b = new NodeBadge((s) => sent.push(s), connection);
    clock.tick(BADGE_INTERVAL_MS);
    const job = b.job();
    job.onPosition(0);
    job.finish();
    b.done(800);
    clock.tick(BADGE_INTERVAL_MS);
    assert.equal(sent[sent.length - 1].text, 'done 0.8 s');
    connection.change('offline', 'connection refused');
    clock.tick(BADGE_INTERVAL_MS);
    assert.deepEqual(sent[sent.length - 1], { fill: 'red', shape: 'ring', text: 'offline' });
    connection.change('ready');
    clock.tick(BADGE_INTERVAL_MS);
    assert.deepEqual(sent[sent.length - 1], { fill: 'green', shape: 'dot', text: 'ready' });
    b.close();
  });
});
