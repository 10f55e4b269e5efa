'use strict';
const assert = require('assert');
const path = require('path');
const { spawn } = require('child_process');

const CLI = path.join(__dirname, '..', '..', 'dist', 'simulator', 'cli.js');

/** Spawns the CLI and resolves with the first stdout line (and the child). */
function startCli(args) {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const firstLine = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${err}`)));
  });
  firstLine.catch(() => undefined); // tests that expect an early exit never read it
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, out, err: () => err })));
  return { child, firstLine, exited };
}

describe('simulator: alltalk-sim CLI', function () {
  it('is a node script with a shebang', function () {
    const text = require('fs').readFileSync(CLI, 'utf8');
    assert.ok(text.startsWith('#!/usr/bin/env node'));
  });

  it('prints the URL, serves the API, and stops cleanly on SIGTERM', async function () {
    const { child, firstLine, exited } = startCli(['--port', '0', '--profile', 'piper', '--mode', 'documented', '--legacy-ip', '10.9.8.7']);
    const line = await firstLine;
    const m = /^AllTalk simulator \(piper, documented\) listening on (http:\/\/127\.0\.0\.1:(\d+))$/.exec(line);
    assert.ok(m, line);
    const url = m[1];
    const ready = await fetch(`${url}/api/ready`);
    assert.strictEqual(await ready.text(), 'Ready');
    const settings = await (await fetch(`${url}/api/currentsettings`)).json();
    assert.strictEqual(settings.current_engine_loaded, 'piper');
    const gen = await (await fetch(`${url}/api/tts-generate`, { method: 'POST', body: new URLSearchParams({ text_input: 'Hello there' }) })).json();
    assert.ok(gen.output_file_url.startsWith(`http://10.9.8.7:${m[2]}/audio/`));
    child.kill('SIGTERM');
    const { code } = await exited;
    assert.strictEqual(code, 0);
    await assert.rejects(fetch(`${url}/api/ready`));
  });

  it('stops on SIGINT too', async function () {
    const { child, firstLine, exited } = startCli(['--port=0']);
    assert.match(await firstLine, /^AllTalk simulator \(xtts, real\) listening on http:\/\/127\.0\.0\.1:\d+$/);
    child.kill('SIGINT');
    const res = await exited; assert.strictEqual(res.code, 0, JSON.stringify({ signal: res.signal, out: res.out, err: res.err() }));
  });

  it('--help prints the usage and exits 0', async function () {
    const { exited } = startCli(['--help']);
    const { code, out } = await exited;
    assert.strictEqual(code, 0);
    assert.match(out, /Usage: alltalk-sim/);
    assert.match(out, /--profile <name>/);
  });

  it('rejects an unknown option or a bad value with exit code 2', async function () {
    for (const args of [['--bogus'], ['--profile', 'vits'], ['--port', 'abc']]) {
      const { exited } = startCli(args);
      const { code, err } = await exited;
      assert.strictEqual(code, 2, args.join(' '));
      assert.match(err(), /alltalk-sim: /);
    }
  });
});
