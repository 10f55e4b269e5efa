'use strict';
// Where alltalk-tts, alltalk-openai and alltalk-stream may write audio files, in a real Node-RED
// runtime (a temporary user directory with settings.js, flows.json, flows_cred.json and
// .config.runtime.json) against the simulator: a message cannot turn on file output unless the
// dialog's Output is "set by msg.alltalk.output"; Node-RED's own files and the audio cache's
// secret are refused, also behind symbolic links (a linked file or a linked folder); relative
// paths start in fileWorkingDirectory, else in the user directory; missing folders are made only
// with "create folders". A refused message ends with a validation error that reaches Catch,
// nothing is sent to AllTalk and every protected file is byte-for-byte unchanged.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { helper, NODES, startSim, configNode, waitFor, ready, runOn } = require('./support');
const { parseWav } = require('../../dist/api');

const TTS = require('../../nodes/alltalk-tts.js');
const OPENAI = require('../../nodes/alltalk-openai.js');
const STREAM = require('../../nodes/alltalk-stream.js');
const nodes = [NODES.config, TTS, OPENAI, STREAM];

/** Node-RED's own files in the user directory, with known contents. */
const OWN_FILES = {
  'settings.js': 'module.exports = {\n    flowFile: "flows.json",\n    uiPort: 1880\n};\n',
  'flows.json': '[{"id":"tab1","type":"tab","label":"Home"}]\n',
  'flows_cred.json': '{"$":"0123456789abcdef-encrypted-credentials"}\n',
  '.config.runtime.json': '{\n    "_credentialSecret": "a-secret-that-must-stay"\n}\n',
};

/** The requests that would make AllTalk speak. */
const GENERATION_PATHS = ['/api/tts-generate', '/api/tts-generate-streaming', '/v1/audio/speech'];
const generations = (sim) => sim.requests.filter((r) => GENERATION_PATHS.includes(r.path));

/**
 * A configuration (id "cfg"), one node of each kind ("tts", "oa", "st", their Output as given), the
 * same nodes with Output "file" and no path of their own ("tts-file", "oa-file", "st-file": the
 * path comes from msg.filename), and the helper node "out".
 */
function flow(sim, { tts = {}, openai = {}, stream = {} } = {}) {
  const base = [
    { id: 'tts', type: 'alltalk-tts', server: 'cfg', property: 'payload', propertyType: 'msg', maxCharacters: 2000, splitLongText: false, output: '', filePath: '', wires: [['out']], ...tts },
    { id: 'oa', type: 'alltalk-openai', server: 'cfg', property: 'payload', propertyType: 'msg', voice: 'alloy', format: 'wav', speed: '', model: 'tts-1', output: '', filePath: '', splitLongText: false, wires: [['out']], ...openai },
    { id: 'st', type: 'alltalk-stream', server: 'cfg', property: 'payload', propertyType: 'msg', voice: 'female_01.wav', language: 'en', output: '', filePath: '', maxCharacters: 2000, splitLongText: false, wires: [['out']], ...stream },
  ];
  const fileTwins = base.map((n) => ({ ...n, id: `${n.id}-file`, output: 'file', filePath: '', createFolders: false }));
  return [configNode(sim), ...base, ...fileTwins, { id: 'out', type: 'helper' }];
}

let seq = 0;
const msg = (props) => ({ _msgid: `fs${++seq}`, ...props });

