'use strict';
// The per-server queue on its own: the order jobs start in (priority, then arrival), the places
// waiting jobs are told as others go ahead of them, exclusive jobs (model changes) among
// priorities, jobs that go first (an interrupt), and a job given up while it waits.
const assert = require('node:assert/strict');
const { RequestQueue } = require('../../dist/runtime/request-queue');
const { Cancellation } = require('../../dist/api/cancellation');

/** A job that runs until its `end()` is called; `started` says whether it began. */
function heldJob(name, log) {
  let end;
  const ended = new Promise((resolve) => (end = resolve));
  const job = {
    name,
    started: false,
    end: () => end(name),
    run: () => {
      job.started = true;
      log.push(name);
      return ended;
    },
  };
  return job;
}

/** A queue, a log of the order jobs started in, and the places each job was told. */
function setup(concurrency = 1, limit = 100) {
  const queue = new RequestQueue(concurrency, limit, 'http://sim:7851');
  const started = [];
  const places = {};
  const add = (name, opts = {}) => {
    const job = heldJob(name, started);
    places[name] = [];
    job.done = queue.run(job.run, { ...opts, onPosition: (p) => places[name].push(p) });
    job.done.catch(() => undefined);
    return job;
  };
  return { queue, started, places, add };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Ends running jobs one at a time until every job in `jobs` has run. */
async function drain(jobs) {
  for (let i = 0; i < 100 && jobs.some((j) => !j.started || !j.finished); i++) {
    for (const j of jobs) {
      if (j.started && !j.finished) {
        j.finished = true;
        j.end();
        await j.done.catch(() => undefined);
      }
    }
    await tick();
  }
}

describe('RequestQueue', function () {
  it('starts waiting jobs by priority, higher first, and in arrival order among equal priorities', async function () {
    const { started, add } = setup();
    const jobs = [add('running'), add('a'), add('b', { priority: 5 }), add('c'), add('d', { priority: 5 }), add('e', { priority: -1 }), add('f', { priority: 10 })];
    await drain(jobs);
    assert.deepEqual(started, ['running', 'f', 'b', 'd', 'a', 'c', 'e']);
  });

  it('with every priority the same (or not a finite number), keeps arrival order', async function () {
    const { started, add } = setup();
    const jobs = [add('running'), add('a'), add('b', { priority: 0 }), add('c', { priority: NaN }), add('d'), add('e', { priority: undefined })];
    await drain(jobs);
    assert.deepEqual(started, ['running', 'a', 'b', 'c', 'd', 'e']);
  });

  it('tells each waiting job its new place when one goes ahead of it, and only those whose place changed', async function () {
    const { places, add } = setup();
    const jobs = [add('running'), add('a'), add('b')];
    assert.deepEqual(places, { running: [0], a: [1], b: [2] });
    jobs.push(add('c', { priority: 1 }));
    assert.deepEqual(places, { running: [0], a: [1, 2], b: [2, 3], c: [1] });
    jobs.push(add('d', { priority: 1 }));
    assert.deepEqual(places, { running: [0], a: [1, 2, 3], b: [2, 3, 4], c: [1], d: [2] });
    jobs.push(add('e'));
    assert.deepEqual(places.e, [5]);
    assert.deepEqual([places.a, places.b, places.c, places.d].map((p) => p.length), [3, 3, 1, 1], 'an append moves nobody');
    await drain(jobs);
    assert.deepEqual(places.c, [1, 0]);
    assert.deepEqual(places.a.at(-1), 0);
    assert.deepEqual(places.e.slice(-2), [1, 0]);
  });

  it('an exclusive job keeps its rules: it waits for every running job, and nothing starts beside it', async function () {
    const { queue, started, add } = setup(2);
    const one = add('one');
    const model = add('model', { exclusive: true });
    const after = add('after');
    await tick();
    assert.deepEqual(started, ['one'], 'the model change waits for the job running, and what came after waits behind it');
    // A higher priority goes ahead of the waiting model change; a slot is free, so it starts.
    const urgent = add('urgent', { priority: 5 });
    await tick();
    assert.deepEqual(started, ['one', 'urgent']);
    one.finished = true;
    one.end();
    await one.done;
    await tick();
    assert.deepEqual(started, ['one', 'urgent'], 'still one running: the model change waits');
    urgent.finished = true;
    urgent.end();
    await urgent.done;
    await tick();
    assert.deepEqual(started, ['one', 'urgent', 'model']);
    assert.equal(queue.running, 1);
    const late = add('late', { priority: 9 });
    await tick();
    assert.deepEqual(started, ['one', 'urgent', 'model'], 'nothing starts beside a model change, whatever its priority');
    await drain([one, model, after, urgent, late]);
    assert.deepEqual(started, ['one', 'urgent', 'model', 'late', 'after']);
  });

  it('an exclusive job of higher priority goes ahead of waiting generations', async function () {
    const { started, add } = setup();
    const jobs = [add('running'), add('a'), add('b'), add('model', { exclusive: true, priority: 1 })];
    await drain(jobs);
    assert.deepEqual(started, ['running', 'model', 'a', 'b']);
  });

  it('a job that goes first is ahead of every waiting job whatever its priority; later ones, of any priority, queue behind it', async function () {
    const { started, places, add } = setup();
    const jobs = [add('running'), add('high', { priority: 100 }), add('low')];
    jobs.push(add('interrupt', { first: true }));
    assert.deepEqual(places.interrupt, [1]);
    assert.deepEqual(places.high, [1, 2]);
    jobs.push(add('second', { first: true }), add('higher', { priority: 1e9 }));
    assert.deepEqual(places.second, [2]);
    assert.deepEqual(places.higher, [3]);
    await drain(jobs);
    assert.deepEqual(started, ['running', 'interrupt', 'second', 'higher', 'high', 'low']);
  });

  it('a full queue refuses a new job whatever its priority, but takes one that goes first', async function () {
    const { started, add } = setup(1, 2);
    const jobs = [add('running'), add('a'), add('b')];
    await assert.rejects(add('urgent', { priority: 5 }).done, (err) => err.kind === 'queue-full');
    jobs.push(add('interrupt', { first: true }));
    await drain(jobs);
    assert.deepEqual(started, ['running', 'interrupt', 'a', 'b']);
  });

  it('a job given up while it waits leaves its place (the ones behind move up); the order of the rest holds', async function () {
    const { started, places, add } = setup();
    const cancel = new Cancellation();
    const jobs = [add('running'), add('a'), add('b', { priority: 5 }), add('c', { priority: 5, signal: cancel }), add('d', { priority: 2 })];
    assert.deepEqual([places.b.at(-1), places.c.at(-1), places.d.at(-1), places.a.at(-1)], [1, 2, 3, 4]);
    cancel.abort(new Error('given up'));
    await assert.rejects(jobs[3].done, (err) => err.kind === 'aborted' && /cancelled before it started/.test(err.message));
    assert.deepEqual([places.b.at(-1), places.d.at(-1), places.a.at(-1)], [1, 2, 3]);
    assert.equal(places.b.length, 1, 'the one ahead of it keeps its place');
    jobs.splice(3, 1);
    await drain(jobs);
    assert.deepEqual(started, ['running', 'b', 'd', 'a']);
  });

  it('failWaiting fails every waiting job, whatever its priority, once each', async function () {
    const { queue, add } = setup();
    const jobs = [add('running'), add('a', { priority: 3 }), add('b'), add('c', { first: true })];
    const err = new Error('cleared');
    assert.equal(queue.failWaiting(err), 3);
    for (const j of jobs.slice(1)) await assert.rejects(j.done, (e) => e === err);
    assert.equal(queue.length, 0);
    await drain([jobs[0]]);
  });
});
