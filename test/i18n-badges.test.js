'use strict';
// Badge texts: the runtime sends them in English (flows compare them), the editor shows them in its
// own language. The en-US catalogue must give back exactly what src/runtime/node-badge.ts makes,
// so the two cannot drift apart; the German one must give German, the error's reason unchanged.
// resources/alltalk-editor.js runs here in a vm with a small stand-in for jQuery and RED.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const sinon = require('sinon');
const badges = require('../dist/runtime/node-badge');

const root = path.join(__dirname, '..');
const NS = 'node-red-contrib-alltalk/alltalk-config';
const catalogue = (lang) => JSON.parse(fs.readFileSync(path.join(root, 'src', 'nodes', 'alltalk-config', 'locales', lang, 'alltalk-config.json'), 'utf8'));

/** i18next as the editor sets it up: "ns:a.b.c" keys, __x__ placeholders, the key (without ns) when missing. */
function i18n(catalogues) {
  return function _(key, opts = {}) {
    const colon = key.indexOf(':');
    const ns = colon < 0 ? 'editor' : key.slice(0, colon);
    const k = colon < 0 ? key : key.slice(colon + 1);
    const value = k.split('.').reduce((o, p) => (o && typeof o === 'object' ? o[p] : undefined), catalogues[ns]);
    if (typeof value !== 'string') return opts.defaultValue !== undefined ? opts.defaultValue : k;
    return value.replace(/__(\w+)__/g, (m, name) => (name in opts ? String(opts[name]) : m));
  };
}

/** A jQuery stand-in on which every call chains (the script asks for the rules and adds a style). */
function chain() {
  const f = new Proxy(function () {}, { get: (_t, k) => (k === 'then' ? undefined : f), apply: () => f });
  return f;
}

/** The editor script loaded for `lang`, with a registered node type whose own `_` answers "own:<key>". */
function editor(lang) {
  const types = {};
  const RED = { _: i18n(lang ? { [NS]: catalogue(lang) } : {}), nodes: { getType: (t) => types[t] } };
  const context = { $: chain(), RED };
  context.window = context;
  vm.runInNewContext(fs.readFileSync(path.join(root, 'resources', 'alltalk-editor.js'), 'utf8'), context);
  types['alltalk-tts'] = { _: (key, opts) => (opts && opts.defaultValue !== undefined ? opts.defaultValue : `own:${key}`) };
  context.AllTalkEditor.translateBadges('alltalk-tts');
  // What the editor does with each status message (red.js: node._(text, {defaultValue: text})).
  const shown = (text) => types['alltalk-tts']._(text, { defaultValue: text });
  return { AllTalkEditor: context.AllTalkEditor, shown, def: types['alltalk-tts'] };
}

/** Every badge text the runtime makes, by the key of its catalogue text and the parameters that fill it. */
function runtimeBadges() {
  const clock = sinon.useFakeTimers({ now: 1_000_000 });
  try {
    const sent = [];
    const b = new badges.NodeBadge((s) => sent.push(s));
    const next = (fn) => {
      clock.tick(badges.BADGE_INTERVAL_MS);
      sent.length = 0;
      fn();
      clock.tick(badges.BADGE_INTERVAL_MS);
      return sent[sent.length - 1].text;
    };
    const state = (s) => badges.stateBadge({ state: s, since: 0 }).text;
    const noServer = sent[0].text;
    const job = b.job();
    const queued = next(() => job.onPosition(3));
    const generating = next(() => job.onPosition(0));
    job.finish();
    return [
      ['connecting', {}, state('connecting')],
      ['ready', {}, state('ready')],
      ['busy', {}, state('busy')],
      ['loading', {}, state('loading')],
      ['loading', {}, badges.LOADING_MODEL_TEXT],
      ['offline', {}, state('offline')],
      ['noServer', {}, noServer],
      ['queued', { n: 3 }, queued],
      ['generating', {}, generating],
      ['streaming', {}, badges.STREAMING_TEXT],
      ['streamingTime', { time: '3.4 s' }, badges.streamingText(3400)],
      ['streamingTime', { time: '12 s' }, badges.streamingText(12345)],
      ['done', { time: '1.8 s' }, next(() => b.done(1800))],
      ['done', { time: '25 s' }, next(() => b.done(25_000))],
      ['doneDetail', { time: '0.4 s', detail: '(2 parts)' }, next(() => b.done(400, '(2 parts)'))],
      ['stopped', {}, next(() => b.stopped())],
      ['stopping', {}, badges.STOPPING_TEXT],
      ['waiting', {}, badges.WAITING_TEXT],
      ['noVoice', {}, badges.NO_VOICE_TEXT],
      ['error', { reason: 'AllTalk is not answering' }, next(() => b.error('AllTalk is not answering'))],
      ['listening', { address: '0.0.0.0:10200' }, badges.listeningText('0.0.0.0:10200', 0, 0)],
      ['listeningServed', { address: '0.0.0.0:10200', served: 12 }, badges.listeningText('0.0.0.0:10200', 12, 0)],
      ['listeningFailed', { address: '127.0.0.1:10300', served: 12, failed: 1 }, badges.listeningText('127.0.0.1:10300', 12, 1)],
      ['speaking', { n: 2 }, badges.speakingText(2)],
      ['portInUse', { port: 10200 }, badges.portInUseText(10200)],
    ];
  } finally {
    clock.restore();
  }
}