describe('file output safety', function () {
  this.timeout(30000);
  let sim;
  let userDir;
  let elsewhere;
  let cwd;

  beforeEach(async function () {
    userDir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-userdir-')));
    elsewhere = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'alltalk-elsewhere-')));
    for (const [name, text] of Object.entries(OWN_FILES)) fs.writeFileSync(path.join(userDir, name), text);
    helper.settings({ userDir, settingsFile: path.join(userDir, 'settings.js'), flowFile: 'flows.json' });
    // The process works in a folder of its own: a path wrongly taken from the working directory
    // lands there, never in the project.
    cwd = process.cwd();
    process.chdir(elsewhere);
    sim = await startSim();
  });

  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    process.chdir(cwd);
    if (sim) await sim.stop();
    sim = undefined;
    fs.rmSync(userDir, { recursive: true, force: true });
    fs.rmSync(elsewhere, { recursive: true, force: true });
  });

  async function deploy(props) {
    await helper.load(nodes, flow(sim, props));
    await ready(sim);
  }

  /** What must not change: Node-RED's files (byte for byte) and the user directory's listing. */
  function snapshot(extraFiles = []) {
    const files = [...Object.keys(OWN_FILES).map((n) => path.join(userDir, n)), ...extraFiles];
    return {
      listing: fs.readdirSync(userDir).sort(),
      contents: new Map(files.map((f) => [f, fs.readFileSync(f)])),
    };
  }

  function assertUnchanged(before) {
    for (const [file, bytes] of before.contents) {
      assert.ok(fs.lstatSync(file).isFile(), `${file} is still a plain file`);
      assert.ok(fs.readFileSync(file).equals(bytes), `${file} is unchanged`);
    }
    assert.deepEqual(fs.readdirSync(userDir).sort(), before.listing, 'nothing added to or removed from the user directory');
  }

  /**
   * Sends `m` to node `nodeId` and checks it is refused: a validation error reaching Catch, whose
   * message matches every one of `why`, nothing sent, the protected files unchanged.
   */
  async function refused(nodeId, m, why, extraFiles = []) {
    const before = snapshot(extraFiles);
    const r = await runOn(nodeId, m);
    assert.ok(r.error, `refused, but the message went on with payload ${JSON.stringify(r.msg && r.msg.payload)}`);
    assert.equal(r.error.code, 'ALLTALK_VALIDATION', r.error.message);
    assert.equal(r.error.kind, 'validation');
    for (const re of [].concat(why)) assert.match(r.error.message, re);
    assert.equal(r.msg, m, 'the error carries the message, for Catch');
    assert.deepEqual(generations(sim).map((g) => g.path), [], 'nothing sent to AllTalk');
    assertUnchanged(before);
    return r.error;
  }

  /**
   * A protected msg.filename is refused both where the dialog's Output is "file" (node
   * `<nodeId>-file`) and where it is "set by msg.alltalk.output" and the message asks for a file.
   */
  async function refusedBoth(nodeId, props, why, extraFiles = []) {
    await refused(`${nodeId}-file`, msg(props), why, extraFiles);
    await refused(nodeId, msg({ ...props, alltalk: { output: 'file' } }), why, extraFiles);
  }

  const quoted = (s) => new RegExp(JSON.stringify(s).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

  describe('alltalk-tts', function () {
    it('blank Output: msg.alltalk.output "file" is refused, settings.js untouched, and no other path written either', async function () {
      await deploy();
      const settings = path.join(userDir, 'settings.js');
      await refused('tts', msg({ payload: 'Overwrite the settings.', filename: settings, alltalk: { output: 'file' } }), /"file" is not taken/);
      const harmless = path.join(elsewhere, 'speech.wav');
      await refused('tts', msg({ payload: 'A harmless file.', filename: harmless, alltalk: { output: 'file' } }), /"file" is not taken/);
      assert.ok(!fs.existsSync(harmless), 'not written');
      // Other modes are still the message's to pick.
      const r = await runOn('tts', msg({ payload: 'A buffer is fine.', filename: settings, alltalk: { output: 'buffer' } }));
      assert.equal(r.error, undefined, r.error && r.error.message);
      assert.ok(Buffer.isBuffer(r.msg.payload));
      assert.equal(fs.readFileSync(settings, 'utf8'), OWN_FILES['settings.js']);
    });

    const own = [
      ['settings.js', /it is one of Node-RED's own files/],
      ['flows.json', /it is one of Node-RED's own files|flow or credential files/],
      ['flows_cred.json', /it is one of Node-RED's own files|flow or credential files/],
      ['.config.runtime.json', /it is one of Node-RED's own files \(\.config\.\*\.json\)/],
    ];
    for (const [name, why] of own) {
      it(`Output "msg" (and "file"): msg.filename <userDir>/${name} is refused and left as it was`, async function () {
        await deploy({ tts: { output: 'msg' } });
        const file = path.join(userDir, name);
        await refusedBoth('tts', { payload: `Overwrite ${name}.`, filename: file }, [quoted(file), why]);
      });
    }

    it('Output "msg" (and "file"): a symbolic link elsewhere pointing to flows.json is refused; the link and flows.json stay as they were', async function () {
      await deploy({ tts: { output: 'msg' } });
      const flows = path.join(userDir, 'flows.json');
      const link = path.join(elsewhere, 'speech.wav');
      fs.symlinkSync(flows, link);
      await refusedBoth('tts', { payload: 'Through a link.', filename: link },
        [quoted(link), new RegExp(`${flows.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: it is one of Node-RED's own files`)]);
      assert.ok(fs.lstatSync(link).isSymbolicLink(), 'still a link');
      assert.equal(fs.readlinkSync(link), flows, 'pointing where it did');
      assert.deepEqual(fs.readdirSync(elsewhere), ['speech.wav'], 'no temporary file beside the link');
    });

    it('Output "msg" (and "file"): flows.json through a linked folder pointing at the user directory is refused', async function () {
      await deploy({ tts: { output: 'msg' } });
      const linkedDir = path.join(elsewhere, 'linked');
      fs.symlinkSync(userDir, linkedDir, 'dir');
      const file = path.join(linkedDir, 'flows.json');
      await refusedBoth('tts', { payload: 'Through a linked folder.', filename: file },
        [quoted(file), /one of Node-RED's own files|flow or credential files/]);
      // flows_cred.json and settings.js the same way.
      for (const name of ['flows_cred.json', 'settings.js']) {
        await refusedBoth('tts', { payload: `Through a linked folder: ${name}.`, filename: path.join(linkedDir, name) },
          /one of Node-RED's own files|flow or credential files/);
      }
    });

    it('Output "msg" (and "file"): the audio cache\'s secret (<userDir>/alltalk-cache/cfg/secret) is refused and unchanged', async function () {
      await deploy({ tts: { output: 'msg' } });
      const secret = path.join(userDir, 'alltalk-cache', 'cfg', 'secret');
      await waitFor(() => fs.existsSync(secret) && fs.statSync(secret).size > 0, 'the cache secret to be made');
      const inCache = fs.readdirSync(path.dirname(secret)).sort();
      await refusedBoth('tts', { payload: 'Overwrite the secret.', filename: secret },
        [quoted(secret), /inside .*alltalk-cache.*, which belongs to Node-RED or to an audio cache/], [secret]);
      // Nor a new file in the cache folder.
      const beside = path.join(path.dirname(secret), 'mine.wav');
      await refusedBoth('tts', { payload: 'Into the cache folder.', filename: beside },
        /which belongs to Node-RED or to an audio cache/, [secret]);
      assert.deepEqual(fs.readdirSync(path.dirname(secret)).sort(), inCache, 'nothing added to the cache folder');
    });

    it('Output "msg" (and "file"): a relative "settings.js" resolves in the user directory and is refused', async function () {
      await deploy({ tts: { output: 'msg' } });
      await refusedBoth('tts', { payload: 'Relative settings.', filename: 'settings.js' },
        [/"settings\.js"/, /it is one of Node-RED's own files/]);
      assert.ok(!fs.existsSync(path.join(elsewhere, 'settings.js')), 'nothing written in the working directory');
    });

    it('Output "msg" with create folders: a relative "out/x.wav" is written to <userDir>/out/x.wav', async function () {
      await deploy({ tts: { output: 'msg', createFolders: true } });
      const r = await runOn('tts', msg({ payload: 'Into a new folder.', filename: 'out/x.wav', alltalk: { output: 'file' } }));
      assert.equal(r.error, undefined, r.error && r.error.message);
      const file = path.join(userDir, 'out', 'x.wav');
      assert.equal(r.msg.payload, file);
      assert.equal(r.msg.filename, file);
      const audio = fs.readFileSync(file);
      assert.equal(audio.toString('ascii', 0, 4), 'RIFF');
      assert.ok(parseWav(audio).duration > 0);
      assert.equal(generations(sim).length, 1);
      assert.ok(!fs.existsSync(path.join(elsewhere, 'out')), 'nothing written in the working directory');
      for (const [name, text] of Object.entries(OWN_FILES)) assert.equal(fs.readFileSync(path.join(userDir, name), 'utf8'), text, name);
    });

    it('a path in a missing folder, without create folders: refused before sending, the folder not made', async function () {
      await deploy({ tts: { output: 'file' } });
      const folder = path.join(elsewhere, 'missing', 'deeper');
      const file = path.join(folder, 'x.wav');
      await refused('tts', msg({ payload: 'Into a missing folder.', filename: file }), [/does not exist/, /create folders/]);
      assert.ok(!fs.existsSync(path.join(elsewhere, 'missing')), 'the folder was not made');
      // With the dialog's path too.
      await helper.unload();
      await deploy({ tts: { output: 'file', filePath: file } });
      await refused('tts', msg({ payload: 'Into a missing folder, from the dialog.' }), [/does not exist/, /create folders/]);
      assert.ok(!fs.existsSync(path.join(elsewhere, 'missing')), 'the folder was not made');
    });

    it('a path in a missing folder, with create folders: the folders are made and the WAV written', async function () {
      await deploy({ tts: { output: 'file', createFolders: true } });
      const file = path.join(elsewhere, 'missing', 'deeper', 'x.wav');
      const r = await runOn('tts', msg({ payload: 'Into a missing folder.', filename: file }));
      assert.equal(r.error, undefined, r.error && r.error.message);
      assert.equal(r.msg.payload, file);
      assert.equal(fs.readFileSync(file).toString('ascii', 0, 4), 'RIFF');
      assert.deepEqual(fs.readdirSync(path.dirname(file)), ['x.wav'], 'no temporary file left');
    });

    it('with fileWorkingDirectory set, a relative path resolves there (not in the user directory)', async function () {
      const workDir = path.join(elsewhere, 'work');
      fs.mkdirSync(workDir);
      helper.settings({ userDir, settingsFile: path.join(userDir, 'settings.js'), flowFile: 'flows.json', fileWorkingDirectory: workDir });
      await deploy({ tts: { output: 'file' } });
      const before = snapshot();
      const r = await runOn('tts', msg({ payload: 'In the working directory.', filename: 'speech.wav' }));
      assert.equal(r.error, undefined, r.error && r.error.message);
      const file = path.join(workDir, 'speech.wav');
      assert.equal(r.msg.payload, file);
      assert.equal(fs.readFileSync(file).toString('ascii', 0, 4), 'RIFF');
      assert.ok(!fs.existsSync(path.join(userDir, 'speech.wav')), 'not in the user directory');
      assert.ok(!fs.existsSync(path.join(elsewhere, 'speech.wav')), 'not in the process\'s working directory');
      assertUnchanged(before);
    });
  });

  describe('alltalk-openai', function () {
    it('blank Output: msg.alltalk.output "file" is refused; Output "msg" (and "file"): msg.filename flows.json is refused', async function () {
      await deploy({ openai: { output: '' } });
      await refused('oa', msg({ payload: 'Overwrite the settings.', filename: path.join(userDir, 'settings.js'), alltalk: { output: 'file' } }),
        /"file" is not taken/);
      await helper.unload();
      await deploy({ openai: { output: 'msg' } });
      const flows = path.join(userDir, 'flows.json');
      await refusedBoth('oa', { payload: 'Overwrite the flows.', filename: flows },
        [quoted(flows), /one of Node-RED's own files|flow or credential files/]);
      await refusedBoth('oa', { payload: 'Overwrite the runtime config.', filename: path.join(userDir, '.config.runtime.json') },
        /\.config\.\*\.json/);
    });
  });

  describe('alltalk-stream', function () {
    it('blank Output: msg.alltalk.output "file" is refused; Output "msg" (and "file"): msg.filename flows_cred.json is refused', async function () {
      await deploy({ stream: { output: '' } });
      await refused('st', msg({ payload: 'Overwrite the settings.', filename: path.join(userDir, 'settings.js'), alltalk: { output: 'file' } }),
        /"file" is not taken/);
      await helper.unload();
      await deploy({ stream: { output: 'msg' } });
      const cred = path.join(userDir, 'flows_cred.json');
      await refusedBoth('st', { payload: 'Overwrite the credentials.', filename: cred },
        [quoted(cred), /one of Node-RED's own files|flow or credential files/]);
      await refusedBoth('st', { payload: 'Overwrite the settings.', filename: path.join(userDir, 'settings.js') },
        /one of Node-RED's own files/);
    });
  });
});
