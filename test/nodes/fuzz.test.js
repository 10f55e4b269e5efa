'use strict';
// Fuzz: thousands of odd messages, spread over every built node type, must each end exactly once
// (done() or done(err)), never crash the process, and fail only with the package's own errors.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const { helper, allNodes, startSim, configNode, waitFor } = require('./support');
const { makeCases } = require('./fuzz-cases');

const SEED = 0x5eed2024;
const TOTAL = 2400;
const BATCH = 50;
/** A batch is given up on when none of its messages has ended for this long. */
const STALL_MS = 2000;
/** After this many batches with messages that never ended, no more are sent. */
const MAX_STALLED_BATCHES = 5;

/**
 * The node types fuzzed: a type is fuzzed once nodes/<type>.js is built. A new node type is
 * fuzzed by adding it here (with its dialog defaults, when it needs any).
 */
const FUZZED = [
  { type: 'alltalk-status', props: { interval: 0, onlyChanges: false } },
  { type: 'alltalk-tts', props: { property: 'payload', propertyType: 'msg', maxCharacters: 2000, splitLongText: false, output: 'msg', filePath: '', createFolders: true } },
  { type: 'alltalk-tts', variant: 'split', props: { property: 'payload', propertyType: 'msg', maxCharacters: 150, maxTotalCharacters: 3000, splitLongText: true, output: 'msg', filePath: '', createFolders: true } },
  { type: 'alltalk-stream', props: { property: 'payload', propertyType: 'msg', voice: 'female_01.wav', language: 'en', output: 'msg', maxCharacters: 2000, createFolders: true } },
  { type: 'alltalk-openai', props: { property: 'payload', propertyType: 'msg', voice: 'alloy', format: '', model: 'tts-1', output: 'msg', createFolders: true } },
  { type: 'alltalk-control', props: { command: '', keepModel: true } },
];
const isBuilt = (type) => fs.existsSync(path.join(__dirname, '..', '..', 'nodes', `${type}.js`));
const INSTANCES = FUZZED.filter((f) => isBuilt(f.type)).map((f) => ({ ...f, id: `fuzz:${f.type}${f.variant ? `:${f.variant}` : ''}` }));

const RAW_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError];

/** Describes an error (or anything thrown) in one line, never throwing. */
function describe1(err) {
  try {
    if (err instanceof Error) return `${err.name}${err.kind ? `(${err.kind})` : ''}: ${String(err.message).slice(0, 160)}`;
    return `${typeof err}: ${String(err).slice(0, 160)}`;
  } catch {
    return 'an undescribable value';
  }
}

/**
 * Watches one node instance: every _complete(msg, err) (what done() calls) against the message
 * object itself, whether Node-RED threw while handling it, and every node.error() call.
 */
function watchNode(node, clock) {
  const ends = new Map();
  const errorCalls = [];
  const complete = node._complete;
  node._complete = function (msg, err) {
    const rec = { seq: clock.next(), err, threw: undefined };
    if (!ends.has(msg)) ends.set(msg, []);
    ends.get(msg).push(rec);
    try {
      return complete.call(this, msg, err);
    } catch (e) {
      rec.threw = e; // Node-RED failed on this message: our handler must report it with node.error
      throw e;
    }
  };
  const error = node.error;
  node.error = function (...args) {
    errorCalls.push({ seq: clock.next(), args });
    return error.apply(this, args);
  };
  return { ends, errorCalls };
}

/** What went wrong with one case, as sentences (empty when all is well). */
function checkCase(c, watch) {
  const problems = [];
  const recs = watch.ends.get(c.msg) || [];
  if (c.receiveThrew) problems.push(`node.receive() threw ${describe1(c.receiveThrew)}`);
  if (recs.length === 0) problems.push('never ended (no done() call)');
  if (recs.length > 1) problems.push(`ended ${recs.length} times`);
  for (const rec of recs) {
    const err = rec.err;
    if (err !== undefined && err !== null) {
      const raw = RAW_ERRORS.find((E) => err instanceof E);
      if (raw) problems.push(`done(err) with a raw ${raw.name}: ${describe1(err)}`);
      else if (!(err instanceof Error) || err.name !== 'AllTalkError' || typeof err.kind !== 'string') {
        problems.push(`done(err) with an error that is not an AllTalkError with a kind: ${describe1(err)}`);
      }
    }
    if (rec.threw) {
      // Allowed only when our handler then reported it with node.error(err, copy of the message).
      const reported = watch.errorCalls.some(({ seq, args: [error, copy] }) => seq > rec.seq &&
        copy && copy !== c.msg && copy._msgid === c.msgid && (!rec.err || error === rec.err));
      if (!reported) problems.push(`Node-RED threw on done(${rec.err ? 'err' : ''}) (${describe1(rec.threw)}) and it was not reported with node.error`);
    }
  }
  return problems;
}