describe('i18n: status badges', function () {
  const en = catalogue('en-US')['alltalk-config'].badge;
  const fill = (text, params) => text.replace(/__(\w+)__/g, (m, name) => (name in params ? String(params[name]) : m));

  it('the en-US badge texts are exactly what the runtime sends, and every one is covered', function () {
    const made = runtimeBadges();
    for (const [key, params, text] of made) {
      assert.equal(typeof en[key], 'string', `alltalk-config.badge.${key} exists`);
      assert.equal(fill(en[key], params), text, `alltalk-config.badge.${key}`);
    }
    assert.deepEqual([...new Set(made.map(([key]) => key))].sort(), Object.keys(en).sort(), 'every badge key has a runtime text, and the other way round');
  });

  it('in en-US the editor shows every runtime badge unchanged, answered by the catalogue', function () {
    const { AllTalkEditor, shown } = editor('en-US');
    const known = (key, params) => {
      const v = i18n({ [NS]: catalogue('en-US') })(`${NS}:alltalk-config.${key}`, params);
      return v.startsWith('alltalk-config.') ? undefined : v;
    };
    for (const [, , text] of runtimeBadges()) {
      assert.equal(AllTalkEditor.badgeText(text, known), text, `"${text}" is recognised as a badge`);
      assert.equal(shown(text), text);
    }
  });

  it('in German the editor shows German badges, with the decimal comma and the error reason as sent', function () {
    const { shown } = editor('de');
    const expected = {
      'connecting': 'Verbindung wird hergestellt',
      'ready': 'Bereit',
      'busy': 'Beschäftigt',
      'loading model…': 'Modell wird geladen…',
      'offline': 'Offline',
      'no server configured': 'Kein Server konfiguriert',
      'queued (3)': 'In Warteschlange (3)',
      'queued (12)': 'In Warteschlange (12)',
      'generating…': 'Wird erzeugt…',
      'streaming…': 'Stream läuft…',
      'streaming 3.4 s': 'Stream läuft: 3,4 s',
      'streaming 12 s': 'Stream läuft: 12 s',
      'done 1.8 s': 'Fertig nach 1,8 s',
      'done 0.4 s (2 parts)': 'Fertig nach 0,4 s (2 parts)',
      'stopped': 'Gestoppt',
      'stopping': 'Wird gestoppt',
      'waiting for a speaker': 'Wartet auf Lautsprecher',
      'no voice chosen': 'Keine Stimme gewählt',
      'listening 0.0.0.0:10200': 'Lauscht auf 0.0.0.0:10200',
      'listening 0.0.0.0:10200 · 12 served · 1 failed': 'Lauscht auf 0.0.0.0:10200 · 12 beantwortet · 1 fehlgeschlagen',
      'speaking (2)': 'Spricht (2)',
      'port 10200 in use · retrying': 'Port 10200 belegt · neuer Versuch',
      'error: voice "x.wav" is not on the server: …': 'Fehler: voice "x.wav" is not on the server: …',
      'error: ': 'Fehler: ',
    };
    for (const [text, german] of Object.entries(expected)) assert.equal(shown(text), german, text);
  });

  it('leaves every other text to the node type\'s own translation', function () {
    const { shown, def } = editor('de');
    for (const text of ['alltalk-tts.label.voice', 'ready now', 'queued', 'queued (n)', 'errors: 2', 'Done 1.8 s', 'my own status']) {
      assert.equal(shown(text), text, `"${text}" is passed on unchanged`);
    }
    assert.equal(def._('alltalk-tts.node.say', { voice: 'Anna' }), 'own:alltalk-tts.node.say');
  });

  it('shows the English text when the catalogue is not loaded, and wraps a type only once', function () {
    const { shown, AllTalkEditor, def } = editor(undefined);
    assert.equal(shown('queued (2)'), 'queued (2)');
    assert.equal(shown('done 1.8 s'), 'done 1.8 s');
    const wrapped = def._;
    AllTalkEditor.translateBadges('alltalk-tts');
    AllTalkEditor.translateBadges('no-such-type');
    assert.equal(def._, wrapped);
  });

  it('names the server state in the dialog\'s summary in the editor\'s language', function () {
    assert.equal(editor('en-US').AllTalkEditor.stateText('loading'), 'loading');
    assert.equal(editor('de').AllTalkEditor.stateText('ready'), 'bereit');
    assert.equal(editor('de').AllTalkEditor.stateText('loading'), 'lädt ein Modell');
    assert.equal(editor('de').AllTalkEditor.stateText('unknown'), 'unknown');
  });

  it('every node type with a badge has its badges translated right after it is registered', function () {
    const types = Object.keys(require('../package.json')['node-red'].nodes).filter((t) => t !== 'alltalk-config');
    for (const type of types) {
      const html = fs.readFileSync(path.join(root, 'src', 'nodes', type, `${type}.html`), 'utf8');
      const registered = html.indexOf(`RED.nodes.registerType('${type}'`);
      const translated = html.search(new RegExp(`(AllTalkEditor|AE)\\.translateBadges\\('${type}'\\)`));
      assert.ok(registered >= 0 && translated > registered, `${type}.html calls translateBadges('${type}') after registerType`);
    }
  });
});
