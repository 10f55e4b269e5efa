'use strict';
// Preloaded (node -r) into the Node-RED a bench starts, which it talks to over the IPC channel:
// - Node-RED exits when the bench goes away (the channel closes), so no Node-RED is left behind;
// - { cmd: 'profile-start', intervalUs } / { cmd: 'profile-stop', file } record a CPU profile of
//   just the part of the run the bench wants, with the in-process inspector;
// - { cmd: 'gc' } collects garbage (Node-RED runs with --expose-gc) and replies with
//   process.memoryUsage(), so a memory measurement starts from live data only.
// Every command is answered with { reply: cmd, ... } or { reply: cmd, error }.
const fs = require('node:fs');
const inspector = require('node:inspector');

if (process.send) {
  let session;
  const post = (method, params) => new Promise((resolve, reject) => {
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result)));
  });
  const commands = {
    'profile-start': async (m) => {
      session = new inspector.Session();
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: m.intervalUs || 100 });
      await post('Profiler.start');
      return {};
    },
    'profile-stop': async (m) => {
      const { profile } = await post('Profiler.stop');
      fs.writeFileSync(m.file, JSON.stringify(profile));
      session.disconnect();
      return { file: m.file };
    },
    gc: async () => {
      if (typeof global.gc === 'function') global.gc();
      return { memory: process.memoryUsage() };
    },
  };
  process.on('message', (m) => {
    const command = m && typeof m === 'object' ? commands[m.cmd] : undefined;
    if (!command) return;
    command(m).then(
      (result) => process.send({ reply: m.cmd, ...result }),
      (err) => process.send({ reply: m.cmd, error: String(err) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