describe(`fuzz: odd messages to every node type (seed 0x${SEED.toString(16)})`, function () {
  this.timeout(180000);
  let sim;
  let tmp;
  let cwd;
  const caught = [];
  const seen = new Set(); // mocha re-emits some rejections: each is recorded once
  const record = (event) => (err) => {
    if (seen.has(err)) return;
    seen.add(err);
    caught.push({ event, err, at: caught.batch });
  };
  const onUncaught = record('uncaughtException');
  const onRejection = record('unhandledRejection');

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-fuzz-'));
    fs.writeFileSync(path.join(tmp, 'plain.txt'), 'a regular file, used as if it were a folder');
    fs.mkdirSync(path.join(tmp, 'existing'));
    execFileSync('mkfifo', [path.join(tmp, 'fifo')]);
    fs.writeFileSync(path.join(tmp, 'linked.wav'), 'linked');
    fs.symlinkSync(path.join(tmp, 'linked.wav'), path.join(tmp, 'link.wav'));
    // Relative targets ('../../x', 'rel/...') stay inside the temporary folder.
    const work = path.join(tmp, 'w1', 'w2', 'w3');
    fs.mkdirSync(work, { recursive: true });
    cwd = process.cwd();
    process.chdir(work);
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onRejection);
  });

  after(async function () {
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onRejection);
    await helper.unload();
    if (sim) await sim.stop();
    process.chdir(cwd);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const perInstance = Math.ceil(TOTAL / INSTANCES.length);
  it(`ends each of ${perInstance * INSTANCES.length} messages (${INSTANCES.map((i) => i.id).join(', ')}) exactly once, ` +
    'with AllTalkErrors only, and nothing uncaught', async function () {
    sim = await startSim({ msPerChar: 0, minGenerationMs: 0, streamChunkIntervalMs: 0 });
    const ctx = {
      tmp,
      plainFile: path.join(tmp, 'plain.txt'),
      existingDir: path.join(tmp, 'existing'),
      fifo: path.join(tmp, 'fifo'),
      link: path.join(tmp, 'link.wav'),
      voice: sim.voices.find((v) => v.endsWith('.wav')),
    };
    const ids = INSTANCES.map((i) => i.id);
    await helper.load(allNodes(), [
      configNode(sim, { concurrency: 2, queueLimit: 1000, generationTimeout: 30 }),
      ...INSTANCES.map((i) => ({ id: i.id, type: i.type, server: 'cfg', wires: [['out']], ...i.props })),
      { id: 'out', type: 'helper' },
      // A Catch and a Complete node make Node-RED copy every failed or finished message.
      { id: 'fuzz:catch', type: 'catch', scope: null, uncaught: false, wires: [['out']] },
      { id: 'fuzz:complete', type: 'complete', scope: ids, wires: [['out']] },
    ]);
    await waitFor(() => helper.getNode('cfg').connection.state.state === 'ready', 'server ready');

    let seq = 0;
    const clock = { next: () => ++seq };
    const watches = new Map(INSTANCES.map((i) => [i.id, watchNode(helper.getNode(i.id), clock)]));
    const cases = makeCases(SEED, ids, perInstance * INSTANCES.length, ctx);
    const ended = (c) => (watches.get(c.target).ends.get(c.msg) || []).length > 0;

    // Answers from the audio cache count as work done, as generations do.
    let cachedAnswers = 0;
    helper.getNode('out').on('input', (m) => {
      if (m && m.alltalk && m.alltalk.cached === true) cachedAnswers++;
    });

    const sent = [];
    let stalled = 0;
    for (let b = 0; b * BATCH < cases.length && stalled < MAX_STALLED_BATCHES; b++) {
      const batch = cases.slice(b * BATCH, (b + 1) * BATCH);
      caught.batch = `batch ${b} (cases #${batch[0].index}-#${batch[batch.length - 1].index})`;
      for (const c of batch) {
        c.msg = c.build();
        c.msgid = c.msg._msgid;
        sent.push(c);
        try {
          helper.getNode(c.target).receive(c.msg);
        } catch (err) {
          c.receiveThrew = err;
        }
      }
      let count = -1;
      let changed = Date.now();
      await waitFor(() => {
        const n = batch.filter(ended).length;
        if (n !== count) [count, changed] = [n, Date.now()];
        return n === batch.length || Date.now() - changed > STALL_MS;
      }, `${caught.batch} to end`, 120000);
      if (count < batch.length) stalled++;
    }
    caught.batch = 'after the last batch';
    await new Promise((resolve) => setTimeout(resolve, 200)); // late second completions

    const problems = [];
    for (const c of sent) {
      for (const p of checkCase(c, watches.get(c.target))) problems.push(`case #${c.index} [${c.target}] ${c.desc}: ${p}`);
    }
    if (sent.length < cases.length) problems.push(`stopped after ${sent.length} of ${cases.length} messages: ${stalled} batches had messages that never ended`);
    for (const x of caught) problems.push(`${x.event} during ${x.at}: ${describe1(x.err)}`);
    const kinds = new Map();
    for (const p of problems) {
      const kind = p.replace(/^case #\d+ \[[^\]]*\] .*?: (?=never ended|ended \d|done\(|Node-RED|node\.receive)/, '').slice(0, 90);
      kinds.set(kind, (kinds.get(kind) || 0) + 1);
    }
    const summary = [...kinds].map(([k, n]) => `${n} × ${k}`).join('\n  ');
    const shown = problems.slice(0, 60).join('\n  ');
    assert.equal(problems.length, 0, `${problems.length} problem(s) with seed 0x${SEED.toString(16)}:\n  ${summary}\n` +
      `cases:\n  ${shown}${problems.length > 60 ? '\n  …' : ''}`);

    // The fuzz did real work: generations (or answers from the cache), downloads and file writes happened among the odd messages.
    const generations = sim.requests.filter((r) => r.path === '/api/tts-generate').length;
    if (INSTANCES.some((i) => i.type === 'alltalk-tts')) {
      assert.ok(generations + cachedAnswers >= 200, `only ${generations} generations and ${cachedAnswers} answers from the cache`);
      assert.ok(fs.readdirSync(path.join(tmp, 'out')).length > 10, 'files were written');
    }
  });
});
