'use strict';
// Every node's dialog in Chromium, on the Node-RED of the devDependencies (test/compat runs the
// same suite on Node-RED 3.1, 4 and 5). See editor-suite.js.
const path = require('node:path');
const { editorSuite } = require('./editor-suite');

const version = require('node-red/package.json').version;
editorSuite(`every node's dialog in a real browser (Chromium, Node-RED ${version})`, undefined,
  process.env.ALLTALK_SCREENSHOTS && path.resolve(process.env.ALLTALK_SCREENSHOTS));
