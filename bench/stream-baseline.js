'use strict';
// The baselines of bench/stream.js, in a plain Node process of its own (forked with --expose-gc,
// so that its memory and CPU are its own):
// - latency: a bare http.get of the fake server's stream (bench/fake-alltalk.js); every stamp
//   is read in the 'data' event that completes it: the server's write → socket → 'data' event,
//   the least any reader in Node can do;
// - file: the same kind of stream read with http.get and piped into fs.createWriteStream.
// Commands over IPC: { cmd: 'gc' } → { memory }; { cmd: 'latency', url, chunkBytes } →
// { latencies, pieces, multi, none, bytes }; { cmd: 'file', url, file } → { bytes, ms }.
const fs = require('node:fs');
const http = require('node:http');
const { performance } = require('node:perf_hooks');

/** The streaming header's length: the PCM (and the stamps) start after it. */
const HEADER_BYTES = 44;

/**
 * Reads the stamps of a stream, however it is cut into pieces: the stream is `skip` header
 * bytes, then chunks of `chunkBytes` whose first 8 bytes are the float64 (LE) wall-clock time the
 * server wrote them. push(piece, now) records now − stamp for every stamp the piece completes
 * and returns how many it completed. Self-contained (only Buffer): bench/stream.js puts its
 * source into a function node, so the node and the baseline read the stamps the same way.
 */
function stampScanner(chunkBytes, skip) {
  const stamp = Buffer.alloc(8);
  const latencies = [];
  // Position in the PCM of the next byte; negative while in the header.
  let offset = -skip;
  return {
    latencies,
    push(data, now) {
      let i = offset < 0 ? Math.min(-offset, data.length) : 0;
      let completed = 0;
      while (i < data.length) {
        const at = (offset + i) % chunkBytes;
        if (at < 8) {
          const take = Math.min(8 - at, data.length - i);
          data.copy(stamp, at, i, i + take);
          i += take;
          if (at + take === 8) {
            latencies.push(now - stamp.readDoubleLE(0));
            completed++;
          }
        } else {
          i += chunkBytes - at;
        }
      }
      offset += data.length;
      return completed;
    },
    /** PCM bytes seen (after the header). */
    get bytes() {
      return Math.max(0, offset);
    },
  };
}

function latency(url, chunkBytes) {
  return new Promise((resolve, reject) => {
    const scanner = stampScanner(chunkBytes, HEADER_BYTES);
    let pieces = 0;
    let multi = 0;
    let none = 0;
    http.get(url, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`stream: ${res.statusCode}`));
        return;
      }
      res.on('data', (piece) => {
        const n = scanner.push(piece, performance.timeOrigin + performance.now());
        pieces++;
        if (n > 1) multi++;
        if (n === 0) none++;
      });
      res.once('end', () => resolve({ latencies: scanner.latencies, pieces, multi, none, bytes: scanner.bytes }));
      res.once('error', reject);
    }).once('error', reject);
  });
}

function toFile(url, file) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http.get(url, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`stream: ${res.statusCode}`));
        return;
      }
      const out = fs.createWriteStream(file);
      res.pipe(out);
      res.once('error', reject);
      out.once('error', reject);
      out.once('close', () => resolve({ bytes: out.bytesWritten, ms: performance.now() - t0 }));
    }).once('error', reject);
  });
}

function serve() {
  const commands = {
    gc: async () => {
      if (typeof global.gc === 'function') global.gc();
      return { memory: process.memoryUsage() };
    },
    latency: (m) => latency(m.url, m.chunkBytes),
    file: (m) => toFile(m.url, m.file),
  };
  process.on('message', (m) => {
    const command = m && typeof m === 'object' ? commands[m.cmd] : undefined;
    if (!command) return;
    command(m).then(
      (result) => process.send({ reply: m.cmd, ...result }),
      (err) => process.send({ reply: m.cmd, error: String(err && err.stack) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true });
}

if (require.main === module) serve();

/** Forks the baseline process; resolves { pid, message(cmd) → reply, stop() }. */
function startStreamBaseline() {
  const { fork } = require('node:child_process');
  const { track } = require('./children');
  const { stopChild } = require('./fake-alltalk');
  const child = track(fork(__filename, [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  const reply = (match) => new Promise((resolve, reject) => {
    const onExit = (code) => reject(new Error(`stream baseline exited (${code})`));
    const onMessage = (m) => {
      if (!match(m)) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    };
    child.once('exit', onExit);
    child.on('message', onMessage);
  });
  return reply((m) => m && m.ready).then(() => ({
    pid: child.pid,
    message: (cmd) => {
      const answer = reply((m) => m && m.reply === cmd.cmd);
      child.send(cmd);
      return answer;
    },
    stop: () => stopChild(child),
  }));
}

module.exports = { startStreamBaseline, stampScanner, HEADER_BYTES };
