'use strict';
// Every text the editor shows comes from a message catalogue, in en-US and in de: both catalogues
// of a node have the same keys and the same placeholders, both help pages list the same message
// properties, and every key the dialogs (as built, with their shared rows) and the editor scripts in
// resources/ ask for exists.
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { expandRows } = require('../scripts/form-rows');

const root = path.join(__dirname, '..');
const LANGS = ['en-US', 'de'];
const MODULE = 'node-red-contrib-alltalk';
const types = Object.keys(require('../package.json')['node-red'].nodes);

const read = (...p) => fs.readFileSync(path.join(root, ...p), 'utf8');
const localeFile = (type, lang, ext) => path.join('src', 'nodes', type, 'locales', lang, `${type}.${ext}`);
const catalogue = (type, lang) => JSON.parse(read(localeFile(type, lang, 'json')));

/** { 'alltalk-tts.label.text': 'Text', ... } */
function flatten(obj, prefix = '', out = {}) {
  for (const [k, v] of Object.entries(obj)) {
    if (v !== null && typeof v === 'object') flatten(v, `${prefix}${k}.`, out);
    else out[prefix + k] = v;
  }
  return out;
}

const placeholders = (text) => [...String(text).matchAll(/__(\w+)__/g)].map((m) => m[1]).sort();

/** The outermost <dl class="message-properties"> blocks, nested lists included in their parent. */
function propertyLists(html) {
  const blocks = [];
  const tag = /<(\/?)dl\b[^>]*>/g;
  let depth = 0;
  let start = 0;
  for (let m; (m = tag.exec(html));) {
    if (!m[1]) {
      if (depth++ === 0) start = m.index;
    } else if (--depth === 0) {
      blocks.push(html.slice(start, tag.lastIndex));
    }
  }
  return blocks;
}

/** The property names (<dt>) of the lists before the Details section, in order. */
function propertyNames(html) {
  const details = html.indexOf('<h3>Details</h3>');
  const before = details < 0 ? html : html.slice(0, details);
  return propertyLists(before).flatMap((dl) => [...dl.matchAll(/<dt[^>]*>\s*([^<]*?)\s*(?:<span|<\/dt>)/g)].map((m) => m[1]));
}

/** Everything in <code> in the property lists, as a sorted set. */
function codeNames(html) {
  const all = propertyLists(html).flatMap((dl) => [...dl.matchAll(/<code>([\s\S]*?)<\/code>/g)].map((m) => m[1].replace(/\s+/g, ' ')));
  return [...new Set(all)].sort();
}

