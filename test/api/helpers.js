'use strict';
// Shared set-up and checks for the api tests (not a spec file: mocha loads only *.test.js).
const assert = require('node:assert/strict');
const net = require('node:net');
const { AllTalkClient, AllTalkError } = require('../../dist/api');
const { AllTalkSimulator } = require('../../dist/simulator');

/** Simulator options that keep tests fast; each test overrides what it needs. */
const FAST = {
  port: 0,
  profile: 'xtts',
  mode: 'real',
  legacyApi: false,
  msPerChar: 0,
  minGenerationMs: 1,
  streamChunkSamples: 2048,
  streamChunkIntervalMs: 0,
  startupMs: 0,
  modelLoadMs: 5,
};

/**
 * Registers afterEach hooks that close every client and stop every simulator (and run any other
 * clean-up) created through the returned helpers during a test.
 */
function harness() {
  const clients = [];
  const sims = [];
  const cleanups = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const f of cleanups.splice(0).reverse()) await f();
    for (const s of sims.splice(0)) await s.stop();
  });
  return {
    async sim(options = {}) {
      const sim = new AllTalkSimulator({ ...FAST, ...options });
      sims.push(sim);
      await sim.start();
      return sim;
    },
    /** A client for a simulator (or a bare port), with short back-off delays. */
    client(target, options = {}) {
      const port = typeof target === 'number' ? target : target.port;
      const client = new AllTalkClient({
        host: '127.0.0.1',
        port,
        ...options,
        retry: { baseDelayMs: 20, maxDelayMs: 100, ...options.retry },
      });
      clients.push(client);
      return client;
    },
    cleanup(fn) {
      cleanups.push(fn);
    },
  };
}

/** Awaits a promise that must fail with an AllTalkError of the given kind; returns the error. */
async function rejectsWith(promise, kind) {
  let result;
  try {
    result = await promise;
  } catch (err) {
    assert.ok(err instanceof AllTalkError, `expected an AllTalkError, got: ${err && err.stack}`);
    assert.equal(err.kind, kind, `expected kind "${kind}", got "${err.kind}": ${err.message}`);
    return err;
  }
  assert.fail(`expected an AllTalkError "${kind}", but the call succeeded with ${JSON.stringify(result)}`);
}

/** Runs `fn`, which must throw an AllTalkError of kind 'validation'; returns the error. */
function validationErr(fn) {
  let caught;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, 'expected a validation error, nothing was thrown');
  assert.ok(caught instanceof AllTalkError, `expected an AllTalkError, got ${caught && caught.stack}`);
  assert.equal(caught.kind, 'validation');
  return caught;
}

/** The simulator's log of requests to one path (any method unless given). */
function requestsTo(sim, path, method) {
  return sim.requests.filter((r) => r.path === path && (!method || r.method === method));
}

/** A loopback port with nothing listening on it. */
function closedPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves with the first event `name` emitted by `emitter` that matches `filter`. */
function nextEvent(emitter, name, filter = () => true) {
  return new Promise((resolve) => {
    const on = (...args) => {
      if (!filter(...args)) return;
      emitter.off(name, on);
      resolve(args[0]);
    };
    emitter.on(name, on);
  });
}

/**
 * Holds the simulator's engine (generations start but do not finish) until the test ends or the
 * returned function is called: busy, timeout and abort tests then need no long texts or timing.
 */
function holdEngine(h, sim) {
  const release = sim.holdEngine();
  h.cleanup(release);
  return release;
}

module.exports = { FAST, harness, rejectsWith, validationErr, requestsTo, closedPort, nextEvent, holdEngine };
