'use strict';
// Every child process a bench starts is tracked here and killed when the bench ends, however it
// ends (normal exit, an error, Ctrl-C); temp folders are removed the same way.
const fs = require('node:fs');

const children = new Set();
const folders = new Set();

/** Tracks `child` until it exits; returns it. */
function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Removes `dir` at the latest when the bench process exits. */
function tempFolder(dir) {
  folders.add(dir);
  return dir;
}

function removeFolder(dir) {
  folders.delete(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

function killAll() {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  for (const dir of folders) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  folders.clear();
}

process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    killAll();
    process.exit(130);
  });
}

module.exports = { track, tempFolder, removeFolder, killAll };