describe('i18n: message catalogues and help', function () {
  for (const type of types) {
    describe(type, function () {
      const cats = Object.fromEntries(LANGS.map((lang) => [lang, flatten(catalogue(type, lang))]));

      it('has a catalogue in every language, under the type\'s own name', function () {
        for (const lang of LANGS) {
          assert.deepEqual(Object.keys(catalogue(type, lang)), [type], `${lang}/${type}.json has one top-level key, ${type}`);
          for (const [key, value] of Object.entries(cats[lang])) {
            assert.equal(typeof value, 'string', `${lang} ${key} is a text`);
            assert.ok(value.trim() !== '', `${lang} ${key} is not empty`);
          }
        }
      });

      it('has the same keys in en-US and de', function () {
        const [en, de] = LANGS.map((lang) => Object.keys(cats[lang]));
        const notInDe = en.filter((k) => !de.includes(k));
        const notInEn = de.filter((k) => !en.includes(k));
        assert.deepEqual({ notInDe, notInEn }, { notInDe: [], notInEn: [] },
          `${type}: keys missing in de: ${notInDe.join(', ') || '-'}; keys missing in en-US: ${notInEn.join(', ') || '-'}`);
      });

      it('uses the same __placeholders__ in both languages', function () {
        for (const [key, en] of Object.entries(cats['en-US'])) {
          if (!(key in cats.de)) continue;
          assert.deepEqual(placeholders(cats.de[key]), placeholders(en), `${type} ${key}: de "${cats.de[key]}" vs en-US "${en}"`);
        }
      });

      it('has help in every language, listing the same message properties', function () {
        const help = Object.fromEntries(LANGS.map((lang) => {
          const file = localeFile(type, lang, 'html');
          assert.ok(fs.existsSync(path.join(root, file)), `${file} exists`);
          return [lang, read(file)];
        }));
        for (const lang of LANGS) {
          assert.match(help[lang], new RegExp(`^<script type="text/html" data-help-name="${type}">`), `${lang} help is for ${type}`);
        }
        const [en, de] = LANGS.map((lang) => help[lang]);
        assert.deepEqual(propertyNames(de), propertyNames(en), `${type}: the property names of the de help`);
        assert.deepEqual(codeNames(de), codeNames(en), `${type}: the code in the property lists of the de help`);
        const sections = (html) => (html.match(/<h3>/g) || []).length;
        assert.equal(sections(de), sections(en), `${type}: as many sections in de as in en-US`);
        if (type !== 'alltalk-config') assert.ok(propertyNames(en).includes('payload'), `${type} help lists msg.payload`);
      });
    });
  }

  describe('keys the editor asks for', function () {
    const en = Object.fromEntries(types.map((t) => [t, flatten(catalogue(t, 'en-US'))]));

    /** Where a key used in `source` (`type`'s dialog, or the shared script) must be found. */
    function resolve(key, type, problems, where) {
      let ns = type;
      let k = key;
      const colon = key.indexOf(':');
      if (colon >= 0) {
        const prefix = key.slice(0, colon);
        if (prefix === 'node-red' || prefix.startsWith('node-red:')) return 0; // core texts
        if (!prefix.startsWith(`${MODULE}/`)) return problems.push(`${where}: "${key}" names an unknown catalogue`), 0;
        ns = prefix.slice(MODULE.length + 1);
        k = key.slice(colon + 1);
      }
      if (!en[ns]) return problems.push(`${where}: "${key}": there is no node type ${ns}`), 0;
      if (typeof en[ns][k] !== 'string') problems.push(`${where}: "${key}" is not in ${ns}'s en-US catalogue`);
      return 1;
    }

    /** A node's dialog as Node-RED gets it: src/nodes/<type>/<type>.html with its shared rows. */
    function builtDialog(type) {
      return expandRows(read('src', 'nodes', type, `${type}.html`), `${type}.html`);
    }

    function dataI18nKeys(html) {
      return [...html.matchAll(/data-i18n="([^"]+)"/g)].flatMap((m) => m[1].split(';').map((s) => s.replace(/^\[[^\]]*\]/, '').trim()).filter(Boolean));
    }
    /** Literal keys of `_('…')`, `this._(…)`, `node._(…)`, `RED._(…)`; dynamic ones cannot be read. */
    function underscoreKeys(js) {
      return [...js.matchAll(/(?:^|[^\w$])(RED\.)?_\(\s*'([^']+)'\s*[,)]/g)].map((m) => ({ key: m[2], red: !!m[1] }));
    }

    it('every data-i18n and _() key of the node dialogs is in the en-US catalogue', function () {
      const problems = [];
      let checked = 0;
      for (const type of types) {
        const html = builtDialog(type);
        for (const key of dataI18nKeys(html)) checked += resolve(key, type, problems, `${type}.html data-i18n`);
        for (const { key, red } of underscoreKeys(html)) {
          // RED._ has no node namespace: without one, the key would be looked up in the core's.
          if (red && !key.includes(':')) problems.push(`${type}.html: RED._('${key}') needs its catalogue's namespace`);
          else checked += resolve(key, type, problems, `${type}.html _()`);
        }
      }
      assert.deepEqual(problems, []);
      assert.ok(checked > 150, `only ${checked} keys found: the patterns no longer match the dialogs`);
    });

    it('every t() key and literal catalogue key of the editor scripts in resources/ is in the alltalk-config catalogue', function () {
      const js = fs.readdirSync(path.join(root, 'resources')).filter((f) => f.endsWith('.js')).map((f) => read('resources', f)).join('\n');
      const problems = [];
      let checked = 0;
      for (const m of js.matchAll(/(?:^|[^\w$])(?:t|known)\(\s*'([^']+)'\s*[,)]/g)) {
        checked += resolve(`${MODULE}/alltalk-config:alltalk-config.${m[1]}`, 'alltalk-config', problems, 'alltalk-editor.js t()');
      }
      for (const { key } of underscoreKeys(js)) checked += resolve(key, 'alltalk-config', problems, 'alltalk-editor.js RED._()');
      assert.deepEqual(problems, []);
      assert.ok(checked >= 10, `only ${checked} keys found in alltalk-editor.js`);
    });

    it('no dialog shows hard-coded words where a catalogue text belongs', function () {
      // Values, the same in every language.
      const VALUES = ['127.0.0.1', '7851', 'X-API-Key', 'tts-1'];
      const problems = [];
      for (const type of types) {
        const html = builtDialog(type);
        for (const prop of ['paletteLabel', 'inputLabels']) {
          if (new RegExp(`${prop}:\\s*'`).test(html)) problems.push(`${type}: ${prop} is a literal text`);
        }
        // A label, placeholder or title that is a word, not a value such as 127.0.0.1, 7851 or X-API-Key.
        for (const m of html.matchAll(/<label[^>]*>(?:\s*<i[^>]*><\/i>)?\s*([A-Za-z][a-z]+ [a-z][^<]*)<\/label>/g)) problems.push(`${type}: label "${m[1]}"`);
        for (const m of html.matchAll(/\s(placeholder|title)="([^"]*)"/g)) {
          if (!VALUES.includes(m[2])) problems.push(`${type}: ${m[1]}="${m[2]}"`);
        }
      }
      assert.deepEqual(problems, []);
    });
  });
});
