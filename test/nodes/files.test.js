'use strict';
// alltalk-tts writing files: targets that are not plain files (a FIFO, a symbolic link), names
// near the 255-byte limit in a multi-byte script, and a split text joined part by part into a
// temporary file beside the target.
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helper, NODES, startSim, configNode, waitFor, ready } = require('./support');
const { parseWav } = require('../../dist/api');

const TTS = require('../../nodes/alltalk-tts.js');
const nodes = [NODES.config, TTS];

function flow(sim, ttsProps = {}) {
  return [
    configNode(sim),
    { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 2000, splitLongText: false, output: 'file', filePath: '', wires: [['out']], ...ttsProps },
    { id: 'out', type: 'helper' },
  ];
}

let seq = 0;
const id = () => `f${++seq}`;

/** Starts `msg` on node `nodeId`; resolves { err, outputs } once done() was called for it. */
function start(nodeId, msg) {
  const n = helper.getNode(nodeId);
  const out = helper.getNode('out');
  const outputs = [];
  const onOut = (m) => outputs.push(m);
  out.on('input', onOut);
  const complete = n._complete;
  return new Promise((resolve) => {
    n._complete = function (m, err) {
      if (m === msg) {
        n._complete = complete;
        // The output reaches the helper node on the next turn.
        setTimeout(() => {
          out.off('input', onOut);
          resolve({ err, outputs });
        }, 50);
      }
      return complete.apply(this, arguments);
    };
    n.receive(msg);
  });
}

const generations = (sim) => sim.requests.filter((r) => r.path === '/api/tts-generate');
const temporaryFiles = (dir) => fs.readdirSync(dir).filter((f) => /^\.alltalk-.*\.tmp$/.test(f));

describe('alltalk-tts file targets', function () {
  this.timeout(30000);
  let sim;
  let dir;
  let release;

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-files-'));
  });
  afterEach(async function () {
    if (release) release();
    release = undefined;
    await helper.unload();
    if (sim) await sim.stop();
    sim = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a FIFO is refused before anything is sent, and stays a FIFO', async function () {
    const fifo = path.join(dir, 'speaker.wav');
    execFileSync('mkfifo', [fifo]);
    sim = await startSim();
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const { err, outputs } = await start('tts', { _msgid: id(), payload: 'Hello there.', filename: fifo });
    assert.ok(err, 'the message ended with an error');
    assert.equal(err.name, 'AllTalkError', String(err));
    assert.equal(err.kind, 'validation');
    assert.match(err.message, /not a regular file.*Nothing was sent/);
    assert.equal(generations(sim).length, 0, 'nothing sent');
    assert.equal(outputs.length, 0);
    assert.ok(fs.lstatSync(fifo).isFIFO(), 'still the FIFO');
    assert.deepEqual(fs.readdirSync(dir), ['speaker.wav']);
  });

  it('a symbolic link to an existing file is written through: still a link, the file it points to holds the WAV', async function () {
    const real = path.join(dir, 'real.wav');
    const link = path.join(dir, 'link.wav');
    fs.writeFileSync(real, 'old contents');
    fs.symlinkSync(real, link);
    sim = await startSim();
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const { err, outputs } = await start('tts', { _msgid: id(), payload: 'Written through a link.', filename: link });
    assert.equal(err, undefined, err && err.message);
    assert.equal(outputs.length, 1);
    assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link is still a link');
    assert.equal(fs.readlinkSync(link), real, 'pointing where it did');
    const audio = fs.readFileSync(real);
    assert.ok(parseWav(audio).duration > 0, 'the file it points to holds the WAV');
    assert.deepEqual(fs.readFileSync(link), audio);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['link.wav', 'real.wav'], 'no temporary file left');
  });

  it('a 253-byte name of CJK characters (83 × 3 bytes + .wav) is written', async function () {
    const name = `${'語'.repeat(83)}.wav`;
    assert.equal(Buffer.byteLength(name), 253);
    const file = path.join(dir, name);
    sim = await startSim();
    await helper.load(nodes, flow(sim));
    await ready(sim);
    const { err, outputs } = await start('tts', { _msgid: id(), payload: 'A long name.', filename: file });
    assert.equal(err, undefined, err && err.message);
    assert.equal(outputs[0].payload, file);
    assert.ok(parseWav(fs.readFileSync(file)).duration > 0);
    assert.deepEqual(fs.readdirSync(dir), [name], 'no temporary file left');
  });

  it('a split text is joined part by part into a temporary file beside the target, then renamed', async function () {
    sim = await startSim({ msPerChar: 0, minGenerationMs: 0 });
    const file = path.join(dir, 'long.wav');
    await helper.load(nodes, flow(sim, { splitLongText: true, maxCharacters: 200, filePath: file }));
    await ready(sim);
    // The engine is held as soon as part 1 is generated: part 2 then waits, part 1 is in the file.
    sim.once('generation-end', () => {
      release = sim.holdEngine();
    });
    const sentence = 'The washing machine has finished its programme and the laundry can come out now. ';
    const ending = start('tts', { _msgid: id(), payload: sentence.repeat(6) });
    await waitFor(() => sim.generations.length >= 2, 'part 2 to start generating');
    const tmp = await waitFor(() => {
      const found = temporaryFiles(dir);
      return found.length === 1 && fs.statSync(path.join(dir, found[0])).size > 44 && found[0];
    }, 'part 1 to be written to the temporary file');
    const whileHeld = fs.statSync(path.join(dir, tmp)).size;
    assert.equal(sim.generations[1].endedAt, undefined, 'part 2 is still being generated');
    assert.ok(!fs.existsSync(file), 'the target appears only when complete');
    release();
    const { err, outputs } = await ending;
    assert.equal(err, undefined, err && err.message);
    assert.equal(outputs[0].alltalk.parts, 3);
    assert.equal(generations(sim).length, 3);
    const joined = fs.readFileSync(file);
    const info = parseWav(joined);
    assert.equal(info.dataOffset + info.declaredDataLength, joined.length, 'the header holds the real sizes');
    assert.equal(outputs[0].alltalk.bytes, joined.length);
    assert.ok(joined.length > whileHeld, `the temporary file held part 1 only (${whileHeld} of ${joined.length} bytes)`);
    assert.deepEqual(fs.readdirSync(dir), ['long.wav'], 'the temporary file is gone');
  });
});
