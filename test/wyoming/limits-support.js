'use strict';
// Shared by the Wyoming limit tests (wyoming-errors, wyoming-limits, wyoming-port): raw connections
// to the Wyoming server, reading events until the end, the one error a failed request gets. Not a
// spec file.
const assert = require('node:assert/strict');
const { EventStream, encode, connect } = require('./ha-client');
const { helper, waitFor } = require('./support');

const MB = 1024 * 1024;
const KB64 = 64 * 1024;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A connection and its event reader. */
async function open(port) {
  const socket = await connect(port);
  socket.setNoDelay(true);
  return { socket, events: new EventStream(socket), closedAt: closedAt(socket) };
}

/** Resolves the time the socket closed. */
function closedAt(socket) {
  return new Promise((resolve) => socket.once('close', () => resolve(Date.now())));
}

/** The next event within `timeoutMs` (undefined: the connection ended). */
async function next(events, timeoutMs = 5000, what = 'an event') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([events.next(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Every event until the server ends the connection; rejects when it is still open after `timeoutMs`. */
async function untilEnd(events, timeoutMs = 5000) {
  const seen = [];
  const started = Date.now();
  for (;;) {
    const left = timeoutMs - (Date.now() - started);
    const e = await next(events, Math.max(1, left), `end of the connection (saw ${JSON.stringify(seen.map((x) => x.type))})`);
    if (!e) return seen;
    seen.push(e);
  }
}

/** Exactly one error event, the last thing before the end (no audio-stop after it); its data. */
function oneErrorThenEnd(seen, code, pattern) {
  const types = JSON.stringify(seen.map((e) => e.type));
  const errors = seen.filter((e) => e.type === 'error');
  assert.equal(errors.length, 1, `one error event: ${types}`);
  assert.equal(seen[seen.length - 1].type, 'error', `nothing after the error: ${types}`);
  assert.equal(errors[0].data.code, code, errors[0].data.text);
  assert.equal(typeof errors[0].data.text, 'string');
  if (pattern) assert.match(errors[0].data.text, pattern);
  return errors[0].data;
}

/** Sends the events of one request and reads until the server closes the connection. */
async function failingRequest(port, data, { streaming = false } = {}) {
  const { socket, events } = await open(port);
  if (streaming) {
    const voice = data.voice ? { voice: data.voice } : {};
    socket.write(Buffer.concat([encode('synthesize-start', voice), encode('synthesize-chunk', { text: data.text }),
      encode('synthesize', { text: data.text, ...voice }), encode('synthesize-stop')]));
  } else {
    socket.write(encode('synthesize', data));
  }
  try {
    return await untilEnd(events, 15000);
  } finally {
    socket.destroy();
  }
}

/** The node's one output message for a failed request: `error: {message, code}` as the client was told. */
async function oneErrorOutput(outputs, told, extra = {}) {
  await waitFor(() => outputs.length >= 1, 'the output message', 10000);
  await sleep(150);
  assert.equal(outputs.length, 1, 'one output message');
  assert.deepEqual(outputs[0].error, { message: told.text, code: told.code });
  for (const [k, v] of Object.entries(extra)) assert.deepEqual(outputs[0][k], v, k);
  return outputs[0];
}

function listenOn(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, resolve);
  });
}

/** Status calls of the node with id `id` (the helper spies on every node's status). */
function statusesOf(id) {
  const node = helper.getNode(id);
  return node.status.getCalls().filter((c) => c.thisValue === node).map((c) => c.args[0]);
}

module.exports = { MB, KB64, sleep, open, closedAt, next, untilEnd, oneErrorThenEnd, failingRequest, oneErrorOutput, listenOn, statusesOf };
