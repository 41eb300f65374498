// A client that stops reading is closed with 1013 once it falls --max-output
// bytes behind; the others in its room carry on and miss nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client, metrics, startHost, testPlugin, waitFor } from './harness.mjs';

let host;
before(async () => {
  // A long close timeout: the stalled client reads all it was sent before the close, however slow the machine.
  host = await startHost({ plugins: { '10-probe.so': testPlugin('probe') }, args: ['--max-output', '262144', '--close-timeout', '60'] });
});
after(() => host.stop());

test('a client that stops reading is closed with 1013 and the room carries on', async () => {
  const sender = await Client.open(host.url);
  const healthy = await Client.open(host.url);
  const stalled = await Client.open(host.url);
  for (const c of [sender, healthy, stalled]) assert.equal(await c.ask('join', 'flood', 'joined'), 'flood');

  stalled.ws._socket.pause(); // stops reading: the kernel buffers fill, then the host's
  // Batches the healthy client takes in stride: only the stalled one falls behind.
  const messages = 3000;
  const batch = 10;
  const chunk = 'x'.repeat(8000);
  for (let i = 0; i < messages; i += batch) {
    for (let j = i; j < i + batch; j++) sender.send('say', `flood|1|${j} ${chunk}`);
    await waitFor(() => healthy.inbox.length >= i + batch, `message ${i + batch} at the healthy client`);
  }
  await waitFor(async () => (await metrics(host)).slow_consumers_closed_total === 1, 'the stalled client to be dropped');
  assert.deepEqual(healthy.inbox.map((m) => Number(m.payload.split(' ')[0])), [...Array(messages).keys()]);
  assert.equal(healthy.closed, null);
  healthy.inbox.length = 0;
  assert.match(host.log(), /closing with 1013, it fell \d+ bytes behind \(limit 262144\)/);

  stalled.ws._socket.resume();
  assert.equal((await stalled.waitClosed(20_000)).code, 1013);
  // What the stalled client did get is the start of the stream, without a gap.
  const got = stalled.inbox.filter((m) => m.event === 'said').map((m) => Number(m.payload.split(' ')[0]));
  assert.ok(got.length < messages);
  assert.deepEqual(got, [...Array(got.length).keys()]);
  await Promise.all([sender.close(), healthy.close()]);
});
