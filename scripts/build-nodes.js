#!/usr/bin/env node
'use strict';
// Lays out what Node-RED loads: for every src/nodes/<type>/ folder,
//   nodes/<type>.js                  -> requires the compiled runtime in dist/nodes/<type>/
//   nodes/<type>.html                <- src/nodes/<type>/<type>.html (editor definition and form), its
//                                       <!-- alltalk:rows … --> comments replaced by the shared rows
//                                       of scripts/form-rows.js
//   nodes/locales/<lang>/<type>.json <- src/nodes/<type>/locales/<lang>/<type>.json (message catalogue)
//   nodes/locales/<lang>/<type>.html <- src/nodes/<type>/locales/<lang>/<type>.html (sidebar help)
//   nodes/icons/*.svg                <- icons/*.svg
// and checks that package.json's node-red.nodes map lists exactly these types.
const fs = require('fs');
const path = require('path');
const { expandRows } = require('./form-rows');

const root = path.join(__dirname, '..');
const srcNodes = path.join(root, 'src', 'nodes');
const out = path.join(root, 'nodes');

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

const types = fs.existsSync(srcNodes)
  ? fs.readdirSync(srcNodes).filter((d) => fs.existsSync(path.join(srcNodes, d, `${d}.html`))).sort()
  : [];

for (const type of types) {
  const dir = path.join(srcNodes, type);
  const compiled = path.join(root, 'dist', 'nodes', type, 'index.js');
  if (!fs.existsSync(compiled)) throw new Error(`missing compiled runtime for ${type}: ${compiled}`);
  fs.writeFileSync(
    path.join(out, `${type}.js`),
    `'use strict';\nmodule.exports = require('../dist/nodes/${type}/index.js');\n`,
  );
  const html = expandRows(fs.readFileSync(path.join(dir, `${type}.html`), 'utf8'), `${type}.html`);
  fs.writeFileSync(path.join(out, `${type}.html`), html);
  const locales = path.join(dir, 'locales');
  if (fs.existsSync(locales)) {
    for (const lang of fs.readdirSync(locales)) {
      const target = path.join(out, 'locales', lang);
      fs.mkdirSync(target, { recursive: true });
      for (const f of fs.readdirSync(path.join(locales, lang))) {
        fs.copyFileSync(path.join(locales, lang, f), path.join(target, f));
      }
    }
  }
}

// Node-RED looks for a module's icons only in an icons/ folder beside the node files listed in
// package.json's node-red.nodes (@node-red/registry, localfilesystem.js getModuleNodeFiles), so
// here nodes/icons/; a root icons/ folder is not read. icons/ is the source, and only nodes/icons/
// is published (package.json "files").
const icons = path.join(root, 'icons');
if (fs.existsSync(icons)) {
  fs.mkdirSync(path.join(out, 'icons'), { recursive: true });
  for (const f of fs.readdirSync(icons)) fs.copyFileSync(path.join(icons, f), path.join(out, 'icons', f));
}

const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const listed = Object.keys(pkg['node-red'].nodes).sort();
const missing = types.filter((t) => !listed.includes(t));
const extra = listed.filter((t) => !types.includes(t));
if (missing.length || extra.length) {
  throw new Error(`package.json node-red.nodes is out of step: missing ${missing.join(', ') || '-'}; extra ${extra.join(', ') || '-'}`);
}
for (const t of listed) {
  if (pkg['node-red'].nodes[t] !== `nodes/${t}.js`) throw new Error(`node-red.nodes.${t} must be nodes/${t}.js`);
}
// On stderr: `npm pack --json` runs the build (prepack) and its stdout must stay JSON.
console.error(`built ${types.length} node type(s)${types.length ? ': ' + types.join(', ') : ''}`);
