'use strict';
// Zeroconf: alltalk-wyoming advertises `_wyoming._tcp` (Home Assistant's integration discovers that
// type) with its name and port, and withdraws it when it closes (goodbye records, TTL 0). The node
// listens on 127.0.0.1, so the responder binds and sends on loopback only and nothing leaves this
// machine; the mDNS packets it sends are read where they leave the process (a spy on the UDP
// sockets' send) and decoded with dns-packet.
const assert = require('node:assert/strict');
const dgram = require('node:dgram');
const dnsPacket = require('dns-packet');
const sinon = require('sinon');
const { describe: describeServer } = require('./ha-client');
const { helper, startSim, waitFor, freePort, wyomingFlow, waitForPort, nodes, isFree } = require('./support');

/** Every mDNS record sent from this process while `sent` is in use. */
function captureMdns() {
  const records = [];
  const spy = sinon.spy(dgram.Socket.prototype, 'send');
  const read = () => {
    for (const call of spy.getCalls().splice(0)) {
      const [msg, , , port] = call.args;
      const buf = Buffer.isBuffer(msg) ? msg : Array.isArray(msg) ? Buffer.concat(msg) : undefined;
      if (!buf || (typeof port === 'number' && port !== 5353)) continue;
      try {
        const p = dnsPacket.decode(buf);
        for (const r of [...(p.answers || []), ...(p.additionals || [])]) records.push({ type: r.type, name: r.name, ttl: r.ttl, data: r.data });
      } catch {
        // not DNS
      }
    }
    spy.resetHistory();
    return records;
  };
  const bind = sinon.spy(dgram.Socket.prototype, 'bind');
  /** The addresses UDP sockets were bound to (port 5353 ones). */
  const binds = () => bind.getCalls().filter((c) => c.args[0] === 5353).map((c) => (typeof c.args[1] === 'string' ? c.args[1] : '0.0.0.0'));
  return { read, binds, restore: () => { spy.restore(); bind.restore(); } };
}

describe('alltalk-wyoming: zeroconf', function () {
  this.timeout(30000);
  let sim;
  let mdns;

  afterEach(async function () {
    await helper.unload();
    if (mdns) mdns.restore();
    mdns = undefined;
    if (sim) await sim.stop();
  });

  it('advertises _wyoming._tcp with its name and port, and withdraws it on close (TTL 0)', async function () {
    sim = await startSim();
    mdns = captureMdns();
    const port = await freePort();
    await helper.load(nodes, wyomingFlow(sim, port, { zeroconf: true, serviceName: 'AllTalk Kitchen' }));
    await waitForPort(port);
    const find = (type, pred = () => true) => mdns.read().find((r) => r.type === type && pred(r));
    const ptr = await waitFor(() => find('PTR', (r) => r.name === '_wyoming._tcp.local' && r.ttl > 0), 'the PTR record', 10000);
    assert.equal(ptr.data, 'AllTalk Kitchen._wyoming._tcp.local');
    const srv = await waitFor(() => find('SRV', (r) => r.name === 'AllTalk Kitchen._wyoming._tcp.local' && r.ttl > 0), 'the SRV record');
    assert.equal(srv.data.port, port);
    // Loopback only: the responder's socket is bound to 127.0.0.1, never to every interface.
    const binds = mdns.binds();
    assert.ok(binds.length > 0, 'the responder opened its socket');
    for (const b of binds) assert.equal(b, '127.0.0.1');
    // What Home Assistant does on discovery: connect and describe.
    assert.equal((await describeServer(port)).info.tts[0].name, 'AllTalk Kitchen');

    mdns.read().length = 0;
    const closing = Date.now();
    await helper.unload();
    assert.ok(Date.now() - closing < 1000, `closed in ${Date.now() - closing} ms`);
    const bye = await waitFor(() => find('PTR', (r) => r.name === '_wyoming._tcp.local' && r.ttl === 0), 'the goodbye', 5000);
    assert.equal(bye.data, 'AllTalk Kitchen._wyoming._tcp.local');
    assert.equal(await isFree(port), true, 'nothing listens after close');
  });

  it('with zeroconf off, nothing is advertised', async function () {
    sim = await startSim();
    mdns = captureMdns();
    const port = await freePort();
    await helper.load(nodes, wyomingFlow(sim, port, { zeroconf: false }));
    await waitForPort(port);
    await describeServer(port);
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(mdns.read().filter((r) => /_wyoming/.test(r.name)), []);
  });
});
