'use strict';
// The in-Node-RED baseline of the node-path benchmark: a minimal node making the same two HTTP
// calls as alltalk-tts with output "buffer" (POST /api/tts-generate form-encoded, parse the JSON,
// GET the audio and read it) with a bare undici Pool and nothing else: no checks, no queue, no
// badge, no deadline. Loaded by the bench's Node-RED through `nodesDir`.
const { Pool } = require('undici');

module.exports = function (RED) {
  function BenchUndici(config) {
    RED.nodes.createNode(this, config);
    const pool = new Pool(config.origin, { connections: 1, pipelining: 1 });
    this.on('input', async (msg, send, done) => {
      try {
        const gen = await pool.request({
          method: 'POST',
          path: '/api/tts-generate',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ text_input: String(msg.payload) }).toString(),
        });
        const result = await gen.body.json();
        const audio = await pool.request({ method: 'GET', path: result.output_file_url });
        msg.payload = Buffer.from(await audio.body.arrayBuffer());
        send(msg);
        done();
      } catch (err) {
        done(err);
      }
    });
    this.on('close', (removed, closed) => pool.destroy().then(() => closed(), () => closed()));
  }
  RED.nodes.registerType('bench-undici', BenchUndici);
};
